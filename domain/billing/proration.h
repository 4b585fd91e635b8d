// Proration: the share of a billing period that is left from an instant (a change of
// plan, a start inside the period) to the period's end, counted in whole seconds or
// whole UTC days. The share stays a fraction; it is applied when the line is rounded
// (see the rounding rule in money.h), never to an intermediate amount.
//
// Counting: with unit u, an instant t falls in step floor(t / u). The share left from
// `from` is (step(end) - step(from)) / (step(end) - step(start)). By the day, the day
// of `from` is counted as left (a plan that starts on August 10 pays for August 10:
// 22 of August's 31 days), and the same share is both the old plan's unused time and
// the new plan's remaining time, so a change never bills a day twice nor drops one.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string_view>

#include "domain/billing/money.h"
#include "domain/billing/periods.h"
#include "domain/errors.h"

namespace tenantry::domain::billing {

enum class ProrationUnit { second, day };
// "second", "day".
std::optional<ProrationUnit> proration_unit_from(std::string_view name);
const char* proration_unit_name(ProrationUnit unit);

// The share of `period` from `from_us` to its end, reduced (22/31, 1/2, 0/1, 1/1).
// Errors (validation, field "from_us" or "period"): `from_us` outside [start, end], an
// empty or reversed period, instants out of range, a period longer than the fraction
// bound (kFractionDenominatorMax units).
std::expected<Fraction, DomainError> remaining_share(const Period& period, int64_t from_us, ProrationUnit unit);

}  // namespace tenantry::domain::billing
