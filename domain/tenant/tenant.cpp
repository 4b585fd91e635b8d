#include "domain/tenant/tenant.h"

#include <algorithm>
#include <initializer_list>
#include <limits>
#include <optional>
#include <utility>

#include "domain/tenant/fields.h"
#include "domain/tenant/slug.h"
#include "domain/tenant/templates.h"

namespace tenantry::domain::tenant {
namespace {

using Events = std::vector<v1::TenantEvent>;
using Refusal = std::unexpected<DomainError>;

Refusal refuse(std::string_view type, std::string message, std::vector<FieldError> fields = {}) {
  return std::unexpected(make_error(type, std::move(message), std::move(fields)));
}

Refusal refuse_fields(std::vector<FieldError> fields) {
  return std::unexpected(validation_failed(std::move(fields)));
}

// ---- Small helpers for collecting field errors --------------------------------------

void note(std::vector<FieldError>& errors, std::string field, std::optional<std::string> problem) {
  if (problem) errors.push_back({std::move(field), std::move(*problem)});
}

void note_all(std::vector<FieldError>& errors, std::vector<FieldError> more,
              std::string_view prefix = {}) {
  for (FieldError& error : more) {
    errors.push_back({std::string(prefix) + error.field, std::move(error.message)});
  }
}

void note_slug(std::vector<FieldError>& errors, std::string_view slug) {
  if (auto checked = check_slug(slug); !checked) errors.push_back({"slug", checked.error().message});
}

std::optional<FieldError> domain_name_problem(std::string_view domain) {
  if (auto checked = check_domain_name(domain); !checked) {
    return FieldError{"domain", checked.error().message};
  }
  return std::nullopt;
}

Settings to_settings(const google::protobuf::Map<std::string, std::string>& map) {
  return Settings(map.begin(), map.end());
}

void put_settings(google::protobuf::Map<std::string, std::string>& map, const Settings& settings) {
  for (const auto& [key, value] : settings) map[key] = value;
}

AdminContact to_contact(const v1::AdminContact& contact) {
  return AdminContact{contact.name(), contact.email()};
}

template <typename Fill>
v1::TenantEvent make_event(Fill fill) {
  v1::TenantEvent event;
  fill(event);
  return event;
}

// ---- Status guards ----------------------------------------------------------------

// Refuses a command unless the tenant exists and is in one of `allowed`. A deleted
// tenant refuses with invalid_transition, not not_found: its history and id remain
// and the id is never reused, so "not found" would invite registering it again.
std::optional<DomainError> require_status(const TenantState& state,
                                          std::initializer_list<v1::TenantStatus> allowed,
                                          std::string_view action) {
  if (!state.exists) {
    return make_error(error_type::not_found, "the tenant does not exist");
  }
  if (std::ranges::find(allowed, state.status) != allowed.end()) return std::nullopt;
  std::string message = "cannot " + std::string(action) + " a tenant that is " +
                        std::string(status_name(state.status));
  if (state.status == v1::TENANT_STATUS_PENDING_DELETION) {
    message += "; cancel the deletion first";
  }
  return make_error(error_type::invalid_transition, std::move(message));
}

std::optional<DomainError> require_absent(const TenantState& state) {
  if (!state.exists) return std::nullopt;
  if (state.status == v1::TENANT_STATUS_DELETED) {
    return make_error(error_type::already_exists,
                      "the tenant id belonged to a deleted tenant; ids are never reused");
  }
  return make_error(error_type::already_exists, "the tenant already exists");
}

// ---- Register and clone -------------------------------------------------------------

// What a new tenant starts with; register takes it from the command, clone from the
// source and the command's overrides. Checked the same way for both.
struct Registration {
  std::string slug;
  std::string display_name;
  std::string plan;
  v1::IsolationTier isolation_tier = v1::ISOLATION_TIER_UNSPECIFIED;
  std::string region;
  v1::AdminContact admin_contact;
  Settings settings;
  std::optional<v1::CloneOrigin> cloned_from;
};

// `settings_prefix` names where the settings came from, so the field points at them.
std::vector<FieldError> check_registration(const Registration& r, std::string_view plan_field,
                                           std::string_view settings_prefix) {
  std::vector<FieldError> errors;
  note_slug(errors, r.slug);
  note(errors, "display_name", check_display_name(r.display_name));
  note(errors, std::string(plan_field), check_plan(r.plan));
  note(errors, "isolation_tier", check_isolation_tier(r.isolation_tier));
  note(errors, "region", check_region(r.region));
  note_all(errors, check_admin_contact(r.admin_contact, "admin_contact"));
  note_all(errors, validate_settings(r.settings), settings_prefix);
  note_all(errors, check_settings_bounds(r.settings), settings_prefix);
  return errors;
}

Decision registered(Registration r, const Context& context) {
  if (context.tenant_id.empty()) {
    return refuse(error_type::invalid_context, "no tenant id in the context");
  }
  return Events{make_event([&](v1::TenantEvent& event) {
    auto& e = *event.mutable_tenant_registered();
    e.set_tenant_id(context.tenant_id);
    e.set_slug(std::move(r.slug));
    e.set_display_name(std::move(r.display_name));
    e.set_plan(std::move(r.plan));
    e.set_isolation_tier(r.isolation_tier);
    e.set_region(std::move(r.region));
    *e.mutable_admin_contact() = std::move(r.admin_contact);
    put_settings(*e.mutable_settings(), r.settings);
    e.set_registered_at_us(context.now_us);
    if (r.cloned_from) *e.mutable_cloned_from() = std::move(*r.cloned_from);
  })};
}

Decision decide_register(const v1::RegisterTenant& command, const TenantState& state,
                         const Context& context) {
  if (auto refused = require_absent(state)) return std::unexpected(std::move(*refused));
  Registration r;
  r.slug = command.slug();
  r.display_name = command.display_name();
  r.plan = command.plan();
  r.isolation_tier = command.isolation_tier();
  r.region = command.region();
  r.admin_contact = command.admin_contact();
  r.settings = to_settings(command.settings());
  if (auto errors = check_registration(r, "plan", ""); !errors.empty()) {
    return refuse_fields(std::move(errors));
  }
  return registered(std::move(r), context);
}

// Fills in what the clone inherits from a tenant snapshot. Only known, non-secret
// settings come across (see without_secrets); custom domains are not in a snapshot
// at all, since a domain proves control by one tenant and cannot be shared.
std::optional<DomainError> inherit_from_tenant(const v1::TenantSnapshot& source,
                                               const Context& context, Registration& r) {
  if (source.tenant_id().empty()) {
    return validation_failed({{"source_tenant.tenant_id", "is required"}});
  }
  if (source.tenant_id() == context.tenant_id) {
    return validation_failed({{"source_tenant.tenant_id", "a tenant cannot be cloned onto itself"}});
  }
  if (source.status() == v1::TENANT_STATUS_DELETED ||
      source.status() == v1::TENANT_STATUS_UNSPECIFIED) {
    return make_error(error_type::not_found, "the source tenant does not exist or is deleted",
                      {{"source_tenant", "is deleted or unknown"}});
  }
  r.plan = source.plan();
  r.isolation_tier = source.isolation_tier();
  r.region = source.region();
  r.settings = without_secrets(to_settings(source.settings()));
  v1::CloneOrigin origin;
  origin.set_tenant_id(source.tenant_id());
  r.cloned_from = std::move(origin);
  return std::nullopt;
}

// A template has no region: tenants of one template live anywhere, so the clone
// command must name one.
std::optional<DomainError> inherit_from_template(std::string_view name, Registration& r) {
  const TenantTemplate* found = find_tenant_template(name);
  if (found == nullptr) {
    return make_error(error_type::not_found, "no such template",
                      {{"template_name", "is not a known template"}});
  }
  r.plan = found->plan;
  r.isolation_tier = found->isolation_tier;
  for (const auto& [key, value] : found->settings) r.settings.emplace(key, value);
  v1::CloneOrigin origin;
  origin.set_template_name(std::string(name));
  r.cloned_from = std::move(origin);
  return std::nullopt;
}

Decision decide_clone(const v1::CloneTenant& command, const TenantState& state,
                      const Context& context) {
  if (auto refused = require_absent(state)) return std::unexpected(std::move(*refused));
  Registration r;
  r.slug = command.slug();
  r.display_name = command.display_name();
  r.admin_contact = command.admin_contact();
  std::optional<DomainError> refused;
  std::string_view plan_field;
  std::string_view settings_prefix;
  switch (command.source_case()) {
    case v1::CloneTenant::kSourceTenant:
      refused = inherit_from_tenant(command.source_tenant(), context, r);
      plan_field = "source_tenant.plan";
      settings_prefix = "source_tenant.";
      break;
    case v1::CloneTenant::kTemplateName:
      refused = inherit_from_template(command.template_name(), r);
      plan_field = "plan";
      break;
    case v1::CloneTenant::SOURCE_NOT_SET:
      return refuse_fields({{"source", "name a source tenant or a template"}});
  }
  if (refused) return std::unexpected(std::move(*refused));
  if (!command.region().empty()) r.region = command.region();
  if (command.isolation_tier() != v1::ISOLATION_TIER_UNSPECIFIED) {
    r.isolation_tier = command.isolation_tier();
  }
  if (auto errors = check_registration(r, plan_field, settings_prefix); !errors.empty()) {
    return refuse_fields(std::move(errors));
  }
  return registered(std::move(r), context);
}

// ---- Configure ----------------------------------------------------------------------

bool configures_nothing(const v1::ConfigureTenant& command) {
  return !command.has_display_name() && !command.has_plan() && !command.has_admin_contact() &&
         command.set_settings().empty() && command.unset_settings().empty();
}

// An unset key must be one the tenant could have: known, custom, or stored (a key a
// newer or older schema wrote, so it can still be cleared).
std::vector<FieldError> check_unsets(const v1::ConfigureTenant& command, const TenantState& state) {
  if (static_cast<std::size_t>(command.unset_settings_size()) > kUnsetSettingsMax) {
    return {{"unset_settings", "at most " + std::to_string(kUnsetSettingsMax) +
                                   " settings may be unset in one command"}};
  }
  std::vector<FieldError> errors;
  for (const std::string& key : command.unset_settings()) {
    if (command.set_settings().contains(key)) {
      errors.push_back({"settings." + key, "is both set and unset"});
    } else if (find_setting_spec(key) == nullptr && !is_custom_field_key(key) &&
               !state.settings.contains(key)) {
      errors.push_back({"settings." + key, "is not a known setting"});
    }
  }
  return errors;
}

std::vector<FieldError> check_configure(const v1::ConfigureTenant& command,
                                        const TenantState& state) {
  std::vector<FieldError> errors;
  if (command.has_display_name()) {
    note(errors, "display_name", check_display_name(command.display_name()));
  }
  if (command.has_plan()) note(errors, "plan", check_plan(command.plan()));
  if (command.has_admin_contact()) {
    note_all(errors, check_admin_contact(command.admin_contact(), "admin_contact"));
  }
  note_all(errors, validate_settings(to_settings(command.set_settings())));
  note_all(errors, check_unsets(command, state));
  return errors;
}

// Only what differs from the state goes into the event, so a repeated configure is
// a no-op and the history holds real changes only.
v1::TenantConfigured configured_changes(const v1::ConfigureTenant& command,
                                        const TenantState& state) {
  v1::TenantConfigured changes;
  if (command.has_display_name() && command.display_name() != state.display_name) {
    changes.set_display_name(command.display_name());
  }
  if (command.has_plan() && command.plan() != state.plan) changes.set_plan(command.plan());
  if (command.has_admin_contact() &&
      to_contact(command.admin_contact()) != state.admin_contact) {
    *changes.mutable_admin_contact() = command.admin_contact();
  }
  for (const auto& [key, value] : to_settings(command.set_settings())) {
    const auto stored = state.settings.find(key);
    if (stored == state.settings.end() || stored->second != value) {
      (*changes.mutable_set_settings())[key] = value;
    }
  }
  Settings unset_keys;  // sorted and unique, so the event is deterministic
  for (const std::string& key : command.unset_settings()) {
    if (state.settings.contains(key)) unset_keys.emplace(key, "");
  }
  for (const auto& entry : unset_keys) changes.add_unset_settings(entry.first);
  return changes;
}

bool changes_nothing(const v1::TenantConfigured& changes) {
  return !changes.has_display_name() && !changes.has_plan() && !changes.has_admin_contact() &&
         changes.set_settings().empty() && changes.unset_settings().empty();
}

Settings settings_after(const Settings& stored, const v1::TenantConfigured& changes) {
  Settings settings = stored;
  for (const auto& [key, value] : changes.set_settings()) settings[key] = value;
  for (const std::string& key : changes.unset_settings()) settings.erase(key);
  return settings;
}

// Allowed while suspended: an operator may need to change the plan or the contact
// to resolve the suspension. Refused while pending deletion: the tenant is frozen
// until the deletion is cancelled.
Decision decide_configure(const v1::ConfigureTenant& command, const TenantState& state,
                          const Context&) {
  if (auto refused = require_status(
          state, {v1::TENANT_STATUS_ACTIVE, v1::TENANT_STATUS_SUSPENDED}, "configure")) {
    return std::unexpected(std::move(*refused));
  }
  if (configures_nothing(command)) {
    return refuse_fields({{"configure_tenant", "names nothing to change"}});
  }
  if (auto errors = check_configure(command, state); !errors.empty()) {
    return refuse_fields(std::move(errors));
  }
  v1::TenantConfigured changes = configured_changes(command, state);
  if (changes_nothing(changes)) return Events{};
  if (auto errors = check_settings_bounds(settings_after(state.settings, changes));
      !errors.empty()) {
    return refuse(error_type::limit_exceeded, "too many custom fields", std::move(errors));
  }
  return Events{make_event([&](v1::TenantEvent& event) {
    *event.mutable_tenant_configured() = std::move(changes);
  })};
}

// ---- Suspension -----------------------------------------------------------------------

Decision decide_suspend(const v1::SuspendTenant& command, const TenantState& state,
                        const Context&) {
  if (auto refused = require_status(state, {v1::TENANT_STATUS_ACTIVE}, "suspend")) {
    return std::unexpected(std::move(*refused));
  }
  if (auto problem = check_suspension_reason(command.reason())) {
    return refuse_fields({{"reason", std::move(*problem)}});
  }
  return Events{make_event([&](v1::TenantEvent& event) {
    event.mutable_tenant_suspended()->set_reason(command.reason());
  })};
}

Decision decide_reactivate(const TenantState& state) {
  if (auto refused = require_status(state, {v1::TENANT_STATUS_SUSPENDED}, "reactivate")) {
    return std::unexpected(std::move(*refused));
  }
  return Events{make_event([](v1::TenantEvent& event) { event.mutable_tenant_reactivated(); })};
}

// ---- Deletion -----------------------------------------------------------------------

Decision decide_request_deletion(const v1::RequestTenantDeletion& command,
                                 const TenantState& state, const Context& context) {
  if (auto refused = require_status(
          state, {v1::TENANT_STATUS_ACTIVE, v1::TENANT_STATUS_SUSPENDED}, "request deletion of")) {
    return std::unexpected(std::move(*refused));
  }
  const std::uint32_t grace_days =
      command.has_grace_period_days() ? command.grace_period_days() : kDeletionGraceDefaultDays;
  if (grace_days > kDeletionGraceMaxDays) {
    return refuse_fields({{"grace_period_days", "must be 0-90 days"}});
  }
  const std::int64_t grace_us = std::int64_t{grace_days} * kMicrosecondsPerDay;
  // The clock is the caller's; a value this close to the end of time is a bug there,
  // and the sum would overflow.
  if (context.now_us > std::numeric_limits<std::int64_t>::max() - grace_us) {
    return refuse(error_type::invalid_context, "the context's time is out of range");
  }
  return Events{make_event([&](v1::TenantEvent& event) {
    auto& e = *event.mutable_tenant_deletion_requested();
    e.set_grace_period_days(grace_days);
    e.set_deletion_due_at_us(context.now_us + grace_us);
  })};
}

Decision decide_cancel_deletion(const TenantState& state) {
  if (auto refused =
          require_status(state, {v1::TENANT_STATUS_PENDING_DELETION}, "cancel deletion of")) {
    return std::unexpected(std::move(*refused));
  }
  const v1::TenantStatus restored = state.suspension_reason.empty() ? v1::TENANT_STATUS_ACTIVE
                                                                    : v1::TENANT_STATUS_SUSPENDED;
  return Events{make_event([&](v1::TenantEvent& event) {
    event.mutable_tenant_deletion_cancelled()->set_restored_status(restored);
  })};
}

Decision decide_complete_deletion(const TenantState& state, const Context& context) {
  if (auto refused =
          require_status(state, {v1::TENANT_STATUS_PENDING_DELETION}, "complete deletion of")) {
    return std::unexpected(std::move(*refused));
  }
  if (context.now_us < state.deletion_due_at_us) {
    return refuse(error_type::invalid_transition,
                  "the grace period has not ended: deletion is due at " +
                      std::to_string(state.deletion_due_at_us) + " us");
  }
  return Events{make_event([](v1::TenantEvent& event) { event.mutable_tenant_deleted(); })};
}

// ---- Custom domains -------------------------------------------------------------------

// Refused while suspended: a suspended tenant does not grow its public surface.
Decision decide_add_domain(const v1::AddCustomDomain& command, const TenantState& state,
                           const Context& context) {
  if (auto refused = require_status(state, {v1::TENANT_STATUS_ACTIVE}, "add a domain to")) {
    return std::unexpected(std::move(*refused));
  }
  if (auto problem = domain_name_problem(command.domain())) return refuse_fields({*problem});
  if (state.custom_domains.contains(command.domain())) {
    return refuse(error_type::already_exists, "the domain is already on this tenant",
                  {{"domain", "is already added"}});
  }
  if (state.custom_domains.size() >= kCustomDomainsMax) {
    return refuse(error_type::limit_exceeded, "too many custom domains",
                  {{"domain", "a tenant has at most " + std::to_string(kCustomDomainsMax) +
                                  " custom domains"}});
  }
  if (context.verification_token.empty()) {
    return refuse(error_type::invalid_context, "no verification token in the context");
  }
  return Events{make_event([&](v1::TenantEvent& event) {
    auto& e = *event.mutable_custom_domain_added();
    e.set_domain(command.domain());
    e.set_verification_token(context.verification_token);
  })};
}

std::optional<DomainError> require_domain(const TenantState& state, std::string_view domain) {
  if (auto problem = domain_name_problem(domain)) return validation_failed({*problem});
  if (!state.custom_domains.contains(std::string(domain))) {
    return make_error(error_type::not_found, "the domain is not on this tenant",
                      {{"domain", "is not added"}});
  }
  return std::nullopt;
}

// Verifying again with the right token changes nothing and is no error: the check
// that presents the token may run more than once.
Decision decide_verify_domain(const v1::VerifyCustomDomain& command, const TenantState& state,
                              const Context&) {
  if (auto refused = require_status(state, {v1::TENANT_STATUS_ACTIVE}, "verify a domain of")) {
    return std::unexpected(std::move(*refused));
  }
  if (auto refused = require_domain(state, command.domain())) {
    return std::unexpected(std::move(*refused));
  }
  if (command.presented_token().empty()) {
    return refuse_fields({{"presented_token", "is required"}});
  }
  const CustomDomain& domain = state.custom_domains.at(command.domain());
  if (command.presented_token() != domain.verification_token) {
    return refuse_fields({{"presented_token", "does not match the domain's verification token"}});
  }
  if (domain.verified) return Events{};
  return Events{make_event([&](v1::TenantEvent& event) {
    event.mutable_custom_domain_verified()->set_domain(command.domain());
  })};
}

Decision decide_remove_domain(const v1::RemoveCustomDomain& command, const TenantState& state,
                              const Context&) {
  if (auto refused = require_status(
          state, {v1::TENANT_STATUS_ACTIVE, v1::TENANT_STATUS_SUSPENDED}, "remove a domain of")) {
    return std::unexpected(std::move(*refused));
  }
  if (auto refused = require_domain(state, command.domain())) {
    return std::unexpected(std::move(*refused));
  }
  return Events{make_event([&](v1::TenantEvent& event) {
    event.mutable_custom_domain_removed()->set_domain(command.domain());
  })};
}

// ---- Evolve, one event type each -------------------------------------------------------

void apply(TenantState& state, const v1::TenantRegistered& e) {
  state.exists = true;
  state.tenant_id = e.tenant_id();
  state.slug = e.slug();
  state.display_name = e.display_name();
  state.plan = e.plan();
  state.isolation_tier = e.isolation_tier();
  state.region = e.region();
  state.admin_contact = to_contact(e.admin_contact());
  state.status = v1::TENANT_STATUS_ACTIVE;
  state.settings = to_settings(e.settings());
  state.created_at_us = e.registered_at_us();
  state.cloned_from = CloneOrigin{e.cloned_from().tenant_id(), e.cloned_from().template_name()};
}

void apply(TenantState& state, const v1::TenantConfigured& e) {
  if (e.has_display_name()) state.display_name = e.display_name();
  if (e.has_plan()) state.plan = e.plan();
  if (e.has_admin_contact()) state.admin_contact = to_contact(e.admin_contact());
  state.settings = settings_after(state.settings, e);
}

void apply(TenantState& state, const v1::TenantDeletionCancelled& e) {
  v1::TenantStatus restored = e.restored_status();
  // An event without the field (an older writer) falls back to the same rule decide uses.
  if (restored == v1::TENANT_STATUS_UNSPECIFIED) {
    restored = state.suspension_reason.empty() ? v1::TENANT_STATUS_ACTIVE
                                               : v1::TENANT_STATUS_SUSPENDED;
  }
  state.status = restored;
  if (restored == v1::TENANT_STATUS_ACTIVE) state.suspension_reason.clear();
  state.deletion_due_at_us = 0;
}

// Settings (secrets included) and custom domains no longer apply to a deleted tenant,
// and its domains become free for others.
void apply_deleted(TenantState& state) {
  state.status = v1::TENANT_STATUS_DELETED;
  state.suspension_reason.clear();
  state.deletion_due_at_us = 0;
  state.settings.clear();
  state.custom_domains.clear();
}

}  // namespace

TenantState initial_state() { return TenantState{}; }

Decision decide(const v1::TenantCommand& command, const TenantState& state,
                const Context& context) {
  using C = v1::TenantCommand;
  switch (command.command_case()) {
    case C::kRegisterTenant: return decide_register(command.register_tenant(), state, context);
    case C::kConfigureTenant: return decide_configure(command.configure_tenant(), state, context);
    case C::kSuspendTenant: return decide_suspend(command.suspend_tenant(), state, context);
    case C::kReactivateTenant: return decide_reactivate(state);
    case C::kRequestTenantDeletion:
      return decide_request_deletion(command.request_tenant_deletion(), state, context);
    case C::kCancelTenantDeletion: return decide_cancel_deletion(state);
    case C::kCompleteTenantDeletion: return decide_complete_deletion(state, context);
    case C::kCloneTenant: return decide_clone(command.clone_tenant(), state, context);
    case C::kAddCustomDomain: return decide_add_domain(command.add_custom_domain(), state, context);
    case C::kVerifyCustomDomain:
      return decide_verify_domain(command.verify_custom_domain(), state, context);
    case C::kRemoveCustomDomain:
      return decide_remove_domain(command.remove_custom_domain(), state, context);
    case C::COMMAND_NOT_SET: break;
  }
  return refuse_fields({{"command", "is empty or of a type this version does not know"}});
}

TenantState evolve(TenantState state, const v1::TenantEvent& event) {
  ++state.version;
  using E = v1::TenantEvent;
  switch (event.event_case()) {
    case E::kTenantRegistered: apply(state, event.tenant_registered()); break;
    case E::kTenantConfigured: apply(state, event.tenant_configured()); break;
    case E::kTenantSuspended:
      state.status = v1::TENANT_STATUS_SUSPENDED;
      state.suspension_reason = event.tenant_suspended().reason();
      break;
    case E::kTenantReactivated:
      state.status = v1::TENANT_STATUS_ACTIVE;
      state.suspension_reason.clear();
      break;
    case E::kTenantDeletionRequested:
      state.status = v1::TENANT_STATUS_PENDING_DELETION;
      state.deletion_due_at_us = event.tenant_deletion_requested().deletion_due_at_us();
      break;
    case E::kTenantDeletionCancelled: apply(state, event.tenant_deletion_cancelled()); break;
    case E::kTenantDeleted: apply_deleted(state); break;
    case E::kCustomDomainAdded:
      state.custom_domains[event.custom_domain_added().domain()] =
          CustomDomain{event.custom_domain_added().verification_token(), false};
      break;
    case E::kCustomDomainVerified:
      if (auto found = state.custom_domains.find(event.custom_domain_verified().domain());
          found != state.custom_domains.end()) {
        found->second.verified = true;
      }
      break;
    case E::kCustomDomainRemoved:
      state.custom_domains.erase(event.custom_domain_removed().domain());
      break;
    case E::EVENT_NOT_SET: break;  // a newer writer's event type: see evolve's contract
  }
  return state;
}

std::string_view status_name(v1::TenantStatus status) {
  switch (status) {
    case v1::TENANT_STATUS_ACTIVE: return "active";
    case v1::TENANT_STATUS_SUSPENDED: return "suspended";
    case v1::TENANT_STATUS_PENDING_DELETION: return "pending deletion";
    case v1::TENANT_STATUS_DELETED: return "deleted";
    default: return "in an unknown status";
  }
}

}  // namespace tenantry::domain::tenant
