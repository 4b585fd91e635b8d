#include "audit/diff.h"

#include <map>
#include <set>

#include "domain/tenant/settings.h"

namespace tenantry::audit {

namespace {

std::string tier_text(v1::IsolationTier tier) {
  switch (tier) {
    case v1::ISOLATION_TIER_SHARED: return "shared";
    case v1::ISOLATION_TIER_SCHEMA: return "schema";
    case v1::ISOLATION_TIER_DEDICATED: return "dedicated";
    default: return "";
  }
}

// What readers see of a tenant's settings: defaults filled, secrets masked; nothing
// for a tenant that does not exist yet.
std::map<std::string, std::string> visible_settings(const domain::tenant::TenantState& state) {
  std::map<std::string, std::string> out;
  if (!state.exists) return out;
  for (const auto& [key, value] : domain::tenant::with_defaults(state.settings)) {
    out[key] = domain::tenant::is_secret_setting(key) ? "(set)" : value;
  }
  return out;
}

std::map<std::string, std::string> visible_domains(const domain::tenant::TenantState& state) {
  std::map<std::string, std::string> out;
  for (const auto& [name, domain] : state.custom_domains) out[name] = domain.verified ? "verified" : "unverified";
  return out;
}

void compare_maps(const std::string& prefix, const std::map<std::string, std::string>& before,
                  const std::map<std::string, std::string>& after, std::vector<FieldChange>& changes) {
  std::set<std::string> keys;
  for (const auto& [key, _] : before) keys.insert(key);
  for (const auto& [key, _] : after) keys.insert(key);
  for (const auto& key : keys) {
    const auto b = before.find(key);
    const auto a = after.find(key);
    const std::string was = b == before.end() ? "" : b->second;
    const std::string now = a == after.end() ? "" : a->second;
    if (was != now) changes.push_back({prefix + key, was, now});
  }
}

}  // namespace

std::vector<FieldChange> diff_states(const domain::tenant::TenantState& before,
                                     const domain::tenant::TenantState& after) {
  std::vector<FieldChange> changes;
  auto field = [&changes](const char* name, const std::string& was, const std::string& now) {
    if (was != now) changes.push_back({name, was, now});
  };
  auto status = [](const domain::tenant::TenantState& s) {
    return s.exists ? std::string(domain::tenant::status_name(s.status)) : std::string();
  };
  field("status", status(before), status(after));
  field("suspension_reason", before.suspension_reason, after.suspension_reason);
  field("deletion_due_at_us", before.deletion_due_at_us ? std::to_string(before.deletion_due_at_us) : "",
        after.deletion_due_at_us ? std::to_string(after.deletion_due_at_us) : "");
  field("slug", before.slug, after.slug);
  field("display_name", before.display_name, after.display_name);
  field("plan", before.plan, after.plan);
  field("isolation_tier", tier_text(before.isolation_tier), tier_text(after.isolation_tier));
  field("region", before.region, after.region);
  field("admin_contact.name", before.admin_contact.name, after.admin_contact.name);
  field("admin_contact.email", before.admin_contact.email, after.admin_contact.email);
  compare_maps("settings.", visible_settings(before), visible_settings(after), changes);
  compare_maps("custom_domains.", visible_domains(before), visible_domains(after), changes);
  return changes;
}

}  // namespace tenantry::audit
