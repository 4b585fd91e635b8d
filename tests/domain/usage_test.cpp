// The pure metering rules: aggregations, windows, event checks and GCRA, with the
// known answers the usage issue states.
#include <catch2/catch.hpp>

#include <google/protobuf/util/json_util.h>

#include <set>

#include "domain/usage/gcra.h"
#include "domain/usage/meter.h"

using namespace tenantry;
using namespace tenantry::domain::usage;

namespace {

constexpr int64_t kSecond = 1000000;

v1::UsageEvent event(const std::string& id, const std::string& type, const std::string& data_json, int64_t time_us) {
  v1::UsageEvent out;
  out.set_tenant_id("acme");
  out.set_id(id);
  out.set_source("test");
  out.set_type(type);
  out.set_time_us(time_us);
  REQUIRE(google::protobuf::util::JsonStringToMessage(data_json, out.mutable_data()).ok());
  return out;
}

MeterDefinition meter(const std::string& name, Aggregation aggregation, const std::string& path,
                      std::vector<std::string> group_by = {}) {
  MeterDefinition out;
  out.name = name;
  out.event_type = "api.call";
  out.aggregation = aggregation;
  if (!path.empty()) out.value = parse_path(path);
  for (const auto& g : group_by) out.group_by.push_back(*parse_path(g));
  return out;
}

// Folds the events into one aggregate the way the metering projection does: unique
// values remembered per window.
double aggregate_of(const MeterDefinition& m, const std::vector<v1::UsageEvent>& events) {
  Aggregate aggregate;
  std::set<std::string> seen;
  for (const auto& e : events) {
    auto c = contribution(m, e);
    REQUIRE(c.has_value());
    if (!c->has_value()) continue;
    const bool first = seen.insert((*c)->unique_value).second;
    fold(aggregate, **c, e.time_us(), e.id(), first);
  }
  return result(aggregate, m.aggregation);
}

}  // namespace

TEST_CASE("usage: two events of 10 and 20 for one user give COUNT 2, SUM 30, MAX 20, UNIQUE_COUNT 1",
          "[domain][usage]") {
  const std::vector<v1::UsageEvent> events = {event("e1", "api.call", R"({"value":10,"user":"u1"})", 1 * kSecond),
                                              event("e2", "api.call", R"({"value":20,"user":"u1"})", 2 * kSecond)};
  CHECK(aggregate_of(meter("calls", Aggregation::count, ""), events) == 2);
  CHECK(aggregate_of(meter("total", Aggregation::sum, "$.value"), events) == 30);
  CHECK(aggregate_of(meter("peak", Aggregation::max, "$.value"), events) == 20);
  CHECK(aggregate_of(meter("least", Aggregation::min, "value"), events) == 10);
  CHECK(aggregate_of(meter("users", Aggregation::unique_count, "$.user"), events) == 1);
}

TEST_CASE("usage: LATEST over 5, 7, 6 is 6, by event time whatever the arrival order", "[domain][usage]") {
  const auto m = meter("gauge", Aggregation::latest, "$.value");
  const std::vector<v1::UsageEvent> in_order = {event("a", "api.call", R"({"value":5})", 1 * kSecond),
                                                event("b", "api.call", R"({"value":7})", 2 * kSecond),
                                                event("c", "api.call", R"({"value":6})", 3 * kSecond)};
  CHECK(aggregate_of(m, in_order) == 6);
  const std::vector<v1::UsageEvent> late_arrival = {in_order[2], in_order[0], in_order[1]};
  CHECK(aggregate_of(m, late_arrival) == 6);
  // Merging windows keeps the later one's latest.
  Aggregate first, second;
  fold(first, Contribution{6, "", ""}, 3 * kSecond, "c", false);
  fold(second, Contribution{9, "", ""}, 1 * kSecond, "x", false);
  merge(first, second);
  CHECK(result(first, Aggregation::latest) == 6);
  CHECK(result(first, Aggregation::sum) == 15);
  CHECK(decode(encode(first)) == first);
}

TEST_CASE("usage: what an event contributes, and why it cannot", "[domain][usage]") {
  const auto sum = meter("tokens", Aggregation::sum, "$.usage.tokens", {"$.model", "region"});
  auto ok = contribution(sum, event("e", "api.call", R"({"usage":{"tokens":12.5},"model":"m1"})", kSecond));
  REQUIRE(ok.has_value());
  REQUIRE(ok->has_value());
  CHECK((*ok)->value == 12.5);
  CHECK((*ok)->group == "$.model=m1\x1fregion=");
  auto other_type = contribution(sum, event("e", "storage.write", R"({"usage":{"tokens":1}})", kSecond));
  REQUIRE(other_type.has_value());
  CHECK_FALSE(other_type->has_value());
  auto text = contribution(sum, event("e", "api.call", R"({"usage":{"tokens":"twelve"}})", kSecond));
  REQUIRE_FALSE(text.has_value());
  CHECK_THAT(text.error(), Catch::Contains("must be a number for SUM"));
  // No value at the path: not this meter's event (another meter of the type may take it).
  auto missing = contribution(sum, event("e", "api.call", R"({"usage":{}})", kSecond));
  REQUIRE(missing.has_value());
  CHECK_FALSE(missing->has_value());
  auto object = contribution(meter("u", Aggregation::unique_count, "$.usage"), event("e", "api.call", R"({"usage":{}})", kSecond));
  REQUIRE_FALSE(object.has_value());

  CHECK_FALSE(parse_path("").has_value());
  CHECK_FALSE(parse_path("$.").has_value());
  CHECK_FALSE(parse_path("a..b").has_value());
  CHECK_FALSE(parse_path("a b").has_value());
  MeterDefinition bad;
  bad.name = "Bad Name";
  bad.aggregation = Aggregation::sum;
  const auto errors = check_definition(bad);
  REQUIRE(errors.size() == 3);
  CHECK(errors[0].field == "name");
  CHECK(errors[1].field == "eventType");
  CHECK(errors[2].field == "valueProperty");
}

TEST_CASE("usage: a meter that keeps transactions takes whole amounts in minor units", "[domain][usage]") {
  auto payments = meter("payments", Aggregation::sum, "$.amountMinor");
  payments.transactions = true;
  CHECK(check_definition(payments).empty());
  auto whole = contribution(payments, event("e", "api.call", R"({"amountMinor":55000})", kSecond));
  REQUIRE(whole.has_value());
  REQUIRE(whole->has_value());
  CHECK((*whole)->value == 55000);
  auto zero = contribution(payments, event("e", "api.call", R"({"amountMinor":0})", kSecond));
  REQUIRE(zero.has_value());
  for (const char* data : {R"({"amountMinor":12.5})", R"({"amountMinor":-1})", R"({"amountMinor":1e300})"}) {
    INFO(data);
    auto refused = contribution(payments, event("e", "api.call", data, kSecond));
    REQUIRE_FALSE(refused.has_value());
    CHECK_THAT(refused.error(), Catch::Contains("whole amount in minor units"));
  }
  // The same value on a meter without transactions is any number.
  CHECK(contribution(meter("volume", Aggregation::sum, "$.amountMinor"),
                     event("e", "api.call", R"({"amountMinor":12.5})", kSecond))
            .has_value());
  for (const auto aggregation : {Aggregation::count, Aggregation::max, Aggregation::unique_count, Aggregation::latest}) {
    auto other = meter("other", aggregation, "$.amountMinor");
    other.transactions = true;
    const auto errors = check_definition(other);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].field == "transactions");
  }
}

TEST_CASE("usage: windows, day and month in the tenant's zone", "[domain][usage]") {
  // 2026-11-25T23:30:00Z
  const int64_t t = int64_t{1795649400} * kSecond;
  CHECK(window_start(Window::minute, t, 3600) == t);
  CHECK(window_start(Window::hour, t + 59 * 60 * kSecond, 0) == t - 30 * 60 * kSecond + 3600 * kSecond);
  // In UTC the 25th; at UTC+1 already the 26th (local civil time).
  const int64_t day_utc = window_start(Window::day, t, 0);
  CHECK(day_utc == int64_t{1795564800} * kSecond);
  CHECK(window_start(Window::day, t, 3600) == day_utc + 86400 * kSecond);
  CHECK(window_start(Window::day, t, -5 * 3600) == day_utc);
  // 2026-01-31T23:30Z is February at UTC+1.
  const int64_t january_end = int64_t{1769902200} * kSecond;
  const int64_t january = int64_t{1767225600} * kSecond;  // 2026-01-01
  const int64_t february = int64_t{1769904000} * kSecond; // 2026-02-01
  CHECK(window_start(Window::month, january_end, 0) == january);
  CHECK(window_start(Window::month, january_end, 3600) == february);
  CHECK(next_window(Window::month, january) == february);
  const int64_t december = int64_t{1796083200} * kSecond;  // 2026-12-01
  CHECK(next_window(Window::month, december) == int64_t{1798761600} * kSecond);  // 2027-01-01
  // Before the epoch, floors still go down.
  CHECK(window_start(Window::minute, -1, 0) == -60 * kSecond);
}

TEST_CASE("usage: events are checked for id, type, source and time bounds", "[domain][usage]") {
  const int64_t now = int64_t{1795649400} * kSecond;
  EventLimits limits;
  auto good = event("e1", "api.call", "{}", now - 10 * kSecond);
  CHECK_FALSE(check_event(good, now, limits).has_value());
  auto no_id = good;
  no_id.clear_id();
  CHECK(check_event(no_id, now, limits)->field == "id");
  auto no_source = good;
  no_source.clear_source();
  CHECK(check_event(no_source, now, limits)->field == "source");
  auto late_ok = good;
  late_ok.set_time_us(now - int64_t{34} * 86400 * kSecond);
  CHECK_FALSE(check_event(late_ok, now, limits).has_value());
  auto too_late = good;
  too_late.set_time_us(now - int64_t{36} * 86400 * kSecond);
  CHECK(check_event(too_late, now, limits)->field == "time");
  auto future = good;
  future.set_time_us(now + 10 * 60 * kSecond);
  CHECK(check_event(future, now, limits)->field == "time");
  CHECK_THAT(check_event(future, now, limits)->message, Catch::Contains("future"));
}

TEST_CASE("GCRA: burst 15 at 30 per 60 s, first request on a fresh key", "[domain][usage][gcra]") {
  GcraState tat;
  const int64_t now = 1000 * kSecond;
  const auto decision = gcra(tat, now, GcraLimit{30, 60 * kSecond, 15});
  CHECK(decision.allowed);
  CHECK(decision.limit == 16);
  CHECK(decision.remaining == 15);
  CHECK(decision.retry_after_us == -1);
  CHECK(decision.reset_after_us == 2 * kSecond);
}

TEST_CASE("GCRA: a limit of 10 per 60 s and a burst of 12 requests: 10 allowed, 2 refused", "[domain][usage][gcra]") {
  GcraState tat;
  const int64_t now = 1000 * kSecond;
  const GcraLimit limit{10, 60 * kSecond, 9};
  int allowed = 0, refused = 0;
  GcraDecision last;
  for (int i = 0; i < 12; ++i) {
    last = gcra(tat, now, limit);
    (last.allowed ? allowed : refused) += 1;
  }
  CHECK(allowed == 10);
  CHECK(refused == 2);
  CHECK(last.remaining == 0);
  CHECK(last.retry_after_us == 6 * kSecond);
  // Refusals consumed nothing: one emission interval later exactly one more passes.
  CHECK(gcra(tat, now + 6 * kSecond, limit).allowed);
  CHECK_FALSE(gcra(tat, now + 6 * kSecond, limit).allowed);
  // A raised limit applies at once, within the same window: 10 of 20 used.
  const auto raised = gcra(tat, now + 6 * kSecond, GcraLimit{20, 60 * kSecond, 19});
  CHECK(raised.allowed);
  CHECK(raised.remaining == 9);
  // Lowered again: what was used counts against the lower limit.
  CHECK_FALSE(gcra(tat, now + 6 * kSecond, limit).allowed);
  // More than the whole burst at once never passes.
  GcraState fresh;
  CHECK(gcra(fresh, now, limit, 11).retry_after_us == -1);
}
