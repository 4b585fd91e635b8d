// The tenant aggregate's commands and events in wire form: a fully qualified type name
// ("tenantry.v1.TenantRegistered") and the payload bytes of that message, as envelopes
// carry them. Mapped by reflection over the TenantCommand / TenantEvent oneofs, so a
// new command or event in the schema needs no change here.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tenantry/v1/tenant.pb.h"

namespace tenantry::domain::tenant {

enum class WireRead { ok, unknown_type, unreadable };

// The command wrapper for `type` with `payload` parsed into its member.
WireRead command_from_wire(std::string_view type, std::string_view payload, v1::TenantCommand& out);
// The event wrapper for `type` with `payload` parsed into its member.
WireRead event_from_wire(std::string_view type, std::string_view payload, v1::TenantEvent& out);
// Whether `type` names a TenantCommand member.
bool is_tenant_command(std::string_view type);

struct WireEvent {
  std::string type;
  std::string payload;
};
// The set member's type name and bytes; nullopt for an empty wrapper.
std::optional<WireEvent> event_to_wire(const v1::TenantEvent& event);

}  // namespace tenantry::domain::tenant
