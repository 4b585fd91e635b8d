// Billing periods from an anchor on the UTC calendar, and proration by the second or
// by the day, with the known answers the billing requirement states.
#include <catch2/catch.hpp>

#include "domain/billing/proration.h"

using namespace tenantry::domain;
using namespace tenantry::domain::billing;

namespace {

const Currency kUsd = *find_currency("USD");

int64_t at(int year, unsigned month, unsigned day, int64_t hours = 0) { return utc_us(year, month, day, hours * 3600); }

Period month_of(const BillingAnchor& anchor, int64_t instant_us) {
  auto period = period_containing(anchor, Interval::month, instant_us);
  REQUIRE(period.has_value());
  return *period;
}

// fee × share, rounded once.
int64_t prorated_cents(std::string_view fee, Fraction share) {
  auto value = parse_decimal(fee, "fee");
  REQUIRE(value.has_value());
  auto minor = round_to_minor(Exact::of(*value), kUsd, share);
  REQUIRE(minor.has_value());
  return *minor;
}

Fraction share_left(const Period& period, int64_t from_us, ProrationUnit unit) {
  auto share = remaining_share(period, from_us, unit);
  REQUIRE(share.has_value());
  return *share;
}

}  // namespace

TEST_CASE("billing proration: $10 to $20 a month exactly halfway, by the second, nets +$5.00", "[domain][billing]") {
  const Period august{at(2024, 8, 1), at(2024, 9, 1)};
  const int64_t halfway = at(2024, 8, 16, 12);  // 15.5 of 31 days
  const Fraction left = share_left(august, halfway, ProrationUnit::second);
  CHECK(left == Fraction{1, 2});
  const int64_t credit_unused_old = -prorated_cents("10", left);
  const int64_t charge_remaining_new = prorated_cents("20", left);
  CHECK(credit_unused_old == -500);
  CHECK(charge_remaining_new == 1000);
  CHECK(credit_unused_old + charge_remaining_new == 500);
}

TEST_CASE("billing proration: a $50 monthly plan starting August 10, by the day, first bills $35.48",
          "[domain][billing]") {
  const Period august = month_of(BillingAnchor{1, 1, 0}, at(2024, 8, 10));
  CHECK(august == Period{at(2024, 8, 1), at(2024, 9, 1)});
  const Fraction left = share_left(august, at(2024, 8, 10), ProrationUnit::day);
  CHECK(left == Fraction{22, 31});
  CHECK(prorated_cents("50", left) == 3548);
  // By the day, the hour of the start does not matter: August 10 counts as used.
  CHECK(share_left(august, at(2024, 8, 10, 15), ProrationUnit::day) == Fraction{22, 31});
  // By the second, it does.
  CHECK(share_left(august, at(2024, 8, 10, 12), ProrationUnit::second) == Fraction{43, 62});  // 21.5 of 31 days
}

TEST_CASE("billing proration: the edges of a period", "[domain][billing]") {
  const Period august{at(2024, 8, 1), at(2024, 9, 1)};
  CHECK(share_left(august, august.start_us, ProrationUnit::second) == Fraction{1, 1});
  CHECK(share_left(august, august.start_us, ProrationUnit::day) == Fraction{1, 1});
  CHECK(share_left(august, august.end_us, ProrationUnit::day) == Fraction{0, 1});
  CHECK(share_left(august, at(2024, 8, 31, 23), ProrationUnit::day) == Fraction{1, 31});
  // A year by the day: 366 days in 2024.
  const Period year{at(2024, 1, 1), at(2025, 1, 1)};
  CHECK(share_left(year, at(2024, 7, 1), ProrationUnit::day) == Fraction{92, 183});  // 184/366, reduced

  auto before = remaining_share(august, at(2024, 7, 31), ProrationUnit::day);
  REQUIRE_FALSE(before.has_value());
  CHECK(before.error().type == error_type::validation_error);
  CHECK(before.error().fields.at(0).field == "from_us");
  auto after = remaining_share(august, at(2024, 9, 2), ProrationUnit::second);
  REQUIRE_FALSE(after.has_value());
  CHECK(after.error().fields.at(0).field == "from_us");
  auto empty = remaining_share(Period{at(2024, 8, 1), at(2024, 8, 1)}, at(2024, 8, 1), ProrationUnit::second);
  REQUIRE_FALSE(empty.has_value());
  CHECK(empty.error().fields.at(0).field == "period");
  auto within_a_day = remaining_share(Period{at(2024, 8, 1), at(2024, 8, 1, 5)}, at(2024, 8, 1), ProrationUnit::day);
  REQUIRE_FALSE(within_a_day.has_value());
  CHECK(within_a_day.error().fields.at(0).field == "period");
  auto negative = remaining_share(Period{-10, at(2024, 8, 1)}, 0, ProrationUnit::second);
  REQUIRE_FALSE(negative.has_value());
  CHECK(negative.error().fields.at(0).field == "period");
}

TEST_CASE("billing periods: an anchor on the 31st bills on the last day of shorter months", "[domain][billing]") {
  const BillingAnchor the_31st{31, 1, 0};
  // Non-leap February: Jan 31 -> Feb 28 -> Mar 31 -> Apr 30 -> May 31.
  CHECK(month_of(the_31st, at(2023, 2, 10)) == Period{at(2023, 1, 31), at(2023, 2, 28)});
  CHECK(month_of(the_31st, at(2023, 2, 28)) == Period{at(2023, 2, 28), at(2023, 3, 31)});
  CHECK(month_of(the_31st, at(2023, 4, 15)) == Period{at(2023, 3, 31), at(2023, 4, 30)});
  CHECK(month_of(the_31st, at(2023, 4, 30)) == Period{at(2023, 4, 30), at(2023, 5, 31)});
  // Leap February: Feb 29.
  CHECK(month_of(the_31st, at(2024, 2, 10)) == Period{at(2024, 1, 31), at(2024, 2, 29)});
  CHECK(month_of(the_31st, at(2024, 2, 29)) == Period{at(2024, 2, 29), at(2024, 3, 31)});
  CHECK(month_of(the_31st, at(2024, 9, 30)) == Period{at(2024, 9, 30), at(2024, 10, 31)});
  // Walking forward returns to the 31st whenever the month has one: the anchor never drifts.
  auto period = period_containing(the_31st, Interval::month, at(2023, 1, 31));
  REQUIRE(period.has_value());
  std::vector<int64_t> starts;
  for (int i = 0; i < 6; ++i) {
    starts.push_back(period->start_us);
    period = next_period(the_31st, Interval::month, *period);
    REQUIRE(period.has_value());
  }
  CHECK(starts == std::vector<int64_t>{at(2023, 1, 31), at(2023, 2, 28), at(2023, 3, 31), at(2023, 4, 30),
                                       at(2023, 5, 31), at(2023, 6, 30)});
  // An anchor on the 30th and the 29th in February.
  CHECK(month_of(BillingAnchor{30, 1, 0}, at(2023, 3, 1)) == Period{at(2023, 2, 28), at(2023, 3, 30)});
  CHECK(month_of(BillingAnchor{29, 1, 0}, at(2024, 3, 1)) == Period{at(2024, 2, 29), at(2024, 3, 29)});
  // An instant just before the anchor is in the period before.
  CHECK(month_of(the_31st, at(2023, 3, 31) - 1) == Period{at(2023, 2, 28), at(2023, 3, 31)});
  // A time of day in the anchor.
  CHECK(month_of(BillingAnchor{1, 1, int64_t{12} * 3600 * kMicrosecondsPerSecond}, at(2024, 8, 1, 6)) ==
        Period{at(2024, 7, 1, 12), at(2024, 8, 1, 12)});
  // The anchor a start instant sets.
  CHECK(anchor_of(at(2024, 8, 10, 15)) == BillingAnchor{10, 8, int64_t{15} * 3600 * kMicrosecondsPerSecond});
}

TEST_CASE("billing periods: a year interval keeps its anchor month and day", "[domain][billing]") {
  const BillingAnchor march_15{15, 3, 0};
  auto year = period_containing(march_15, Interval::year, at(2024, 1, 1));
  REQUIRE(year.has_value());
  CHECK(*year == Period{at(2023, 3, 15), at(2024, 3, 15)});
  CHECK(*period_containing(march_15, Interval::year, at(2024, 3, 15)) == Period{at(2024, 3, 15), at(2025, 3, 15)});
  // February 29 as an anchor: February 28 in common years.
  const BillingAnchor leap_day{29, 2, 0};
  CHECK(*period_containing(leap_day, Interval::year, at(2025, 6, 1)) == Period{at(2025, 2, 28), at(2026, 2, 28)});
  CHECK(*period_containing(leap_day, Interval::year, at(2028, 3, 1)) == Period{at(2028, 2, 29), at(2029, 2, 28)});
  CHECK(*next_period(leap_day, Interval::year, Period{at(2027, 2, 28), at(2028, 2, 29)}) ==
        Period{at(2028, 2, 29), at(2029, 2, 28)});
  // Prorating a year by the day: $120 a year, started with 73 of 365 days left.
  const Period y2025{at(2025, 1, 1), at(2026, 1, 1)};
  CHECK(prorated_cents("120", share_left(y2025, at(2025, 10, 20), ProrationUnit::day)) == 2400);
}

TEST_CASE("billing periods: malformed anchors and instants are typed errors", "[domain][billing]") {
  auto bad = period_containing(BillingAnchor{32, 13, -1}, Interval::month, at(2024, 1, 1));
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().type == error_type::validation_error);
  REQUIRE(bad.error().fields.size() == 3);
  CHECK(bad.error().fields[0].field == "anchor.day");
  CHECK(bad.error().fields[1].field == "anchor.month");
  CHECK(bad.error().fields[2].field == "anchor.time_of_day_us");
  CHECK(period_containing(BillingAnchor{0, 1, 0}, Interval::month, 0).error().fields.at(0).field == "anchor.day");
  auto far = period_containing(BillingAnchor{}, Interval::month, INT64_MAX);
  REQUIRE_FALSE(far.has_value());
  CHECK(far.error().fields.at(0).field == "instant_us");
  CHECK_FALSE(period_containing(BillingAnchor{}, Interval::month, -1).has_value());
  CHECK(format_date(at(2024, 2, 29)) == "2024-02-29");
  CHECK(format_instant(at(2024, 8, 16, 12)) == "2024-08-16T12:00:00Z");
}
