#include "commands/tenant_aggregate.h"

#include "domain/tenant/wire.h"
#include "tenantry/v1/state.pb.h"

namespace tenantry::commands {

namespace {
using domain::tenant::TenantState;
using domain::tenant::WireRead;
}  // namespace

bool TenantAggregate::handles(std::string_view command_type) const {
  return domain::tenant::is_tenant_command(command_type);
}

domain::tenant::TenantState TenantAggregate::decode_state(std::string_view bytes) {
  TenantState state = domain::tenant::initial_state();
  if (bytes.empty()) return state;
  v1::TenantStateSnapshot s;
  if (!s.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return state;
  state.exists = s.exists();
  state.tenant_id = s.tenant_id();
  state.slug = s.slug();
  state.display_name = s.display_name();
  state.plan = s.plan();
  state.isolation_tier = s.isolation_tier();
  state.region = s.region();
  state.admin_contact = {s.admin_contact().name(), s.admin_contact().email()};
  state.status = s.status();
  state.suspension_reason = s.suspension_reason();
  state.deletion_due_at_us = s.deletion_due_at_us();
  state.settings = domain::tenant::Settings(s.settings().begin(), s.settings().end());
  for (const auto& [name, domain] : s.custom_domains()) {
    state.custom_domains[name] = {domain.verification_token(), domain.verified()};
  }
  state.version = s.version();
  state.created_at_us = s.created_at_us();
  if (s.cloned_from().has_tenant_id()) state.cloned_from.tenant_id = s.cloned_from().tenant_id();
  if (s.cloned_from().has_template_name()) state.cloned_from.template_name = s.cloned_from().template_name();
  return state;
}

std::string TenantAggregate::encode_state(const TenantState& state) {
  v1::TenantStateSnapshot s;
  s.set_exists(state.exists);
  s.set_tenant_id(state.tenant_id);
  s.set_slug(state.slug);
  s.set_display_name(state.display_name);
  s.set_plan(state.plan);
  s.set_isolation_tier(state.isolation_tier);
  s.set_region(state.region);
  s.mutable_admin_contact()->set_name(state.admin_contact.name);
  s.mutable_admin_contact()->set_email(state.admin_contact.email);
  s.set_status(state.status);
  s.set_suspension_reason(state.suspension_reason);
  s.set_deletion_due_at_us(state.deletion_due_at_us);
  for (const auto& [key, value] : state.settings) (*s.mutable_settings())[key] = value;
  for (const auto& [name, domain] : state.custom_domains) {
    auto& out = (*s.mutable_custom_domains())[name];
    out.set_verification_token(domain.verification_token);
    out.set_verified(domain.verified);
  }
  s.set_version(state.version);
  s.set_created_at_us(state.created_at_us);
  if (!state.cloned_from.tenant_id.empty()) s.mutable_cloned_from()->set_tenant_id(state.cloned_from.tenant_id);
  if (!state.cloned_from.template_name.empty()) {
    s.mutable_cloned_from()->set_template_name(state.cloned_from.template_name);
  }
  std::string out;
  s.SerializeToString(&out);
  return out;
}

Outcome TenantAggregate::decide(const v1::CommandEnvelope& envelope, std::string_view state_bytes,
                                const DecideContext& context) const {
  v1::TenantCommand command;
  switch (domain::tenant::command_from_wire(envelope.command_type(), envelope.payload(), command)) {
    case WireRead::ok: break;
    case WireRead::unknown_type:
      return std::unexpected(Rejection{"unknown_command", "unknown command type " + envelope.command_type(), {}});
    case WireRead::unreadable: {
      v1::FieldError field;
      field.set_field("payload");
      field.set_message("not a " + envelope.command_type());
      return std::unexpected(Rejection{"validation_error", "the command payload cannot be read", {field}});
    }
  }
  domain::tenant::Context ctx{context.now_us, envelope.tenant_id(), context.verification_token};
  auto decided = domain::tenant::decide(command, decode_state(state_bytes), ctx);
  if (!decided) {
    Rejection rejection{decided.error().type, decided.error().message, {}};
    for (const auto& f : decided.error().fields) {
      v1::FieldError field;
      field.set_field(f.field);
      field.set_message(f.message);
      rejection.fields.push_back(std::move(field));
    }
    return std::unexpected(std::move(rejection));
  }
  std::vector<EventOut> events;
  events.reserve(decided->size());
  for (const auto& event : *decided) {
    // The decider never returns an empty event; an empty one would carry nothing.
    if (auto wire = domain::tenant::event_to_wire(event)) events.push_back(EventOut{wire->type, wire->payload});
  }
  return events;
}

std::string TenantAggregate::evolve(std::string_view state_bytes, const v1::EventEnvelope& envelope) const {
  v1::TenantEvent event;
  domain::tenant::event_from_wire(envelope.event_type(), envelope.payload(), event);
  // An unknown or unreadable event is an unset oneof: the decider advances the version only.
  return encode_state(domain::tenant::evolve(decode_state(state_bytes), event));
}

uint64_t TenantAggregate::version(std::string_view state_bytes) const {
  if (state_bytes.empty()) return 0;
  v1::TenantStateSnapshot s;
  if (!s.ParseFromArray(state_bytes.data(), static_cast<int>(state_bytes.size()))) return 0;
  return s.version();
}

}  // namespace tenantry::commands
