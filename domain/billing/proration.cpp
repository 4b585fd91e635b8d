#include "domain/billing/proration.h"

#include <numeric>

namespace tenantry::domain::billing {

namespace {

// floor(t / unit) for t >= 0 (instants are checked to be in range first).
int64_t step_of(int64_t instant_us, int64_t unit_us) { return instant_us / unit_us; }

}  // namespace

std::optional<ProrationUnit> proration_unit_from(std::string_view name) {
  if (name == "second") return ProrationUnit::second;
  if (name == "day") return ProrationUnit::day;
  return std::nullopt;
}

const char* proration_unit_name(ProrationUnit unit) { return unit == ProrationUnit::day ? "day" : "second"; }

std::expected<Fraction, DomainError> remaining_share(const Period& period, int64_t from_us, ProrationUnit unit) {
  auto refuse = [](std::string field, std::string message) -> std::expected<Fraction, DomainError> {
    return std::unexpected(validation_failed({{std::move(field), std::move(message)}}));
  };
  const auto in_range = [](int64_t t) { return t >= kInstantMinUs && t <= kInstantMaxUs; };
  if (!in_range(period.start_us) || !in_range(period.end_us)) {
    return refuse("period", "must lie between 1970-01-01 and 9999-12-31");
  }
  const int64_t unit_us = unit == ProrationUnit::day ? kMicrosecondsPerDay : kMicrosecondsPerSecond;
  const int64_t total = step_of(period.end_us, unit_us) - step_of(period.start_us, unit_us);
  if (period.end_us <= period.start_us || total <= 0) {
    return refuse("period", std::string("must end at least one ") + proration_unit_name(unit) + " after it starts");
  }
  if (total > kFractionDenominatorMax) return refuse("period", "is too long to prorate");
  if (from_us < period.start_us || from_us > period.end_us) {
    return refuse("from_us", "must lie within the period [" + format_instant(period.start_us) + ", " +
                                 format_instant(period.end_us) + "]");
  }
  const int64_t left = step_of(period.end_us, unit_us) - step_of(from_us, unit_us);
  const int64_t divisor = std::gcd(left, total);
  return Fraction{left / divisor, total / divisor};
}

}  // namespace tenantry::domain::billing
