// The tenant aggregate as a decider: initial_state, decide(command, state, context)
// -> events | error, evolve(state, event) -> state. Pure: time, the tenant id and the
// verification token come in through Context, so every decision replays exactly.
//
// Status rules (every other transition is an invalid_transition error):
//   (none) --register|clone--> active
//   active --suspend--> suspended --reactivate--> active
//   active|suspended --request deletion--> pending_deletion
//   pending_deletion --cancel--> the status it came from (suspended stays suspended)
//   pending_deletion --complete, once due--> deleted (final)
// Configure: active or suspended. Add/verify a custom domain: active only. Remove a
// custom domain: active or suspended. Pending deletion accepts only cancel/complete.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "domain/errors.h"
#include "domain/tenant/settings.h"
#include "tenantry/v1/tenant.pb.h"

namespace tenantry::domain::tenant {

inline constexpr std::size_t kCustomDomainsMax = 20;
inline constexpr std::uint32_t kDeletionGraceDefaultDays = 30;
inline constexpr std::uint32_t kDeletionGraceMaxDays = 90;
inline constexpr std::int64_t kMicrosecondsPerDay = 86'400'000'000;
// Bounds one ConfigureTenant's unset list, like kSettingsChangesMax its set map.
inline constexpr std::size_t kUnsetSettingsMax = 100;

struct AdminContact {
  std::string name;
  std::string email;

  bool operator==(const AdminContact&) const = default;
};

struct CustomDomain {
  std::string verification_token;
  bool verified = false;

  bool operator==(const CustomDomain&) const = default;
};

// At most one of the two is set, and only on a cloned tenant.
struct CloneOrigin {
  std::string tenant_id;
  std::string template_name;

  bool operator==(const CloneOrigin&) const = default;
};

struct TenantState {
  bool exists = false;
  std::string tenant_id;
  std::string slug;
  std::string display_name;
  std::string plan;
  v1::IsolationTier isolation_tier = v1::ISOLATION_TIER_UNSPECIFIED;
  std::string region;
  AdminContact admin_contact;
  v1::TenantStatus status = v1::TENANT_STATUS_UNSPECIFIED;
  // Set while suspended, and kept through a pending deletion so that cancelling the
  // deletion returns to the suspension.
  std::string suspension_reason;
  // Set while pending deletion.
  std::int64_t deletion_due_at_us = 0;
  // As stored: only what was set. Read through with_defaults().
  Settings settings;
  // Keyed by domain name; at most kCustomDomainsMax.
  std::map<std::string, CustomDomain> custom_domains;
  // The sequence of the last event applied (0: no events).
  std::uint64_t version = 0;
  std::int64_t created_at_us = 0;
  CloneOrigin cloned_from;

  bool operator==(const TenantState&) const = default;
};

struct Context {
  std::int64_t now_us = 0;
  // The id of the tenant the command is for (the command envelope's key).
  std::string tenant_id;
  // A fresh unguessable token for a custom domain being added, e.g. random bytes in
  // hex, drawn by the caller; unused by other commands.
  std::string verification_token;
};

using Decision = std::expected<std::vector<v1::TenantEvent>, DomainError>;

TenantState initial_state();

// The events the command causes (possibly none, when it changes nothing), or why it
// is refused. Never throws for any input.
Decision decide(const v1::TenantCommand& command, const TenantState& state,
                const Context& context);

// Applies one event. Every event advances version by one, including an event of a
// type this version does not know (an unset oneof): it still holds a sequence in the
// tenant's history, and version must stay equal to that sequence for
// expected_version checks; nothing else changes for it.
TenantState evolve(TenantState state, const v1::TenantEvent& event);

// "active", "suspended", ... for messages.
std::string_view status_name(v1::TenantStatus status);

}  // namespace tenantry::domain::tenant
