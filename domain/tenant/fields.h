// Checks of the tenant's plain fields (display name, plan, region, contact, reasons).
// Each returns what is wrong in a sentence, or nothing; the decider names the field.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/errors.h"
#include "tenantry/v1/tenant.pb.h"

namespace tenantry::domain::tenant {

inline constexpr std::size_t kDisplayNameMaxBytes = 200;
inline constexpr std::size_t kPlanMaxChars = 40;
inline constexpr std::size_t kRegionMaxChars = 32;
inline constexpr std::size_t kContactNameMaxBytes = 200;
// RFC 5321: 64 for the local part, 254 for a usable address.
inline constexpr std::size_t kEmailLocalMaxBytes = 64;
inline constexpr std::size_t kEmailMaxBytes = 254;
inline constexpr std::size_t kSuspensionReasonMaxBytes = 500;

// Required, not blank, no control characters, at most 200 bytes.
std::optional<std::string> check_display_name(std::string_view name);

// A plan identifier such as "starter" or "enterprise_2024": a lowercase letter, then
// up to 39 of [a-z0-9_-]. Which plans exist is billing's catalogue, not this check's.
std::optional<std::string> check_plan(std::string_view plan);

// A region identifier such as "eu-west-1": a lowercase letter, then up to 31 of
// [a-z0-9-], not ending with a hyphen. Which regions exist is deployment config.
std::optional<std::string> check_region(std::string_view region);

// Shared, schema or dedicated; unspecified and unknown numbers are refused.
std::optional<std::string> check_isolation_tier(v1::IsolationTier tier);

// Name and email both required; errors name "<prefix>.name" and "<prefix>.email".
std::vector<FieldError> check_admin_contact(const v1::AdminContact& contact,
                                            std::string_view prefix);

// Required, at most 500 bytes: an operator reads it when the tenant calls.
std::optional<std::string> check_suspension_reason(std::string_view reason);

}  // namespace tenantry::domain::tenant
