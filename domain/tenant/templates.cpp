#include "domain/tenant/templates.h"

#include <algorithm>
#include <array>

namespace tenantry::domain::tenant {
namespace {

using Setting = std::pair<std::string_view, std::string_view>;

constexpr std::array<Setting, 1> kStarterSettings = {{{"notifications.digest", "weekly"}}};
constexpr std::array<Setting, 2> kBusinessSettings = {{
    {"notifications.digest", "daily"},
    {"notifications.security_alerts", "true"},
}};
constexpr std::array<Setting, 3> kEnterpriseSettings = {{
    {"general.date_format", "iso"},
    {"notifications.digest", "off"},
    {"notifications.security_alerts", "true"},
}};

constexpr std::array<TenantTemplate, 3> kTemplates = {{
    {"starter", "starter", v1::ISOLATION_TIER_SHARED, kStarterSettings},
    {"business", "business", v1::ISOLATION_TIER_SCHEMA, kBusinessSettings},
    {"enterprise", "enterprise", v1::ISOLATION_TIER_DEDICATED, kEnterpriseSettings},
}};

}  // namespace

std::span<const TenantTemplate> tenant_templates() { return kTemplates; }

const TenantTemplate* find_tenant_template(std::string_view name) {
  const auto found = std::ranges::find(kTemplates, name, &TenantTemplate::name);
  return found == kTemplates.end() ? nullptr : &*found;
}

}  // namespace tenantry::domain::tenant
