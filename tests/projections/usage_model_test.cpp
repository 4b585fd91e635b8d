// The metering projection over a real embedded log: the issue's known answers through
// the whole path (topic, runner, store, queries), deduplication inside and after the
// window, late and future events, groups, local day windows, platform totals across
// partitions, and tenants that never see each other's usage.
#include <catch2/catch.hpp>

#include <google/protobuf/util/json_util.h>

#include "app/log_options.h"
#include "connectors/log/embedded/embedded_log.h"
#include "projections/projection_runner.h"
#include "projections/usage/usage_model.h"
#include "sagas/metered_usage.h"
#include "test_support.h"
#include "tenantry/v1/usage.pb.h"

using namespace tenantry;
using domain::usage::Aggregation;
using domain::usage::Window;

namespace {

constexpr int64_t kSecond = 1000000;
constexpr int64_t kHour = 3600 * kSecond;
// 2026-11-25T12:00:00Z
constexpr int64_t kNoon = int64_t{1795608000} * kSecond;
constexpr int32_t kPartitions = 4;

domain::usage::MeterDefinition meter(const std::string& name, Aggregation aggregation, const std::string& path,
                                     std::vector<std::string> group_by = {}) {
  domain::usage::MeterDefinition out;
  out.name = name;
  out.event_type = "api.call";
  out.aggregation = aggregation;
  if (!path.empty()) out.value = domain::usage::parse_path(path);
  for (const auto& g : group_by) out.group_by.push_back(*domain::usage::parse_path(g));
  return out;
}

struct Fixture {
  testing::ScratchDir dir;
  std::unique_ptr<log::EventLog> log;
  std::unique_ptr<store::RocksStore> store;
  std::unique_ptr<projections::UsageModel> model;

  explicit Fixture(std::function<int32_t(const std::string&, int64_t)> offsets = nullptr) {
    log::embedded::EmbeddedOptions options;
    options.path = (dir.path() / "log").string();
    auto opened = log::embedded::open_embedded_log(options);
    REQUIRE(opened.has_value());
    log = std::move(*opened);
    for (const auto& topic : app::tenantry_topics(kPartitions)) REQUIRE(log->create_topic(topic).has_value());
    auto stored = store::RocksStore::open({(dir.path() / "store").string(), {projections::kUsageFamily, projections::kOffsetsFamily}});
    REQUIRE(stored.has_value());
    store = std::move(*stored);
    projections::UsageModelOptions model_options;
    model_options.meters = {meter("calls", Aggregation::count, ""),
                            meter("total", Aggregation::sum, "$.value"),
                            meter("peak", Aggregation::max, "$.value"),
                            meter("users", Aggregation::unique_count, "$.user"),
                            meter("gauge", Aggregation::latest, "$.value"),
                            meter("by_model", Aggregation::sum, "$.value", {"$.model"}),
                            meter("payments", Aggregation::sum, "$.amountMinor")};
    model_options.meters.back().transactions = true;
    model_options.partitions = kPartitions;
    model_options.utc_offset = std::move(offsets);
    model = std::make_unique<projections::UsageModel>(model_options);
  }

  void send(const std::string& tenant, const std::string& id, const std::string& data, int64_t time_us,
            int64_t ingested_us = kNoon) {
    v1::UsageEvent event;
    event.set_tenant_id(tenant);
    event.set_id(id);
    event.set_source("test");
    event.set_type("api.call");
    event.set_time_us(time_us);
    event.set_ingested_at_us(ingested_us);
    REQUIRE(google::protobuf::util::JsonStringToMessage(data, event.mutable_data()).ok());
    log::AppendRequest request;
    request.records.push_back(log::Record{"tenantry.usage", tenant, event.SerializeAsString(), {}, std::nullopt});
    REQUIRE(log->append(std::move(request)).has_value());
  }

  void project() {
    projections::RunnerOptions options;
    options.topic = "tenantry.usage";
    options.kind = log::TopicKind::fenced;
    projections::ProjectionRunner runner(*log, *store, *model, options);
    REQUIRE(runner.catch_up().has_value());
  }

  projections::UsageResult query(const std::string& tenant, const std::string& meter_name, Window window = Window::day,
                                 bool by_group = false, int64_t from = kNoon - 48 * kHour, int64_t to = kNoon + 48 * kHour,
                                 int32_t offset = 0) {
    projections::UsageQueries queries(*store, *model);
    projections::UsageQuery q;
    q.tenant_id = tenant;
    q.meter = meter_name;
    q.window = window;
    q.from_us = from;
    q.to_us = to;
    q.by_group = by_group;
    q.from_offset_s = offset;
    q.to_offset_s = offset;
    auto result = queries.query(q);
    REQUIRE(result.has_value());
    return *result;
  }
};

}  // namespace

TEST_CASE("usage projection: the known answers, through the topic and the store", "[projections][usage]") {
  Fixture fixture;
  fixture.send("acme", "e1", R"({"value":10,"user":"u1"})", kNoon - 10 * kSecond);
  fixture.send("acme", "e2", R"({"value":20,"user":"u1"})", kNoon - 5 * kSecond);
  fixture.project();
  CHECK(fixture.query("acme", "calls").total == 2);
  CHECK(fixture.query("acme", "total").total == 30);
  CHECK(fixture.query("acme", "peak").total == 20);
  CHECK(fixture.query("acme", "users").total == 1);

  Fixture latest;
  latest.send("acme", "a", R"({"value":5})", kNoon - 3 * kSecond);
  latest.send("acme", "c", R"({"value":6})", kNoon - 1 * kSecond);  // arrives before b, happened after
  latest.send("acme", "b", R"({"value":7})", kNoon - 2 * kSecond);
  latest.project();
  CHECK(latest.query("acme", "gauge").total == 6);
  CHECK(latest.query("acme", "gauge", Window::minute).total == 6);
}

namespace {
std::vector<int64_t> amounts(const std::vector<projections::UsageTransaction>& listed) {
  std::vector<int64_t> out;
  for (const auto& t : listed) out.push_back(t.amount_minor);
  return out;
}
}  // namespace

TEST_CASE("usage projection: each transaction of a meter that keeps them, once, in time order, per tenant",
          "[projections][usage]") {
  Fixture fixture;
  fixture.send("acme", "p3", R"({"amountMinor":400000})", kNoon - 1 * kHour);  // arrives first, happened last
  fixture.send("acme", "p1", R"({"amountMinor":50000})", kNoon - 3 * kHour);
  fixture.send("acme", "p2", R"({"amountMinor":55000})", kNoon - 2 * kHour);
  fixture.send("acme", "p2", R"({"amountMinor":55000})", kNoon - 2 * kHour, kNoon + kSecond);  // a retry
  fixture.send("acme", "half", R"({"amountMinor":1.5})", kNoon - 2 * kHour);                   // not a whole amount
  fixture.send("acme", "later", R"({"amountMinor":7})", kNoon + 30 * kHour, kNoon + 30 * kHour);
  fixture.send("globex", "g1", R"({"amountMinor":9})", kNoon - 2 * kHour);
  fixture.send("acme", "calls-only", R"({"value":3})", kNoon - 2 * kHour);  // not a payment
  fixture.project();

  projections::UsageQueries queries(*fixture.store, *fixture.model);
  projections::TransactionQuery query;
  query.tenant_id = "acme";
  query.meter = "payments";
  query.from_us = kNoon - 24 * kHour;
  query.to_us = kNoon + 24 * kHour;
  auto listed = queries.transactions(query);
  REQUIRE(listed.has_value());
  CHECK(amounts(*listed) == std::vector<int64_t>{50000, 55000, 400000});
  REQUIRE(listed->size() == 3);
  CHECK((*listed)[0].event_id == "p1");
  CHECK((*listed)[0].time_us == kNoon - 3 * kHour);
  CHECK((*listed)[2].event_id == "p3");
  // The SUM of the same meter is their total.
  CHECK(fixture.query("acme", "payments", Window::hour, false, kNoon - 24 * kHour, kNoon + 24 * kHour).total == 505000);

  // Page by page, with the cursor.
  query.limit = 2;
  auto first = queries.transactions(query);
  REQUIRE(first.has_value());
  CHECK(amounts(*first) == std::vector<int64_t>{50000, 55000});
  query.after = first->back().cursor;
  auto rest = queries.transactions(query);
  REQUIRE(rest.has_value());
  CHECK(amounts(*rest) == std::vector<int64_t>{400000});

  // Another tenant sees its own only; the range is by the events' time.
  query = {};
  query.tenant_id = "globex";
  query.meter = "payments";
  query.from_us = kNoon - 24 * kHour;
  query.to_us = kNoon + 48 * kHour;
  auto theirs = queries.transactions(query);
  REQUIRE(theirs.has_value());
  CHECK(amounts(*theirs) == std::vector<int64_t>{9});
  query.tenant_id = "acme";
  query.from_us = kNoon;
  auto after_noon = queries.transactions(query);
  REQUIRE(after_noon.has_value());
  CHECK(amounts(*after_noon) == std::vector<int64_t>{7});

  // What cannot be listed.
  query.meter = "total";
  CHECK(queries.transactions(query).error().code == log::ErrorCode::invalid_argument);
  query.meter = "nope";
  CHECK(queries.transactions(query).error().code == log::ErrorCode::invalid_argument);
  query.meter = "payments";
  query.after = "not-a-cursor";
  CHECK(queries.transactions(query).error().code == log::ErrorCode::invalid_argument);

  // The billing saga's usage source: units and each transaction of the period.
  auto usage = sagas::metered_usage(queries, *fixture.model);
  auto period_usage = usage("acme", {"payments", "calls", "undefined_here"}, {kNoon - 24 * kHour, kNoon});
  REQUIRE(period_usage.has_value());
  CHECK(period_usage->count("undefined_here") == 0);
  REQUIRE(period_usage->count("payments") == 1);
  const auto& payments = period_usage->at("payments");
  CHECK(payments.units() == 505000);
  CHECK(std::vector<int64_t>(payments.transactions_minor().begin(), payments.transactions_minor().end()) ==
        std::vector<int64_t>{50000, 55000, 400000});
  CHECK(period_usage->at("calls").transactions_minor_size() == 0);
}

TEST_CASE("billing usage source: each minute is counted in the period in which it starts", "[projections][usage]") {
  Fixture fixture;
  constexpr int64_t kMinute = 60 * kSecond;
  const int64_t ingested = kNoon + 3 * kHour;
  int value = 1;
  for (const int64_t at : {kNoon - 90 * kMinute + 20 * kSecond,  // minute 10:30: the period before A
                           kNoon - 89 * kMinute + 5 * kSecond,   // A, first minute
                           kNoon - 45 * kMinute,                 // A, an hour window
                           kNoon - kSecond,                      // A, the same hour
                           kNoon + 30 * kSecond,                 // A: minute 12:00 starts before A ends at 12:00:17
                           kNoon + kMinute,                      // B, first minute
                           kNoon + 90 * kMinute,                 // B, an hour window
                           kNoon + 2 * kHour + 10 * kSecond,     // B, last minute
                           kNoon + 2 * kHour + kMinute}) {       // after B
    fixture.send("acme", "m" + std::to_string(value), R"({"value":)" + std::to_string(value) + "}", at, ingested);
    value *= 2;
  }
  fixture.project();
  projections::UsageQueries queries(*fixture.store, *fixture.model);
  auto usage = sagas::metered_usage(queries, *fixture.model);
  auto units = [&](const std::string& meter, int64_t from, int64_t to) {
    auto got = usage("acme", {meter}, {from, to});
    REQUIRE(got.has_value());
    return got->at(meter).units();
  };
  const int64_t a_start = kNoon - 90 * kMinute + 17 * kSecond;
  const int64_t boundary = kNoon + 17 * kSecond;
  const int64_t b_end = kNoon + 2 * kHour + 17 * kSecond;
  CHECK(units("total", a_start, boundary) == 2 + 4 + 8 + 16);
  CHECK(units("total", boundary, b_end) == 32 + 64 + 128);
  CHECK(units("peak", a_start, boundary) == 16);
  CHECK(units("peak", boundary, b_end) == 128);
  CHECK(units("calls", a_start, boundary) + units("calls", boundary, b_end) == 7);
  // A period shorter than an hour is minutes only.
  CHECK(units("total", boundary, kNoon + 20 * kMinute) == 32);
  CHECK(units("total", kNoon + 20 * kMinute, kNoon + 21 * kMinute) == 0);
}

TEST_CASE("usage projection: later batches and a rebuild in the same process count from what is stored",
          "[projections][usage]") {
  Fixture fixture;
  for (int i = 0; i < 20; ++i) fixture.send("acme", "a" + std::to_string(i), R"({"value":1})", kNoon - kSecond);
  fixture.project();
  for (int i = 0; i < 5; ++i) fixture.send("acme", "b" + std::to_string(i), R"({"value":2})", kNoon - kSecond);
  fixture.project();
  CHECK(fixture.query("acme", "total").total == 30);
  // A producer that chose the partition itself: refused, never counted by a thread that
  // does not own the tenant.
  const int32_t own = log::partition_for_key("acme", kPartitions);
  v1::UsageEvent stray;
  stray.set_tenant_id("acme");
  stray.set_id("stray");
  stray.set_source("test");
  stray.set_type("api.call");
  stray.set_time_us(kNoon - kSecond);
  stray.set_ingested_at_us(kNoon);
  (*stray.mutable_data()->mutable_fields())["value"].set_number_value(100);
  log::AppendRequest request;
  request.records.push_back(log::Record{"tenantry.usage", "acme", stray.SerializeAsString(), {}, (own + 1) % kPartitions});
  REQUIRE(fixture.log->append(std::move(request)).has_value());
  fixture.project();
  CHECK(fixture.query("acme", "total").total == 30);
  CHECK(fixture.model->counters().refused == 1);

  projections::RunnerOptions options;
  options.topic = "tenantry.usage";
  options.kind = log::TopicKind::fenced;
  projections::ProjectionRunner runner(*fixture.log, *fixture.store, *fixture.model, options);
  REQUIRE(runner.rebuild().has_value());
  REQUIRE(runner.catch_up().has_value());
  CHECK(fixture.query("acme", "total").total == 30);
  CHECK(fixture.query("acme", "calls", Window::minute).total == 25);
}

TEST_CASE("usage projection: a retried event counts once, within the dedup window", "[projections][usage]") {
  Fixture fixture;
  fixture.send("acme", "e1", R"({"value":10})", kNoon - kSecond);
  fixture.project();
  // The client retries after success, before and after the projection caught up.
  fixture.send("acme", "e1", R"({"value":10})", kNoon - kSecond, kNoon + kSecond);
  fixture.send("acme", "e1", R"({"value":10})", kNoon - kSecond, kNoon + 2 * kSecond);
  fixture.project();
  CHECK(fixture.query("acme", "total").total == 10);
  CHECK(fixture.model->counters().duplicates == 2);
  // Another tenant's event with the same id is its own.
  fixture.send("globex", "e1", R"({"value":1})", kNoon - kSecond);
  // Past the window (24 h after it was first seen), the same id is a new event.
  fixture.send("acme", "e1", R"({"value":10})", kNoon + 24 * kHour, kNoon + 25 * kHour);
  fixture.project();
  CHECK(fixture.query("acme", "total").total == 20);
  CHECK(fixture.query("globex", "total").total == 1);
}

TEST_CASE("usage projection: a batch that was never written is applied once on the retry", "[projections][usage]") {
  Fixture fixture;
  for (int i = 0; i < 50; ++i) fixture.send("acme", "e" + std::to_string(i), R"({"value":2})", kNoon - kSecond);
  // A first pass stages everything and dies before its write: nothing of it stays.
  {
    auto reader = log::AcceptedReader::open(*fixture.log, "tenantry.usage", log::partition_for_key("acme", kPartitions),
                                            0, log::TopicKind::fenced);
    REQUIRE(reader.has_value());
    auto batch = (*reader)->read(1000, std::chrono::milliseconds(1000));
    REQUIRE(batch.has_value());
    auto staged = fixture.store->batch();
    for (const auto& record : batch->records) REQUIRE(fixture.model->apply(record, staged).has_value());
  }
  fixture.project();
  CHECK(fixture.query("acme", "total").total == 100);
  CHECK(fixture.query("acme", "calls").total == 50);
}

TEST_CASE("usage projection: late events count in their own window, too old or too far ahead do not",
          "[projections][usage]") {
  Fixture fixture;
  fixture.send("acme", "yesterday", R"({"value":3})", kNoon - 24 * kHour);
  fixture.send("acme", "today", R"({"value":4})", kNoon);
  fixture.send("acme", "ancient", R"({"value":100})", kNoon - 40 * 24 * kHour);
  fixture.send("acme", "future", R"({"value":100})", kNoon + kHour);
  fixture.project();
  auto days = fixture.query("acme", "total");
  REQUIRE(days.rows.size() == 2);
  CHECK(days.rows[0].value == 3);
  CHECK(days.rows[1].value == 4);
  CHECK(days.total == 7);
  CHECK(fixture.model->counters().refused == 2);
}

TEST_CASE("usage projection: groups, unique values across windows, and platform totals", "[projections][usage]") {
  Fixture fixture;
  const std::vector<std::string> tenants = {"acme", "globex", "initech", "umbrella", "hooli", "soylent"};
  for (const auto& tenant : tenants) {
    fixture.send(tenant, "a", R"({"value":1,"model":"small","user":"shared-user"})", kNoon - 24 * kHour);
    fixture.send(tenant, "b", R"({"value":2,"model":"large","user":"shared-user"})", kNoon);
    fixture.send(tenant, "c", R"({"value":4,"model":"large","user":")" + tenant + R"("})", kNoon);
  }
  fixture.project();
  auto grouped = fixture.query("acme", "by_model", Window::month, true);
  REQUIRE(grouped.rows.size() == 2);
  CHECK(grouped.rows[0].group == "$.model=large");
  CHECK(grouped.rows[0].value == 6);
  CHECK(grouped.rows[1].group == "$.model=small");
  CHECK(grouped.rows[1].value == 1);
  // Distinct users: the shared one counts once over both days.
  auto users = fixture.query("acme", "users");
  REQUIRE(users.rows.size() == 2);
  CHECK(users.rows[0].value == 1);
  CHECK(users.rows[1].value == 2);
  CHECK(users.total == 2);
  // Platform totals add every tenant, whatever partition it lives in.
  CHECK(fixture.query("", "total").total == 7.0 * static_cast<double>(tenants.size()));
  CHECK(fixture.query("", "users").total == 1 + static_cast<double>(tenants.size()));
  // A tenant's queries never see another's events.
  for (const auto& tenant : tenants) CHECK(fixture.query(tenant, "total").total == 7);
  CHECK(fixture.query("nobody", "total").total == 0);
  CHECK(fixture.query("nobody", "total").rows.empty());
}

TEST_CASE("usage projection: day windows follow the tenant's zone", "[projections][usage]") {
  Fixture fixture([](const std::string& tenant, int64_t) { return tenant == "tokyo" ? 9 * 3600 : 0; });
  // 2026-11-25T20:00Z is the 26th in Tokyo.
  for (const std::string tenant : {"tokyo", "london"}) {
    fixture.send(tenant, "late", R"({"value":1})", kNoon + 8 * kHour, kNoon + 8 * kHour);
  }
  fixture.project();
  const int64_t day_25 = domain::usage::window_start(Window::day, kNoon, 0);
  auto tokyo = fixture.query("tokyo", "total", Window::day, false, kNoon - 48 * kHour, kNoon + 48 * kHour, 9 * 3600);
  REQUIRE(tokyo.rows.size() == 1);
  CHECK(tokyo.rows[0].window_start == day_25 + 24 * kHour);
  auto london = fixture.query("london", "total");
  REQUIRE(london.rows.size() == 1);
  CHECK(london.rows[0].window_start == day_25);
}

TEST_CASE("usage projection: unknown meters and empty ranges are refused", "[projections][usage]") {
  Fixture fixture;
  projections::UsageQueries queries(*fixture.store, *fixture.model);
  projections::UsageQuery q;
  q.tenant_id = "acme";
  q.meter = "nope";
  q.from_us = kNoon;
  q.to_us = kNoon + kHour;
  auto unknown = queries.query(q);
  REQUIRE_FALSE(unknown.has_value());
  CHECK(unknown.error().code == log::ErrorCode::invalid_argument);
  q.meter = "total";
  q.to_us = kNoon;
  CHECK_FALSE(queries.query(q).has_value());
  q.window = Window::minute;
  q.from_us = 0;
  q.to_us = kNoon;
  auto wide = queries.query(q);
  REQUIRE_FALSE(wide.has_value());
  CHECK_THAT(wide.error().message, Catch::Contains("100,000"));
}
