#include "domain/tenant/names.h"

#include "domain/tenant/slug.h"

namespace tenantry::domain::tenant {

std::vector<NameUse> names_claimed_by(const v1::TenantCommand& command) {
  std::vector<NameUse> names;
  auto slug = [&names](const std::string& value) {
    if (check_slug(value)) names.push_back({v1::NAME_KIND_SLUG, value, "slug"});
  };
  switch (command.command_case()) {
    case v1::TenantCommand::kRegisterTenant: slug(command.register_tenant().slug()); break;
    case v1::TenantCommand::kCloneTenant: slug(command.clone_tenant().slug()); break;
    case v1::TenantCommand::kAddCustomDomain:
      if (check_domain_name(command.add_custom_domain().domain())) {
        names.push_back({v1::NAME_KIND_DOMAIN, command.add_custom_domain().domain(), "domain"});
      }
      break;
    default: break;
  }
  return names;
}

std::vector<NameUse> names_released_by(const TenantState& before, const v1::TenantEvent& event) {
  std::vector<NameUse> names;
  switch (event.event_case()) {
    case v1::TenantEvent::kCustomDomainRemoved:
      names.push_back({v1::NAME_KIND_DOMAIN, event.custom_domain_removed().domain(), "domain"});
      break;
    case v1::TenantEvent::kTenantDeleted:
      if (!before.slug.empty()) names.push_back({v1::NAME_KIND_SLUG, before.slug, "slug"});
      for (const auto& [domain, _] : before.custom_domains) names.push_back({v1::NAME_KIND_DOMAIN, domain, "domain"});
      break;
    default: break;
  }
  return names;
}

}  // namespace tenantry::domain::tenant
