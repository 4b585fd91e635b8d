// The tenant decider as tables: given these events, when this command, then these
// events (or this error, with its type and the field at fault). Commands and events
// are written in protobuf text format so each row reads like the rule it checks.
#include <catch2/catch.hpp>

#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "domain/tenant/settings.h"
#include "domain/tenant/tenant.h"

namespace v1 = tenantry::v1;
using namespace tenantry::domain;
using namespace tenantry::domain::tenant;

namespace {

constexpr std::int64_t kNowUs = 1'700'000'000'000'000;
constexpr std::int64_t kDayUs = 86'400'000'000;

Context context_at(std::int64_t now_us) { return Context{now_us, "t-acme", "tok-123"}; }
const Context kContext = context_at(kNowUs);

template <typename Message>
Message parse(const std::string& text) {
  Message message;
  INFO("text format: " << text);
  REQUIRE(google::protobuf::TextFormat::ParseFromString(text, &message));
  return message;
}

// `text` with its only occurrence of `from` replaced by `to`: one row varies one field.
std::string with(std::string text, std::string_view from, std::string_view to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
  return text;
}

const std::string kRegister = R"(register_tenant {
  slug: "acme" display_name: "Acme Corp" plan: "starter"
  isolation_tier: ISOLATION_TIER_SHARED region: "eu-west-1"
  admin_contact { name: "Ann Admin" email: "ann@acme.example" } })";

const std::string kRegistered = R"(tenant_registered {
  tenant_id: "t-acme" slug: "acme" display_name: "Acme Corp" plan: "starter"
  isolation_tier: ISOLATION_TIER_SHARED region: "eu-west-1"
  admin_contact { name: "Ann Admin" email: "ann@acme.example" }
  registered_at_us: 1700000000000000 })";

const std::string kSuspended = R"(tenant_suspended { reason: "unpaid invoice" })";
const std::string kReactivated = R"(tenant_reactivated {})";
// Requested at kNowUs with the default 30 days of grace.
const std::string kDeletionRequested =
    R"(tenant_deletion_requested { grace_period_days: 30 deletion_due_at_us: 1702592000000000 })";
const std::string kDeleted = R"(tenant_deleted {})";
const std::string kDomainAdded =
    R"(custom_domain_added { domain: "app.acme.example" verification_token: "tok-123" })";
const std::string kDomainVerified = R"(custom_domain_verified { domain: "app.acme.example" })";

// Given a deleted tenant: the shortest history that gets there.
const std::vector<std::string> kDeletedHistory = {kRegistered, kDeletionRequested, kDeleted};

struct Refused {
  std::string_view type;
  // The field at fault; empty when the refusal names none.
  std::string field;
};

using Then = std::variant<std::vector<std::string>, Refused>;

struct Case {
  std::string name;
  std::vector<std::string> given;
  std::string when;
  Then then;
  Context context = kContext;
};

TenantState replay(const std::vector<std::string>& given) {
  TenantState state = initial_state();
  for (const std::string& text : given) state = evolve(state, parse<v1::TenantEvent>(text));
  return state;
}

bool names_field(const DomainError& error, const std::string& field) {
  for (const FieldError& f : error.fields) {
    if (f.field == field) return true;
  }
  return false;
}

void check_case(const Case& c) {
  INFO("case: " << c.name);
  const TenantState state = replay(c.given);
  const auto decision = decide(parse<v1::TenantCommand>(c.when), state, c.context);
  if (const auto* expected = std::get_if<std::vector<std::string>>(&c.then)) {
    INFO("refused: " << (decision ? "" : decision.error().type + ": " + decision.error().message));
    REQUIRE(decision.has_value());
    REQUIRE(decision->size() == expected->size());
    for (std::size_t i = 0; i < expected->size(); ++i) {
      const auto want = parse<v1::TenantEvent>((*expected)[i]);
      INFO("want " << want.ShortDebugString() << "\ngot  " << (*decision)[i].ShortDebugString());
      CHECK(google::protobuf::util::MessageDifferencer::Equals(want, (*decision)[i]));
    }
    return;
  }
  const Refused& refused = std::get<Refused>(c.then);
  REQUIRE_FALSE(decision.has_value());
  INFO("error: " << decision.error().type << ": " << decision.error().message);
  CHECK(decision.error().type == refused.type);
  CHECK_FALSE(decision.error().message.empty());
  if (!refused.field.empty()) CHECK(names_field(decision.error(), refused.field));
}

void check_cases(const std::vector<Case>& cases) {
  for (const Case& c : cases) check_case(c);
}

Refused error(std::string_view type, std::string field = {}) { return Refused{type, std::move(field)}; }
std::vector<std::string> events(std::vector<std::string> texts) { return texts; }
const std::vector<std::string> kNoEvents = {};

std::vector<std::string> plus(std::vector<std::string> history, std::vector<std::string> more) {
  history.insert(history.end(), more.begin(), more.end());
  return history;
}

std::string domain_added(int i) {
  return "custom_domain_added { domain: \"d" + std::to_string(i) +
         ".acme.example\" verification_token: \"t\" }";
}

std::string custom_settings_text(std::string_view map_field, int count) {
  std::string text;
  for (int i = 0; i < count; ++i) {
    text += std::string(map_field) + " { key: \"custom.f" + std::to_string(i) + "\" value: \"x\" } ";
  }
  return text;
}

}  // namespace

TEST_CASE("tenant: register", "[domain]") {
  check_cases({
      {"a new tenant is registered active with what it was given", {}, kRegister,
       events({kRegistered})},
      {"initial settings are kept as given, without defaults", {},
       with(kRegister, "region: \"eu-west-1\"",
            R"(region: "eu-west-1" settings { key: "general.timezone" value: "Europe/Paris" }
               settings { key: "custom.cost_centre" value: "42" })"),
       events({with(kRegistered, "region: \"eu-west-1\"",
                    R"(region: "eu-west-1" settings { key: "general.timezone" value: "Europe/Paris" }
                       settings { key: "custom.cost_centre" value: "42" })")})},
      {"registering an existing tenant", {kRegistered}, kRegister,
       error(error_type::already_exists)},
      {"registering the id of a deleted tenant: ids are never reused", kDeletedHistory, kRegister,
       error(error_type::already_exists)},
      {"a slug of two characters", {}, with(kRegister, "\"acme\"", "\"ac\""),
       error(error_type::validation_error, "slug")},
      {"an uppercase slug", {}, with(kRegister, "\"acme\"", "\"Acme\""),
       error(error_type::validation_error, "slug")},
      {"a blank display name", {}, with(kRegister, "\"Acme Corp\"", "\"  \""),
       error(error_type::validation_error, "display_name")},
      {"a malformed plan", {}, with(kRegister, "\"starter\"", "\"Starter Plan\""),
       error(error_type::validation_error, "plan")},
      {"no isolation tier", {}, with(kRegister, "ISOLATION_TIER_SHARED", "ISOLATION_TIER_UNSPECIFIED"),
       error(error_type::validation_error, "isolation_tier")},
      {"an isolation tier this version does not know", {},
       with(kRegister, "ISOLATION_TIER_SHARED", "7"),
       error(error_type::validation_error, "isolation_tier")},
      {"no region", {}, with(kRegister, "region: \"eu-west-1\"", ""),
       error(error_type::validation_error, "region")},
      {"a malformed admin email", {}, with(kRegister, "ann@acme.example", "ann.acme.example"),
       error(error_type::validation_error, "admin_contact.email")},
      {"no admin contact name", {}, with(kRegister, "name: \"Ann Admin\"", ""),
       error(error_type::validation_error, "admin_contact.name")},
      {"an invalid setting value", {},
       with(kRegister, "region: \"eu-west-1\"",
            R"(region: "eu-west-1" settings { key: "general.timezone" value: "+02:00" })"),
       error(error_type::validation_error, "settings.general.timezone")},
      {"an unknown setting", {},
       with(kRegister, "region: \"eu-west-1\"",
            R"(region: "eu-west-1" settings { key: "timezone" value: "UTC" })"),
       error(error_type::validation_error, "settings.timezone")},
      {"51 custom fields", {},
       with(kRegister, "region: \"eu-west-1\"", "region: \"eu-west-1\" " + custom_settings_text("settings", 51)),
       error(error_type::validation_error, "settings")},
      {"no tenant id in the context", {}, kRegister, error(error_type::invalid_context),
       Context{kNowUs, "", "tok"}},
  });
}

TEST_CASE("tenant: register reports every bad field at once", "[domain]") {
  const auto decision = decide(parse<v1::TenantCommand>(R"(register_tenant { slug: "-x" })"),
                               initial_state(), kContext);
  REQUIRE_FALSE(decision.has_value());
  CHECK(decision.error().type == error_type::validation_error);
  for (const char* field : {"slug", "display_name", "plan", "isolation_tier", "region",
                            "admin_contact.name", "admin_contact.email"}) {
    INFO(field);
    CHECK(names_field(decision.error(), field));
  }
}

TEST_CASE("tenant: configure", "[domain]") {
  const std::string with_timezone = with(kRegistered, "registered_at_us",
      R"(settings { key: "general.timezone" value: "Europe/Paris" } registered_at_us)");
  check_cases({
      {"a new display name", {kRegistered}, R"(configure_tenant { display_name: "Acme Inc" })",
       events({R"(tenant_configured { display_name: "Acme Inc" })"})},
      {"the same display name changes nothing", {kRegistered},
       R"(configure_tenant { display_name: "Acme Corp" })", kNoEvents},
      {"a new plan and admin contact", {kRegistered},
       R"(configure_tenant { plan: "business" admin_contact { name: "Bo" email: "bo@acme.example" } })",
       events({R"(tenant_configured { plan: "business" admin_contact { name: "Bo" email: "bo@acme.example" } })"})},
      {"settings set and unset; only real changes are recorded", {with_timezone},
       R"(configure_tenant { set_settings { key: "theme.mode" value: "dark" }
                             set_settings { key: "custom.cost_centre" value: "42" }
                             unset_settings: "general.timezone" unset_settings: "general.locale" })",
       events({R"(tenant_configured { set_settings { key: "theme.mode" value: "dark" }
                                      set_settings { key: "custom.cost_centre" value: "42" }
                                      unset_settings: "general.timezone" })"})},
      {"setting a value it already has changes nothing", {with_timezone},
       R"(configure_tenant { set_settings { key: "general.timezone" value: "Europe/Paris" } })",
       kNoEvents},
      {"a stored key the schema no longer knows can still be unset",
       {with(kRegistered, "registered_at_us", R"(settings { key: "legacy.x" value: "1" } registered_at_us)")},
       R"(configure_tenant { unset_settings: "legacy.x" })",
       events({R"(tenant_configured { unset_settings: "legacy.x" })"})},
      {"configuring while suspended is allowed (to resolve the suspension)",
       {kRegistered, kSuspended}, R"(configure_tenant { plan: "business" })",
       events({R"(tenant_configured { plan: "business" })"})},
      {"nothing to configure", {kRegistered}, R"(configure_tenant {})",
       error(error_type::validation_error, "configure_tenant")},
      {"an invalid setting value", {kRegistered},
       R"(configure_tenant { set_settings { key: "general.currency" value: "XXX" } })",
       error(error_type::validation_error, "settings.general.currency")},
      {"unsetting an unknown key", {kRegistered}, R"(configure_tenant { unset_settings: "nope" })",
       error(error_type::validation_error, "settings.nope")},
      {"setting and unsetting the same key", {kRegistered},
       R"(configure_tenant { set_settings { key: "theme.mode" value: "dark" } unset_settings: "theme.mode" })",
       error(error_type::validation_error, "settings.theme.mode")},
      {"a blank display name", {kRegistered}, R"(configure_tenant { display_name: "" })",
       error(error_type::validation_error, "display_name")},
      {"a malformed plan", {kRegistered}, R"(configure_tenant { plan: "-" })",
       error(error_type::validation_error, "plan")},
      {"a malformed admin email", {kRegistered},
       R"(configure_tenant { admin_contact { name: "Bo" email: "bo@" } })",
       error(error_type::validation_error, "admin_contact.email")},
      {"a 51st custom field",
       {with(kRegistered, "registered_at_us", custom_settings_text("settings", 50) + " registered_at_us")},
       R"(configure_tenant { set_settings { key: "custom.one_more" value: "x" } })",
       error(error_type::limit_exceeded, "settings")},
      {"replacing a custom field at the limit is fine",
       {with(kRegistered, "registered_at_us", custom_settings_text("settings", 50) + " registered_at_us")},
       R"(configure_tenant { set_settings { key: "custom.f0" value: "y" } })",
       events({R"(tenant_configured { set_settings { key: "custom.f0" value: "y" } })"})},
      {"a tenant that does not exist", {}, R"(configure_tenant { plan: "business" })",
       error(error_type::not_found)},
      {"a tenant pending deletion is frozen", {kRegistered, kDeletionRequested},
       R"(configure_tenant { plan: "business" })", error(error_type::invalid_transition)},
      {"a deleted tenant", kDeletedHistory, R"(configure_tenant { plan: "business" })",
       error(error_type::invalid_transition)},
  });
}

TEST_CASE("tenant: suspend and reactivate", "[domain]") {
  check_cases({
      {"an active tenant is suspended with its reason", {kRegistered},
       R"(suspend_tenant { reason: "unpaid invoice" })", events({kSuspended})},
      {"a suspension needs a reason", {kRegistered}, R"(suspend_tenant { reason: " " })",
       error(error_type::validation_error, "reason")},
      {"a reason over 500 bytes", {kRegistered},
       "suspend_tenant { reason: \"" + std::string(501, 'r') + "\" }",
       error(error_type::validation_error, "reason")},
      {"suspending a suspended tenant", {kRegistered, kSuspended},
       R"(suspend_tenant { reason: "again" })", error(error_type::invalid_transition)},
      {"suspending a tenant pending deletion", {kRegistered, kDeletionRequested},
       R"(suspend_tenant { reason: "x" })", error(error_type::invalid_transition)},
      {"suspending a deleted tenant", kDeletedHistory, R"(suspend_tenant { reason: "x" })",
       error(error_type::invalid_transition)},
      {"suspending a tenant that does not exist", {}, R"(suspend_tenant { reason: "x" })",
       error(error_type::not_found)},
      {"a suspended tenant is reactivated", {kRegistered, kSuspended}, "reactivate_tenant {}",
       events({kReactivated})},
      {"reactivating an active tenant", {kRegistered}, "reactivate_tenant {}",
       error(error_type::invalid_transition)},
      {"reactivating after a reactivation", {kRegistered, kSuspended, kReactivated},
       "reactivate_tenant {}", error(error_type::invalid_transition)},
      {"reactivating a tenant pending deletion", {kRegistered, kSuspended, kDeletionRequested},
       "reactivate_tenant {}", error(error_type::invalid_transition)},
      {"reactivating a deleted tenant", kDeletedHistory, "reactivate_tenant {}",
       error(error_type::invalid_transition)},
      {"reactivating a tenant that does not exist", {}, "reactivate_tenant {}",
       error(error_type::not_found)},
  });
}

TEST_CASE("tenant: deletion with a grace period", "[domain]") {
  const std::int64_t due_us = kNowUs + 30 * kDayUs;
  check_cases({
      {"deletion requested with the default 30 days", {kRegistered}, "request_tenant_deletion {}",
       events({kDeletionRequested})},
      {"deletion requested with 0 days is due at once", {kRegistered},
       "request_tenant_deletion { grace_period_days: 0 }",
       events({"tenant_deletion_requested { grace_period_days: 0 deletion_due_at_us: " +
               std::to_string(kNowUs) + " }"})},
      {"90 days is the longest grace", {kRegistered},
       "request_tenant_deletion { grace_period_days: 90 }",
       events({"tenant_deletion_requested { grace_period_days: 90 deletion_due_at_us: " +
               std::to_string(kNowUs + 90 * kDayUs) + " }"})},
      {"91 days", {kRegistered}, "request_tenant_deletion { grace_period_days: 91 }",
       error(error_type::validation_error, "grace_period_days")},
      {"a suspended tenant may be deleted", {kRegistered, kSuspended},
       "request_tenant_deletion {}", events({kDeletionRequested})},
      {"a clock at the end of time", {kRegistered}, "request_tenant_deletion {}",
       error(error_type::invalid_context), context_at(std::numeric_limits<std::int64_t>::max())},
      {"requesting deletion twice", {kRegistered, kDeletionRequested},
       "request_tenant_deletion {}", error(error_type::invalid_transition)},
      {"requesting deletion of a deleted tenant", kDeletedHistory, "request_tenant_deletion {}",
       error(error_type::invalid_transition)},
      {"requesting deletion of a tenant that does not exist", {}, "request_tenant_deletion {}",
       error(error_type::not_found)},

      {"cancelling returns an active tenant to active", {kRegistered, kDeletionRequested},
       "cancel_tenant_deletion {}",
       events({"tenant_deletion_cancelled { restored_status: TENANT_STATUS_ACTIVE }"})},
      {"cancelling returns a suspended tenant to suspended, not active",
       {kRegistered, kSuspended, kDeletionRequested}, "cancel_tenant_deletion {}",
       events({"tenant_deletion_cancelled { restored_status: TENANT_STATUS_SUSPENDED }"})},
      {"cancelling when no deletion is pending", {kRegistered}, "cancel_tenant_deletion {}",
       error(error_type::invalid_transition)},
      {"cancelling after the deletion", kDeletedHistory, "cancel_tenant_deletion {}",
       error(error_type::invalid_transition)},
      {"cancelling for a tenant that does not exist", {}, "cancel_tenant_deletion {}",
       error(error_type::not_found)},

      {"completing when due", {kRegistered, kDeletionRequested}, "complete_tenant_deletion {}",
       events({kDeleted}), context_at(due_us)},
      {"completing after due", {kRegistered, kDeletionRequested}, "complete_tenant_deletion {}",
       events({kDeleted}), context_at(due_us + kDayUs)},
      {"completing one microsecond early", {kRegistered, kDeletionRequested},
       "complete_tenant_deletion {}", error(error_type::invalid_transition), context_at(due_us - 1)},
      {"completing when no deletion is pending", {kRegistered}, "complete_tenant_deletion {}",
       error(error_type::invalid_transition), context_at(due_us)},
      {"completing after a cancellation",
       {kRegistered, kDeletionRequested, "tenant_deletion_cancelled { restored_status: TENANT_STATUS_ACTIVE }"},
       "complete_tenant_deletion {}", error(error_type::invalid_transition), context_at(due_us)},
      {"completing twice", kDeletedHistory, "complete_tenant_deletion {}",
       error(error_type::invalid_transition), context_at(due_us)},
      {"completing for a tenant that does not exist", {}, "complete_tenant_deletion {}",
       error(error_type::not_found), context_at(due_us)},
  });
}

TEST_CASE("tenant: clone from a tenant or a template", "[domain]") {
  const std::string source = R"(source_tenant {
      tenant_id: "t-source" plan: "business" isolation_tier: ISOLATION_TIER_SCHEMA
      region: "us-east-1" status: TENANT_STATUS_ACTIVE
      settings { key: "general.timezone" value: "America/New_York" }
      settings { key: "custom.cost_centre" value: "42" }
      settings { key: "secret.smtp_password" value: "hunter2" }
      settings { key: "future.unknown" value: "?" } })";
  const std::string clone = R"(clone_tenant {
      slug: "acme-copy" display_name: "Acme Copy"
      admin_contact { name: "Ann Admin" email: "ann@acme.example" } )";
  const std::string cloned = R"(tenant_registered {
      tenant_id: "t-acme" slug: "acme-copy" display_name: "Acme Copy" plan: "business"
      isolation_tier: ISOLATION_TIER_SCHEMA region: "us-east-1"
      admin_contact { name: "Ann Admin" email: "ann@acme.example" }
      settings { key: "general.timezone" value: "America/New_York" }
      settings { key: "custom.cost_centre" value: "42" }
      registered_at_us: 1700000000000000 cloned_from { tenant_id: "t-source" } })";
  check_cases({
      {"a clone gets the source's plan, tier, region and settings, never its secrets", {},
       clone + source + "}", events({cloned})},
      {"region and tier may be chosen for the clone", {},
       clone + R"(region: "eu-west-1" isolation_tier: ISOLATION_TIER_DEDICATED )" + source + "}",
       events({with(with(cloned, "ISOLATION_TIER_SCHEMA", "ISOLATION_TIER_DEDICATED"),
                    "us-east-1", "eu-west-1")})},
      {"a clone of a suspended tenant is active", {},
       clone + with(source, "TENANT_STATUS_ACTIVE", "TENANT_STATUS_SUSPENDED") + "}",
       events({cloned})},
      {"a clone from a template", {},
       clone + R"(region: "eu-west-1" template_name: "business" })",
       events({R"(tenant_registered {
           tenant_id: "t-acme" slug: "acme-copy" display_name: "Acme Copy" plan: "business"
           isolation_tier: ISOLATION_TIER_SCHEMA region: "eu-west-1"
           admin_contact { name: "Ann Admin" email: "ann@acme.example" }
           settings { key: "notifications.digest" value: "daily" }
           settings { key: "notifications.security_alerts" value: "true" }
           registered_at_us: 1700000000000000 cloned_from { template_name: "business" } })"})},
      {"a template has no region, so the clone must name one", {},
       clone + R"(template_name: "business" })", error(error_type::validation_error, "region")},
      {"an unknown template", {}, clone + R"(region: "eu-west-1" template_name: "gold" })",
       error(error_type::not_found, "template_name")},
      {"no source", {}, clone + "}", error(error_type::validation_error, "source")},
      {"a deleted source", {},
       clone + with(source, "TENANT_STATUS_ACTIVE", "TENANT_STATUS_DELETED") + "}",
       error(error_type::not_found, "source_tenant")},
      {"a source without an id", {}, clone + with(source, "tenant_id: \"t-source\"", "") + "}",
       error(error_type::validation_error, "source_tenant.tenant_id")},
      {"a tenant cloned onto itself", {},
       clone + with(source, "\"t-source\"", "\"t-acme\"") + "}",
       error(error_type::validation_error, "source_tenant.tenant_id")},
      {"a source whose settings no longer pass the schema", {},
       clone + with(source, "\"America/New_York\"", "\"new york\"") + "}",
       error(error_type::validation_error, "source_tenant.settings.general.timezone")},
      {"a source with a malformed plan", {}, clone + with(source, "\"business\"", "\"\"") + "}",
       error(error_type::validation_error, "source_tenant.plan")},
      {"a clone with a bad slug", {}, with(clone, "acme-copy", "x") + source + "}",
       error(error_type::validation_error, "slug")},
      {"cloning onto an existing tenant", {kRegistered}, clone + source + "}",
       error(error_type::already_exists)},
  });
}

TEST_CASE("tenant: custom domains", "[domain]") {
  std::vector<std::string> twenty_domains = {kRegistered};
  for (int i = 0; i < 20; ++i) twenty_domains.push_back(domain_added(i));
  const auto with_domain = std::vector<std::string>{kRegistered, kDomainAdded};
  check_cases({
      {"a domain is added with the token the tenant must publish", {kRegistered},
       R"(add_custom_domain { domain: "app.acme.example" })", events({kDomainAdded})},
      {"a domain already on the tenant", with_domain,
       R"(add_custom_domain { domain: "app.acme.example" })",
       error(error_type::already_exists, "domain")},
      {"a malformed domain", {kRegistered}, R"(add_custom_domain { domain: "App.Acme.example" })",
       error(error_type::validation_error, "domain")},
      {"an IP address", {kRegistered}, R"(add_custom_domain { domain: "10.0.0.1" })",
       error(error_type::validation_error, "domain")},
      {"a 21st domain", twenty_domains, R"(add_custom_domain { domain: "one-more.acme.example" })",
       error(error_type::limit_exceeded, "domain")},
      {"a 20th domain is fine",
       std::vector<std::string>(twenty_domains.begin(), twenty_domains.end() - 1),
       R"(add_custom_domain { domain: "one-more.acme.example" })",
       events({R"(custom_domain_added { domain: "one-more.acme.example" verification_token: "tok-123" })"})},
      {"adding to a suspended tenant", {kRegistered, kSuspended},
       R"(add_custom_domain { domain: "app.acme.example" })", error(error_type::invalid_transition)},
      {"adding to a tenant that does not exist", {},
       R"(add_custom_domain { domain: "app.acme.example" })", error(error_type::not_found)},
      {"no verification token in the context", {kRegistered},
       R"(add_custom_domain { domain: "app.acme.example" })", error(error_type::invalid_context),
       Context{kNowUs, "t-acme", ""}},

      {"the published token verifies the domain", with_domain,
       R"(verify_custom_domain { domain: "app.acme.example" presented_token: "tok-123" })",
       events({kDomainVerified})},
      {"verifying again changes nothing", plus(with_domain, {kDomainVerified}),
       R"(verify_custom_domain { domain: "app.acme.example" presented_token: "tok-123" })",
       kNoEvents},
      {"the wrong token", with_domain,
       R"(verify_custom_domain { domain: "app.acme.example" presented_token: "tok-999" })",
       error(error_type::validation_error, "presented_token")},
      {"the wrong token on a verified domain", plus(with_domain, {kDomainVerified}),
       R"(verify_custom_domain { domain: "app.acme.example" presented_token: "tok-999" })",
       error(error_type::validation_error, "presented_token")},
      {"no token", with_domain, R"(verify_custom_domain { domain: "app.acme.example" })",
       error(error_type::validation_error, "presented_token")},
      {"a domain not on the tenant", with_domain,
       R"(verify_custom_domain { domain: "other.acme.example" presented_token: "tok-123" })",
       error(error_type::not_found, "domain")},
      {"verifying on a suspended tenant", plus(with_domain, {kSuspended}),
       R"(verify_custom_domain { domain: "app.acme.example" presented_token: "tok-123" })",
       error(error_type::invalid_transition)},

      {"a domain is removed", with_domain, R"(remove_custom_domain { domain: "app.acme.example" })",
       events({R"(custom_domain_removed { domain: "app.acme.example" })"})},
      {"a suspended tenant may remove a domain", plus(with_domain, {kSuspended}),
       R"(remove_custom_domain { domain: "app.acme.example" })",
       events({R"(custom_domain_removed { domain: "app.acme.example" })"})},
      {"removing a domain not on the tenant", {kRegistered},
       R"(remove_custom_domain { domain: "app.acme.example" })", error(error_type::not_found, "domain")},
      {"removing a malformed domain", {kRegistered}, R"(remove_custom_domain { domain: "-x" })",
       error(error_type::validation_error, "domain")},
      {"removing from a tenant pending deletion", plus(with_domain, {kDeletionRequested}),
       R"(remove_custom_domain { domain: "app.acme.example" })", error(error_type::invalid_transition)},
      {"removing after a removal",
       plus(with_domain, {R"(custom_domain_removed { domain: "app.acme.example" })"}),
       R"(remove_custom_domain { domain: "app.acme.example" })", error(error_type::not_found, "domain")},
  });
}

TEST_CASE("tenant: an empty command is refused", "[domain]") {
  check_cases({
      {"no command", {kRegistered}, "", error(error_type::validation_error, "command")},
  });
}

TEST_CASE("tenant: evolve builds the state the events describe", "[domain]") {
  const TenantState registered = replay({kRegistered});
  CHECK(registered.exists);
  CHECK(registered.tenant_id == "t-acme");
  CHECK(registered.slug == "acme");
  CHECK(registered.status == v1::TENANT_STATUS_ACTIVE);
  CHECK(registered.isolation_tier == v1::ISOLATION_TIER_SHARED);
  CHECK(registered.admin_contact == AdminContact{"Ann Admin", "ann@acme.example"});
  CHECK(registered.created_at_us == kNowUs);
  CHECK(registered.version == 1);
  CHECK(registered.cloned_from == CloneOrigin{});

  const TenantState suspended_then_pending = replay({kRegistered, kSuspended, kDeletionRequested});
  CHECK(suspended_then_pending.status == v1::TENANT_STATUS_PENDING_DELETION);
  CHECK(suspended_then_pending.suspension_reason == "unpaid invoice");
  CHECK(suspended_then_pending.deletion_due_at_us == kNowUs + 30 * kDayUs);

  const TenantState cancelled = replay({kRegistered, kSuspended, kDeletionRequested,
      "tenant_deletion_cancelled { restored_status: TENANT_STATUS_SUSPENDED }"});
  CHECK(cancelled.status == v1::TENANT_STATUS_SUSPENDED);
  CHECK(cancelled.suspension_reason == "unpaid invoice");
  CHECK(cancelled.deletion_due_at_us == 0);

  const TenantState verified = replay({kRegistered, kDomainAdded, kDomainVerified});
  REQUIRE(verified.custom_domains.contains("app.acme.example"));
  CHECK(verified.custom_domains.at("app.acme.example") == CustomDomain{"tok-123", true});

  const TenantState configured = replay({kRegistered,
      R"(tenant_configured { plan: "business" set_settings { key: "theme.mode" value: "dark" } })",
      R"(tenant_configured { unset_settings: "theme.mode" })"});
  CHECK(configured.plan == "business");
  CHECK(configured.settings.empty());
  // Read through the schema, the unset setting has its default again.
  CHECK(with_defaults(configured.settings).at("theme.mode") == "system");

  // A deleted tenant keeps its identity but no settings or domains (they are freed).
  const TenantState deleted = replay({kRegistered, kDomainAdded,
      R"(tenant_configured { set_settings { key: "secret.smtp_password" value: "p" } })",
      kDeletionRequested, kDeleted});
  CHECK(deleted.status == v1::TENANT_STATUS_DELETED);
  CHECK(deleted.slug == "acme");
  CHECK(deleted.settings.empty());
  CHECK(deleted.custom_domains.empty());
  CHECK(deleted.version == 5);
}

TEST_CASE("tenant: an event of an unknown type only advances the version", "[domain]") {
  const TenantState before = replay({kRegistered, kSuspended});
  // What a reader of this version sees for an event type added later: an unset oneof.
  const TenantState after = evolve(before, v1::TenantEvent{});
  TenantState expected = before;
  expected.version = before.version + 1;
  CHECK(after == expected);
}

namespace {

// Deterministic and seedable, so a failing run names the seed that reproduces it.
struct SplitMix64 {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t bound) { return static_cast<std::size_t>(next() % bound); }
};

// Commands of every kind, valid and not, so random sequences walk the whole machine.
const std::vector<std::string> kCommandPool = {
    kRegister,
    R"(clone_tenant { slug: "acme-copy" display_name: "Acme Copy" region: "eu-west-1"
         admin_contact { name: "Ann" email: "ann@acme.example" } template_name: "starter" })",
    R"(configure_tenant { display_name: "Acme Inc" })",
    R"(configure_tenant { set_settings { key: "theme.mode" value: "dark" } })",
    R"(configure_tenant { unset_settings: "theme.mode" })",
    R"(configure_tenant { set_settings { key: "custom.a" value: "1" } set_settings { key: "custom.b" value: "2" } })",
    R"(configure_tenant { set_settings { key: "general.timezone" value: "bad" } })",
    R"(suspend_tenant { reason: "abuse report" })",
    "reactivate_tenant {}",
    "request_tenant_deletion { grace_period_days: 0 }",
    "request_tenant_deletion { grace_period_days: 7 }",
    "cancel_tenant_deletion {}",
    "complete_tenant_deletion {}",
    R"(add_custom_domain { domain: "app.acme.example" })",
    R"(add_custom_domain { domain: "www.acme.example" })",
    R"(verify_custom_domain { domain: "app.acme.example" presented_token: "tok-123" })",
    R"(verify_custom_domain { domain: "app.acme.example" presented_token: "wrong" })",
    R"(remove_custom_domain { domain: "app.acme.example" })",
    "",
};

}  // namespace

TEST_CASE("tenant: property: evolving what decide returns advances the version by the "
          "number of events, deterministically",
          "[domain]") {
  constexpr int kSeeds = 200;
  constexpr int kStepsPerSeed = 60;
  for (std::uint64_t seed = 1; seed <= kSeeds; ++seed) {
    INFO("seed " << seed);
    SplitMix64 random{seed};
    TenantState state = initial_state();
    std::int64_t now_us = kNowUs;
    for (int step = 0; step < kStepsPerSeed; ++step) {
      INFO("step " << step);
      now_us += static_cast<std::int64_t>(random.below(3)) * kDayUs;
      const Context context = context_at(now_us);
      const auto command = parse<v1::TenantCommand>(kCommandPool[random.below(kCommandPool.size())]);
      const auto decision = decide(command, state, context);
      // Same inputs, same answer: nothing in decide reads a clock or random source.
      const auto again = decide(command, state, context);
      REQUIRE(decision.has_value() == again.has_value());
      if (!decision) {
        CHECK_FALSE(decision.error().type.empty());
        continue;
      }
      REQUIRE(decision->size() == again->size());
      TenantState next = state;
      for (std::size_t i = 0; i < decision->size(); ++i) {
        CHECK(google::protobuf::util::MessageDifferencer::Equals((*decision)[i], (*again)[i]));
        // Through the wire and back, as a reader of the log would see it.
        v1::TenantEvent read_back;
        REQUIRE(read_back.ParseFromString((*decision)[i].SerializeAsString()));
        next = evolve(next, read_back);
      }
      CHECK(next.version == state.version + decision->size());
      CHECK(next.exists);
      CHECK(next.custom_domains.size() <= kCustomDomainsMax);
      state = next;
    }
  }
}
