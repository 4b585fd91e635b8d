// The plan catalog's types: a plan version is what a subscription is billed by (base
// fee per interval, trial, currency, included usage and a charge model per meter,
// feature switches). Versions are immutable: a price change makes the next version
// of the same plan, and subscriptions move to it only when told to. Pure values and
// rules; where versions are kept is the catalog's (a later step).
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/billing/charges.h"
#include "domain/billing/money.h"
#include "domain/billing/periods.h"
#include "domain/errors.h"

namespace tenantry::domain::billing {

inline constexpr size_t kPlanChargesMax = 32;
inline constexpr size_t kPlanFeaturesMax = 64;
inline constexpr uint32_t kTrialDaysMax = 365;

// A meter's price in a plan: the first `included_units` of a period are free (unit
// models only), the rest go through `model`.
struct MeterCharge {
  int64_t included_units = 0;
  ChargeModel model;

  bool operator==(const MeterCharge&) const = default;
};

// What happens when an invoice is not paid (the dunning path): the charge is retried
// at these hours after the first failure; after `degrade_after_failures` failed
// attempts (the first included) service degrades (reads work, writes are refused),
// after `suspend_after_failures` the tenant is suspended, and when the last retry
// fails the subscription is canceled. Default: 8 retries over 14 days.
inline constexpr size_t kRetriesMax = 16;
struct DunningPolicy {
  std::vector<uint32_t> retry_after_hours = {24, 48, 72, 120, 168, 216, 288, 336};
  uint32_t degrade_after_failures = 3;
  uint32_t suspend_after_failures = 6;

  bool operator==(const DunningPolicy&) const = default;
};

struct PlanVersion {
  std::string plan_id;    // [a-z0-9_-]{1,64}: "free", "pro", "acme-custom"
  uint32_t version = 1;   // 1, 2, ... per plan_id
  std::string name;       // for people: "Pro"
  std::string currency = "USD";
  Decimal base_fee;       // per interval, in the major unit
  Interval interval = Interval::month;
  uint32_t trial_days = 0;
  std::map<std::string, MeterCharge> charges;   // meter name ([a-z0-9_]{1,64}) -> price
  // Quota overrides ("quota.api_calls_per_month" -> "5000000", as the tenant's quota
  // settings spell them) and feature switches ("feature.sso" -> "on"). The plans'
  // default quotas stay in domain/usage/quotas.cpp.
  std::map<std::string, std::string> features;
  DunningPolicy dunning;

  bool operator==(const PlanVersion&) const = default;
};

// Every problem of the plan, under "plan_id", "base_fee", "charges.api_calls.tiers[1].to", ...
std::vector<FieldError> check_plan(const PlanVersion& plan);

// free, basic, pro and enterprise, version 1, USD, monthly.
std::vector<PlanVersion> builtin_plans();
std::optional<PlanVersion> builtin_plan(std::string_view plan_id);

// The next version of `current`: `proposed` with version = current.version + 1.
// Refused: another plan id, another currency or interval (subscribers' ledgers and
// periods are in them: that is a new plan), a proposal that changes nothing, or a
// proposal that fails check_plan.
std::expected<PlanVersion, DomainError> next_version(const PlanVersion& current, PlanVersion proposed);

// When the subscription starts paying: the trial's end.
int64_t trial_end_us(int64_t started_at_us, const PlanVersion& plan);

// Upgrade or downgrade, by the base fee over a year (a monthly fee counts twelve
// times), so month and year plans compare. Usage prices are not compared: a move to a
// plan with the same base fee is lateral.
enum class ChangeDirection { upgrade, downgrade, lateral };
ChangeDirection change_direction(const PlanVersion& from, const PlanVersion& to);

// When a change takes effect: an upgrade (or lateral move) at once, with proration; a
// downgrade at the period's end, unless asked for at once (then with a credit for the
// unused time of the dearer plan).
enum class ChangeTiming { immediately, at_period_end };
ChangeTiming change_timing(ChangeDirection direction, bool downgrade_at_once);

}  // namespace tenantry::domain::billing
