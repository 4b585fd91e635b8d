#include "domain/wire.h"

namespace tenantry::domain {

namespace pb = google::protobuf;

namespace {
const pb::FieldDescriptor* member_for(const pb::Descriptor* wrapper, std::string_view type) {
  for (int i = 0; i < wrapper->field_count(); ++i) {
    const auto* field = wrapper->field(i);
    if (field->message_type() != nullptr && field->message_type()->full_name() == type) return field;
  }
  return nullptr;
}
}  // namespace

WireRead member_from_wire(pb::Message& wrapper, std::string_view type, std::string_view payload) {
  const auto* member = member_for(wrapper.GetDescriptor(), type);
  if (member == nullptr) return WireRead::unknown_type;
  auto* body = wrapper.GetReflection()->MutableMessage(&wrapper, member);
  if (!body->ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    wrapper.Clear();
    return WireRead::unreadable;
  }
  return WireRead::ok;
}

bool names_member(const pb::Descriptor* wrapper, std::string_view type) { return member_for(wrapper, type) != nullptr; }

std::optional<WireEvent> member_to_wire(const pb::Message& wrapper) {
  const auto* reflection = wrapper.GetReflection();
  const auto* set = reflection->GetOneofFieldDescriptor(wrapper, wrapper.GetDescriptor()->oneof_decl(0));
  if (set == nullptr) return std::nullopt;
  return WireEvent{set->message_type()->full_name(), reflection->GetMessage(wrapper, set).SerializeAsString()};
}

}  // namespace tenantry::domain
