#include "domain/billing/plans.h"

#include <algorithm>

namespace tenantry::domain::billing {

namespace {

constexpr size_t kPlanNameMax = 128;
constexpr size_t kFeatureKeyMax = 128;
constexpr size_t kFeatureValueMax = 256;

bool made_of(std::string_view text, std::string_view extra) {
  return std::all_of(text.begin(), text.end(), [extra](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || extra.find(c) != std::string_view::npos;
  });
}

Decimal dec(int64_t units, int scale = 0) { return Decimal{units, scale}; }

Tier tier(int64_t from, std::optional<int64_t> to, Decimal unit_price, Decimal flat_fee = {}) {
  return Tier{from, to, unit_price, flat_fee};
}

PlanVersion plan(std::string id, std::string name, Decimal base_fee, uint32_t trial_days) {
  PlanVersion out;
  out.plan_id = std::move(id);
  out.version = 1;
  out.name = std::move(name);
  out.currency = "USD";
  out.base_fee = base_fee;
  out.interval = Interval::month;
  out.trial_days = trial_days;
  return out;
}

// A year's worth of the base fee, so month and year plans compare.
Exact yearly(const PlanVersion& plan) {
  const Exact fee = Exact::of(plan.base_fee);
  if (plan.interval == Interval::year) return fee;
  // A checked plan's fee (< 10^12 major units) times 12 cannot overflow.
  return fee.times(12).value_or(fee);
}

}  // namespace

std::vector<FieldError> check_plan(const PlanVersion& plan) {
  std::vector<FieldError> errors;
  if (plan.plan_id.empty() || plan.plan_id.size() > 64 || !made_of(plan.plan_id, "_-")) {
    errors.push_back({"plan_id", "must be 1 to 64 characters of a-z, 0-9, '_' and '-'"});
  }
  if (plan.version < 1) errors.push_back({"version", "must be 1 or more"});
  if (plan.name.empty() || plan.name.size() > kPlanNameMax) errors.push_back({"name", "must be 1 to 128 characters"});
  if (!find_currency(plan.currency)) {
    errors.push_back({"currency", "unknown currency \"" + plan.currency.substr(0, 16) +
                                      "\": an ISO 4217 code in upper case that billing supports, e.g. USD"});
  }
  if (plan.base_fee.scale < 0 || plan.base_fee.scale > kDecimalScaleMax) {
    errors.push_back({"base_fee", "at most 12 decimal places"});
  } else if (plan.base_fee.negative()) {
    errors.push_back({"base_fee", "must be 0 or more"});
  }
  if (plan.interval != Interval::month && plan.interval != Interval::year) {
    errors.push_back({"interval", "must be month or year"});
  }
  if (plan.trial_days > kTrialDaysMax) errors.push_back({"trial_days", "must be at most 365"});
  if (plan.charges.size() > kPlanChargesMax) errors.push_back({"charges", "at most 32 meters"});
  for (const auto& [meter, price] : plan.charges) {
    const std::string at = "charges." + meter.substr(0, 64);
    if (meter.empty() || meter.size() > 64 || !made_of(meter, "_")) {
      errors.push_back({at, "a meter name is 1 to 64 characters of a-z, 0-9 and '_'"});
      continue;
    }
    if (price.included_units < 0 || price.included_units > kQuantityMax) {
      errors.push_back({at + ".included_units", "must be 0 to 10^15"});
    } else if (price.included_units > 0 && prices_transactions(price.model)) {
      errors.push_back({at + ".included_units", "included units apply to unit models, not percentage ones"});
    }
    auto model_errors = check_model(price.model, at);
    errors.insert(errors.end(), model_errors.begin(), model_errors.end());
  }
  const auto& retries = plan.dunning.retry_after_hours;
  if (retries.size() > kRetriesMax) errors.push_back({"dunning.retry_after_hours", "at most 16 retries"});
  for (size_t i = 0; i < retries.size(); ++i) {
    if (retries[i] < 1 || retries[i] > 24 * 366 || (i > 0 && retries[i] <= retries[i - 1])) {
      errors.push_back({"dunning.retry_after_hours[" + std::to_string(i) + "]",
                        "hours after the first failure: ascending, 1 to 8784"});
      break;
    }
  }
  const uint32_t attempts = static_cast<uint32_t>(retries.size()) + 1;
  if (plan.dunning.degrade_after_failures < 1 || plan.dunning.degrade_after_failures > attempts) {
    errors.push_back({"dunning.degrade_after_failures", "must be 1 to the number of attempts (retries + 1)"});
  }
  if (plan.dunning.suspend_after_failures < plan.dunning.degrade_after_failures ||
      plan.dunning.suspend_after_failures > attempts) {
    errors.push_back({"dunning.suspend_after_failures",
                      "must be from degrade_after_failures to the number of attempts (retries + 1)"});
  }
  if (plan.features.size() > kPlanFeaturesMax) errors.push_back({"features", "at most 64 entries"});
  for (const auto& [key, value] : plan.features) {
    if (key.empty() || key.size() > kFeatureKeyMax || !made_of(key, "_.-")) {
      errors.push_back({"features." + key.substr(0, kFeatureKeyMax),
                        "a key is 1 to 128 characters of a-z, 0-9, '_', '.' and '-'"});
    } else if (value.size() > kFeatureValueMax) {
      errors.push_back({"features." + key, "at most 256 characters"});
    }
  }
  return errors;
}

std::vector<PlanVersion> builtin_plans() {
  std::vector<PlanVersion> plans;

  PlanVersion free_plan = plan("free", "Free", dec(0), 0);
  // Usage past the included calls is blocked by the free plan's quotas, not billed.
  free_plan.charges["api_calls"] = MeterCharge{10'000, StandardModel{dec(0)}};
  free_plan.features = {{"feature.sso", "off"}, {"feature.audit_export", "off"}, {"support", "community"}};
  plans.push_back(std::move(free_plan));

  PlanVersion basic = plan("basic", "Basic", dec(29), 14);
  basic.charges["api_calls"] = MeterCharge{
      100'000, GraduatedModel{{tier(0, 1'000'000, dec(10, 4)), tier(1'000'001, std::nullopt, dec(8, 4))}}};
  basic.charges["storage_gb"] = MeterCharge{10, StandardModel{dec(25, 2)}};
  basic.features = {{"feature.sso", "off"}, {"feature.audit_export", "off"}, {"support", "email"}};
  plans.push_back(std::move(basic));

  PlanVersion pro = plan("pro", "Pro", dec(99), 14);
  pro.charges["api_calls"] = MeterCharge{
      1'000'000, VolumeModel{{tier(0, 10'000, dec(10, 4)), tier(10'001, 50'000, dec(8, 4)),
                              tier(50'001, 100'000, dec(6, 4)), tier(100'001, std::nullopt, dec(4, 4))}}};
  pro.charges["storage_gb"] = MeterCharge{100, StandardModel{dec(20, 2)}};
  pro.features = {{"feature.sso", "on"}, {"feature.audit_export", "on"}, {"support", "priority"}};
  plans.push_back(std::move(pro));

  PlanVersion enterprise = plan("enterprise", "Enterprise", dec(999), 30);
  enterprise.charges["api_calls"] = MeterCharge{
      10'000'000, GraduatedModel{{tier(0, 100'000'000, dec(3, 4)), tier(100'000'001, std::nullopt, dec(2, 4))}}};
  enterprise.charges["storage_gb"] = MeterCharge{1'000, StandardModel{dec(15, 2)}};
  enterprise.features = {{"feature.sso", "on"}, {"feature.audit_export", "on"}, {"support", "dedicated"}};
  plans.push_back(std::move(enterprise));

  return plans;
}

std::optional<PlanVersion> builtin_plan(std::string_view plan_id) {
  for (auto& plan : builtin_plans()) {
    if (plan.plan_id == plan_id) return std::move(plan);
  }
  return std::nullopt;
}

std::expected<PlanVersion, DomainError> next_version(const PlanVersion& current, PlanVersion proposed) {
  std::vector<FieldError> errors;
  if (proposed.plan_id != current.plan_id) errors.push_back({"plan_id", "must stay " + current.plan_id});
  if (proposed.currency != current.currency) {
    errors.push_back({"currency", "must stay " + current.currency + ": another currency is another plan"});
  }
  if (proposed.interval != current.interval) {
    errors.push_back({"interval", std::string("must stay ") + interval_name(current.interval) +
                                      ": another interval is another plan"});
  }
  auto plan_errors = check_plan(proposed);
  errors.insert(errors.end(), plan_errors.begin(), plan_errors.end());
  if (!errors.empty()) return std::unexpected(validation_failed(std::move(errors)));
  if (current.version == UINT32_MAX) {
    return std::unexpected(make_error(error_type::limit_exceeded, "the plan has no version numbers left"));
  }
  proposed.version = current.version;
  if (proposed == current) {
    return std::unexpected(validation_failed({{"plan", "the new version changes nothing"}}));
  }
  proposed.version = current.version + 1;
  return proposed;
}

int64_t trial_end_us(int64_t started_at_us, const PlanVersion& plan) {
  return started_at_us + static_cast<int64_t>(std::min(plan.trial_days, kTrialDaysMax)) * kMicrosecondsPerDay;
}

ChangeDirection change_direction(const PlanVersion& from, const PlanVersion& to) {
  const Exact before = yearly(from);
  const Exact after = yearly(to);
  if (after > before) return ChangeDirection::upgrade;
  if (after < before) return ChangeDirection::downgrade;
  return ChangeDirection::lateral;
}

ChangeTiming change_timing(ChangeDirection direction, bool downgrade_at_once) {
  if (direction == ChangeDirection::downgrade && !downgrade_at_once) return ChangeTiming::at_period_end;
  return ChangeTiming::immediately;
}

}  // namespace tenantry::domain::billing
