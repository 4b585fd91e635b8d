// Built-in tenant templates: what a tenant cloned "from a template" starts with.
#pragma once

#include <span>
#include <string_view>
#include <utility>

#include "tenantry/v1/tenant.pb.h"

namespace tenantry::domain::tenant {

struct TenantTemplate {
  std::string_view name;
  std::string_view plan;
  v1::IsolationTier isolation_tier;
  // Each must pass validate_settings (checked by the tests); never secret.
  std::span<const std::pair<std::string_view, std::string_view>> settings;
};

// Every template, a short fixed list.
std::span<const TenantTemplate> tenant_templates();
const TenantTemplate* find_tenant_template(std::string_view name);

}  // namespace tenantry::domain::tenant
