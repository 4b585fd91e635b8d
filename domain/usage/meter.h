// Meters: how usage events become numbers. A meter selects events by type, reads a
// value at a path of their data, aggregates it (COUNT, SUM, MAX, MIN, UNIQUE_COUNT,
// LATEST) per window (minute, hour, day, month) and optionally per group (values of
// other data fields). Pure: the caller supplies the time zone offset in effect.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/errors.h"
#include "tenantry/v1/usage.pb.h"

namespace tenantry::domain::usage {

enum class Aggregation { count, sum, max, min, unique_count, latest };
// "COUNT", "SUM", ... (as the meter definitions spell them, upper case).
std::optional<Aggregation> aggregation_from(std::string_view name);
const char* aggregation_name(Aggregation aggregation);

enum class Window { minute, hour, day, month };
// "minute", "hour", "day", "month".
std::optional<Window> window_from(std::string_view name);
const char* window_name(Window window);
inline constexpr Window kWindows[] = {Window::minute, Window::hour, Window::day, Window::month};

// A path into an event's data: "$.tokens", "$.usage.input" or "usage.input"; keys of
// 1-64 characters of [A-Za-z0-9_-].
struct DataPath {
  std::vector<std::string> keys;
  std::string text;  // as written, for messages
};
std::optional<DataPath> parse_path(std::string_view text);
// Null when a key is missing or a step is not an object.
const google::protobuf::Value* find(const google::protobuf::Struct& data, const DataPath& path);

struct MeterDefinition {
  std::string name;        // [a-z0-9_]{1,64}, unique
  std::string event_type;  // events of exactly this type
  Aggregation aggregation = Aggregation::count;
  std::optional<DataPath> value;     // required except for COUNT
  std::vector<DataPath> group_by;    // at most 4
  // SUM meters only: each event's value is also kept as one transaction, an amount in
  // minor units (a whole number, 0 or more), for the percentage charge models, which
  // price each transaction and not the period's total.
  bool transactions = false;
};
// Every problem, each under the field at fault ("name", "valueProperty", ...).
std::vector<FieldError> check_definition(const MeterDefinition& meter);

// What one event adds to one meter.
struct Contribution {
  double value = 0;          // COUNT: 1; UNIQUE_COUNT: unused
  std::string unique_value;  // UNIQUE_COUNT: the value as a canonical string
  std::string group;         // group-by values, each key=value, joined with '\x1f'; "" when none
};
// nullopt when the meter does not take this event (another type, or no value at the
// meter's path). An error names why the event cannot count (a value of the wrong kind:
// not a number for a numeric aggregation, not a scalar for UNIQUE_COUNT).
std::expected<std::optional<Contribution>, std::string> contribution(const MeterDefinition& meter,
                                                                      const v1::UsageEvent& event);

// A window's running aggregate. UNIQUE_COUNT keeps the count of distinct values; the
// set itself is the caller's (one store key per value).
struct Aggregate {
  uint64_t count = 0;
  double sum = 0;
  double min = 0;
  double max = 0;
  double latest = 0;
  int64_t latest_time_us = 0;
  std::string latest_id;  // ties at one instant go to the greater event id
  uint64_t unique = 0;

  bool operator==(const Aggregate&) const = default;
};
// `first_of_value`: for UNIQUE_COUNT, whether this value is new in the window.
void fold(Aggregate& aggregate, const Contribution& contribution, int64_t time_us, std::string_view event_id,
          bool first_of_value);
// Combines two windows' aggregates (a range of windows); UNIQUE_COUNT does not merge
// (distinct values may repeat across windows): the caller counts the union itself.
void merge(Aggregate& into, const Aggregate& other);
double result(const Aggregate& aggregate, Aggregation aggregation);

std::string encode(const Aggregate& aggregate);
std::optional<Aggregate> decode(std::string_view bytes);

// The window an instant falls in, as the start of that window in microseconds of
// civil time since the epoch: UTC for minute and hour; for day and month the local
// time of the zone whose UTC offset at that instant is `utc_offset_s`.
int64_t window_start(Window window, int64_t time_us, int32_t utc_offset_s);
// The start of the next window (same units).
int64_t next_window(Window window, int64_t start);

// What a usage event must be before it is accepted: id, type and source present and
// bounded, time not older than max_age nor further ahead than max_future.
struct EventLimits {
  int64_t max_age_us = int64_t{35} * 24 * 3600 * 1000000;
  int64_t max_future_us = int64_t{5} * 60 * 1000000;
};
std::optional<FieldError> check_event(const v1::UsageEvent& event, int64_t now_us, const EventLimits& limits);

}  // namespace tenantry::domain::usage
