// Which platform-wide names (slugs, custom domains) a tenant command would take and
// which an event gives back. Uniqueness itself is not decidable here (each tenant
// decides alone); the write side claims these names before deciding and releases
// them after, through the names registry.
#pragma once

#include <string>
#include <vector>

#include "domain/tenant/tenant.h"
#include "tenantry/v1/names.pb.h"
#include "tenantry/v1/tenant.pb.h"

namespace tenantry::domain::tenant {

struct NameUse {
  v1::NameKind kind = v1::NAME_KIND_UNSPECIFIED;
  std::string name;    // as the command or state spells it
  std::string field;   // the command field that names it, for a refusal
};

// The names the command takes if accepted: the slug of a registration or clone, the
// domain being added. Only well-formed names: a malformed one is the decider's to refuse.
std::vector<NameUse> names_claimed_by(const v1::TenantCommand& command);

// The names the event gives back, given the state before it: a removed domain; every
// name of a tenant whose deletion completed.
std::vector<NameUse> names_released_by(const TenantState& before, const v1::TenantEvent& event);

}  // namespace tenantry::domain::tenant
