#include "domain/billing/periods.h"

#include <algorithm>
#include <chrono>

namespace tenantry::domain::billing {

namespace {

namespace chr = std::chrono;

chr::sys_days day_of(int64_t instant_us) {
  return chr::floor<chr::days>(chr::sys_time<chr::microseconds>(chr::microseconds(instant_us)));
}

int64_t us_of(chr::sys_days day) {
  return chr::duration_cast<chr::microseconds>(day.time_since_epoch()).count();
}

// The anchor's instant in the month `ym`: the anchor day or the month's last day.
int64_t start_in(const BillingAnchor& anchor, chr::year_month ym) {
  const unsigned last = static_cast<unsigned>(chr::year_month_day_last(ym.year(), chr::month_day_last(ym.month())).day());
  const unsigned day = std::min(anchor.day, last);
  return us_of(chr::sys_days(ym / chr::day(day))) + anchor.time_of_day_us;
}

std::string two(unsigned v) { return std::string(1, static_cast<char>('0' + v / 10)) + static_cast<char>('0' + v % 10); }

bool in_range(int64_t instant_us) { return instant_us >= kInstantMinUs && instant_us <= kInstantMaxUs; }

}  // namespace

std::optional<Interval> interval_from(std::string_view name) {
  if (name == "month") return Interval::month;
  if (name == "year") return Interval::year;
  return std::nullopt;
}

const char* interval_name(Interval interval) { return interval == Interval::year ? "year" : "month"; }

std::vector<FieldError> check_anchor(const BillingAnchor& anchor) {
  std::vector<FieldError> errors;
  if (anchor.day < 1 || anchor.day > 31) errors.push_back({"anchor.day", "must be 1 to 31"});
  if (anchor.month < 1 || anchor.month > 12) errors.push_back({"anchor.month", "must be 1 to 12"});
  if (anchor.time_of_day_us < 0 || anchor.time_of_day_us >= kMicrosecondsPerDay) {
    errors.push_back({"anchor.time_of_day_us", "must be within one day: 0 to 86399999999"});
  }
  return errors;
}

BillingAnchor anchor_of(int64_t instant_us) {
  const chr::sys_days day = day_of(instant_us);
  const chr::year_month_day ymd(day);
  return BillingAnchor{static_cast<unsigned>(ymd.day()), static_cast<unsigned>(ymd.month()), instant_us - us_of(day)};
}

std::expected<Period, DomainError> period_containing(const BillingAnchor& anchor, Interval interval,
                                                     int64_t instant_us) {
  auto errors = check_anchor(anchor);
  if (!in_range(instant_us)) errors.push_back({"instant_us", "must be between 1970-01-01 and 9999-12-31"});
  if (!errors.empty()) return std::unexpected(validation_failed(std::move(errors)));
  const chr::year_month_day ymd(day_of(instant_us));
  if (interval == Interval::month) {
    chr::year_month ym = ymd.year() / ymd.month();
    if (start_in(anchor, ym) > instant_us) ym -= chr::months(1);
    return Period{start_in(anchor, ym), start_in(anchor, ym + chr::months(1))};
  }
  chr::year_month ym = ymd.year() / chr::month(anchor.month);
  if (start_in(anchor, ym) > instant_us) ym -= chr::years(1);
  return Period{start_in(anchor, ym), start_in(anchor, ym + chr::years(1))};
}

std::expected<Period, DomainError> next_period(const BillingAnchor& anchor, Interval interval, const Period& period) {
  return period_containing(anchor, interval, period.end_us);
}

int64_t utc_us(int year, unsigned month, unsigned day, int64_t seconds_of_day) {
  const chr::year_month_day ymd{chr::year(year), chr::month(month), chr::day(day)};
  return us_of(chr::sys_days(ymd)) + seconds_of_day * kMicrosecondsPerSecond;
}

std::string format_date(int64_t instant_us) {
  const chr::year_month_day ymd(day_of(instant_us));
  const int year = static_cast<int>(ymd.year());
  std::string out = std::to_string(year);
  if (year >= 0 && year < 1000) out.insert(0, 4 - out.size(), '0');
  return out + "-" + two(static_cast<unsigned>(ymd.month())) + "-" + two(static_cast<unsigned>(ymd.day()));
}

std::string format_instant(int64_t instant_us) {
  const chr::sys_days day = day_of(instant_us);
  const int64_t seconds = (instant_us - us_of(day)) / kMicrosecondsPerSecond;
  return format_date(instant_us) + "T" + two(static_cast<unsigned>(seconds / 3600)) + ":" +
         two(static_cast<unsigned>(seconds / 60 % 60)) + ":" + two(static_cast<unsigned>(seconds % 60)) + "Z";
}

}  // namespace tenantry::domain::billing
