#include "domain/tenant/wire.h"

namespace tenantry::domain::tenant {

namespace {

namespace pb = google::protobuf;

const pb::FieldDescriptor* member_for(const pb::Descriptor* wrapper, std::string_view type) {
  for (int i = 0; i < wrapper->field_count(); ++i) {
    const auto* field = wrapper->field(i);
    if (field->message_type() != nullptr && field->message_type()->full_name() == type) return field;
  }
  return nullptr;
}

WireRead read_member(pb::Message& wrapper, std::string_view type, std::string_view payload) {
  const auto* member = member_for(wrapper.GetDescriptor(), type);
  if (member == nullptr) return WireRead::unknown_type;
  auto* body = wrapper.GetReflection()->MutableMessage(&wrapper, member);
  if (!body->ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    wrapper.Clear();
    return WireRead::unreadable;
  }
  return WireRead::ok;
}

}  // namespace

WireRead command_from_wire(std::string_view type, std::string_view payload, v1::TenantCommand& out) {
  return read_member(out, type, payload);
}

WireRead event_from_wire(std::string_view type, std::string_view payload, v1::TenantEvent& out) {
  return read_member(out, type, payload);
}

bool is_tenant_command(std::string_view type) {
  return member_for(v1::TenantCommand::descriptor(), type) != nullptr;
}

std::optional<WireEvent> event_to_wire(const v1::TenantEvent& event) {
  const auto* reflection = event.GetReflection();
  const auto* set = reflection->GetOneofFieldDescriptor(event, v1::TenantEvent::descriptor()->oneof_decl(0));
  if (set == nullptr) return std::nullopt;
  return WireEvent{set->message_type()->full_name(), reflection->GetMessage(event, set).SerializeAsString()};
}

}  // namespace tenantry::domain::tenant
