// What changed in a tenant's state between two rebuilt states, field by field, in
// the words an auditor reads: status names, settings with defaults filled in, secret
// settings as "(set)" (never their values), custom domains as absent, unverified or
// verified.
#pragma once

#include <string>
#include <vector>

#include "domain/tenant/tenant.h"

namespace tenantry::audit {

struct FieldChange {
  std::string field;   // "status", "settings.general.timezone", "custom_domains.app.example.com", ...
  std::string before;  // "" when absent
  std::string after;
};

// In a fixed order: the lifecycle and identity fields, then settings and domains by key.
std::vector<FieldChange> diff_states(const domain::tenant::TenantState& before,
                                     const domain::tenant::TenantState& after);

}  // namespace tenantry::audit
