#include "domain/tenant/wire.h"

namespace tenantry::domain::tenant {

WireRead command_from_wire(std::string_view type, std::string_view payload, v1::TenantCommand& out) {
  return member_from_wire(out, type, payload);
}

WireRead event_from_wire(std::string_view type, std::string_view payload, v1::TenantEvent& out) {
  return member_from_wire(out, type, payload);
}

bool is_tenant_command(std::string_view type) { return names_member(v1::TenantCommand::descriptor(), type); }

std::optional<WireEvent> event_to_wire(const v1::TenantEvent& event) { return member_to_wire(event); }

}  // namespace tenantry::domain::tenant
