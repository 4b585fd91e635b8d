// The tenant aggregate's commands and events in wire form (see domain/wire.h), over
// the TenantCommand / TenantEvent oneofs.
#pragma once

#include <optional>
#include <string_view>

#include "domain/wire.h"
#include "tenantry/v1/tenant.pb.h"

namespace tenantry::domain::tenant {

using domain::WireEvent;
using domain::WireRead;

// The command wrapper for `type` with `payload` parsed into its member.
WireRead command_from_wire(std::string_view type, std::string_view payload, v1::TenantCommand& out);
// The event wrapper for `type` with `payload` parsed into its member.
WireRead event_from_wire(std::string_view type, std::string_view payload, v1::TenantEvent& out);
// Whether `type` names a TenantCommand member.
bool is_tenant_command(std::string_view type);
// The set member's type name and bytes; nullopt for an empty wrapper.
std::optional<WireEvent> event_to_wire(const v1::TenantEvent& event);

}  // namespace tenantry::domain::tenant
