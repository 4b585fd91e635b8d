// Billing periods on the UTC calendar: a subscription's periods follow its billing
// anchor (a day of the month, for yearly plans also a month, and a time of day), month
// or year long. An anchor day the month does not have falls on the month's last day
// (anchor 31: Jan 31, Feb 28 or 29, Mar 31, Apr 30, ...), and the next period returns
// to the anchor day: the anchor never drifts. Pure std::chrono calendar arithmetic
// (year_month_day) on instants in microseconds since the Unix epoch.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/errors.h"

namespace tenantry::domain::billing {

inline constexpr int64_t kMicrosecondsPerSecond = 1'000'000;
inline constexpr int64_t kMicrosecondsPerDay = int64_t{86'400} * kMicrosecondsPerSecond;

enum class Interval { month, year };
// "month", "year".
std::optional<Interval> interval_from(std::string_view name);
const char* interval_name(Interval interval);

// [start_us, end_us).
struct Period {
  int64_t start_us = 0;
  int64_t end_us = 0;

  bool operator==(const Period&) const = default;
  bool contains(int64_t instant_us) const { return instant_us >= start_us && instant_us < end_us; }
};

struct BillingAnchor {
  unsigned day = 1;            // 1..31; past the month's end: the month's last day
  unsigned month = 1;          // 1..12; yearly plans only
  int64_t time_of_day_us = 0;  // UTC, [0, one day)

  bool operator==(const BillingAnchor&) const = default;
};

// Instants billing accepts: from the epoch to the end of year 9999 (what the calendar
// types and descriptions represent without surprises).
inline constexpr int64_t kInstantMinUs = 0;
inline constexpr int64_t kInstantMaxUs = int64_t{253'402'300'799} * kMicrosecondsPerSecond;  // 9999-12-31T23:59:59

// Every problem of the anchor, under "anchor.day", "anchor.month", "anchor.time_of_day_us".
std::vector<FieldError> check_anchor(const BillingAnchor& anchor);
// The anchor an instant sets (a subscription started then, billed from then on).
BillingAnchor anchor_of(int64_t instant_us);

// The period of `interval` anchored at `anchor` that contains `instant_us`. Errors: a
// malformed anchor, or an instant out of range (field "instant_us").
std::expected<Period, DomainError> period_containing(const BillingAnchor& anchor, Interval interval,
                                                     int64_t instant_us);
// The period right after `period` (which starts where `period` ends).
std::expected<Period, DomainError> next_period(const BillingAnchor& anchor, Interval interval, const Period& period);

// Calendar helpers, UTC: the instant of a civil date and time (no range check; for
// tables and tests), and "2024-08-10" / "2024-08-10T12:00:00Z" for descriptions.
int64_t utc_us(int year, unsigned month, unsigned day, int64_t seconds_of_day = 0);
std::string format_date(int64_t instant_us);
std::string format_instant(int64_t instant_us);

}  // namespace tenantry::domain::billing
