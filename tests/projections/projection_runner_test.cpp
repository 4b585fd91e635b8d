// The projection runner on both engines: offsets stored with the model's keys,
// restart without double counting, rebuild from offset 0, lag, violations.
#include <catch2/catch.hpp>

#include "connectors/log/fenced_writer.h"
#include "log/embedded_harness.h"
#include "log/kafka_harness.h"
#include "projections/projection_runner.h"
#include "test_support.h"

using namespace tenantry;
using namespace std::chrono_literals;

namespace {

// Counts events per tenant and remembers the last payload: enough to see any event
// applied twice, skipped or reordered.
class CountingModel final : public projections::ReadModel {
 public:
  std::string name() const override { return "counts"; }
  log::Result<void> apply(const log::AcceptedRecord& event, store::StoreBatch& batch) override {
    const std::string& tenant = event.envelope.tenant_id();
    auto current = batch.get("counts", tenant);
    if (!current) return std::unexpected(current.error());
    const int64_t count = current->has_value() ? std::stoll(current->value().substr(0, current->value().find('|'))) : 0;
    batch.put("counts", tenant, std::to_string(count + 1) + "|" + event.envelope.payload());
    return {};
  }
};

struct Fixture {
  explicit Fixture(log::EventLog& log) : log(log) {
    auto opened = store::RocksStore::open({(dir.path() / "store").string(), {"counts", projections::kOffsetsFamily}});
    REQUIRE(opened.has_value());
    store = std::move(*opened);
    REQUIRE(log.create_topic({"tenantry.events", 3}).has_value());
    for (int32_t p = 0; p < 3; ++p) {
      auto writer = log::FencedWriter::claim(log, "tenantry.events", p, "test", 1);
      REQUIRE(writer.has_value());
      writers.push_back(std::move(*writer));
    }
  }

  void emit(const std::string& tenant, int events) {
    auto& writer = writers[static_cast<size_t>(log::partition_for_key(tenant, 3))];
    for (int i = 0; i < events; ++i) {
      log::WriterAppend append;
      log::EventDraft draft;
      draft.envelope.set_tenant_id(tenant);
      draft.envelope.set_event_type("tenantry.v1.TestEvent");
      draft.envelope.set_payload(tenant + "#" + std::to_string(++emitted[tenant]));
      append.events.push_back(std::move(draft));
      REQUIRE(writer->append(std::move(append)).has_value());
    }
  }

  std::string count_of(const std::string& tenant) {
    auto value = store->get("counts", tenant);
    REQUIRE(value.has_value());
    return value->value_or("");
  }

  log::EventLog& log;
  testing::ScratchDir dir;
  std::unique_ptr<store::RocksStore> store;
  std::vector<std::unique_ptr<log::FencedWriter>> writers;
  std::map<std::string, int> emitted;
};

}  // namespace

TEMPLATE_TEST_CASE("projection runner: applies each event once across restarts and rebuilds", "[projections]",
                   EmbeddedHarness, KafkaHarness) {
  TestType harness;
  Fixture fixture(harness.log());
  CountingModel model;
  for (int t = 0; t < 6; ++t) fixture.emit("tenant-" + std::to_string(t), 5);

  {
    projections::ProjectionRunner runner(harness.log(), *fixture.store, model);
    auto applied = runner.catch_up();
    REQUIRE(applied.has_value());
    CHECK(*applied == 30);
    CHECK(runner.caught_up());
    CHECK(runner.violations().empty());
  }
  CHECK(fixture.count_of("tenant-0") == "5|tenant-0#5");

  // A new runner resumes from the stored offsets: only the new events count.
  fixture.emit("tenant-0", 2);
  fixture.emit("tenant-5", 1);
  {
    projections::ProjectionRunner runner(harness.log(), *fixture.store, model);
    auto applied = runner.catch_up();
    REQUIRE(applied.has_value());
    CHECK(*applied == 3);
    CHECK(fixture.count_of("tenant-0") == "7|tenant-0#7");
    CHECK(fixture.count_of("tenant-5") == "6|tenant-5#6");

    // A rebuild replays from offset 0 and lands on the same state.
    REQUIRE(runner.rebuild().has_value());
    CHECK(fixture.count_of("tenant-0").empty());
    auto replayed = runner.catch_up();
    REQUIRE(replayed.has_value());
    CHECK(*replayed == 33);
    CHECK(fixture.count_of("tenant-0") == "7|tenant-0#7");
    CHECK(fixture.count_of("tenant-3") == "5|tenant-3#5");
  }
}

TEMPLATE_TEST_CASE("projection runner: threads tail the log and report lag", "[projections]", EmbeddedHarness,
                   KafkaHarness) {
  TestType harness;
  Fixture fixture(harness.log());
  CountingModel model;
  projections::ProjectionRunner runner(harness.log(), *fixture.store, model, {"tenantry.events", 100, 50ms, false});
  REQUIRE(runner.start().has_value());
  fixture.emit("acme", 40);
  fixture.emit("globex", 10);
  REQUIRE(testing::eventually(20s, [&] {
    std::this_thread::yield();
    return runner.caught_up() && fixture.count_of("acme").starts_with("40|");
  }));
  int64_t applied = 0;
  for (const auto& lag : runner.lag()) {
    CHECK(lag.applied_offset == lag.end_offset);
    applied += lag.applied_offset;
  }
  CHECK(applied >= 50);  // 50 events plus each partition's writer claim
  runner.stop();
  CHECK_FALSE(runner.failure().has_value());
}

TEST_CASE("projection runner: a violating record is reported and never applied", "[projections]") {
  EmbeddedHarness harness;
  Fixture fixture(harness.log());
  CountingModel model;
  fixture.emit("acme", 1);
  const int32_t p = log::partition_for_key("acme", 3);
  log::AppendRequest garbage;
  garbage.records.push_back(log::Record{"tenantry.events", "acme", "not an envelope", {{"tenantry-epoch", "1"}}, p});
  REQUIRE(harness.log().append(std::move(garbage)).has_value());
  fixture.emit("acme", 1);

  projections::ProjectionRunner runner(harness.log(), *fixture.store, model);
  REQUIRE(runner.catch_up().has_value());
  CHECK(fixture.count_of("acme") == "2|acme#2");
  auto violations = runner.violations();
  REQUIRE(violations.size() == 1);
  CHECK(violations[0].kind == log::ViolationKind::corrupt_record);
  CHECK(violations[0].partition == p);
}

TEST_CASE("store batches: indexed ones read their own writes, unindexed ones the store alone", "[projections][store]") {
  testing::ScratchDir dir;
  auto store = store::RocksStore::open({(dir.path() / "store").string(), {"counts"}});
  REQUIRE(store.has_value());
  auto seed = (*store)->batch();
  seed.put("counts", "a", "1");
  REQUIRE((*store)->write(seed, false).has_value());

  for (const bool indexed : {true, false}) {
    INFO("indexed " << indexed);
    const std::string stored = (*store)->get("counts", "a")->value_or("");
    auto batch = indexed ? (*store)->batch() : (*store)->unindexed_batch();
    batch.put("counts", "a", indexed ? "2" : "3");
    batch.put("counts", "b", "x");
    batch.erase("counts", "b");
    CHECK(batch.operations() == 3);
    auto a = batch.get("counts", "a");
    REQUIRE(a.has_value());
    CHECK(**a == (indexed ? std::string("2") : stored));  // the unindexed batch does not see its put
    REQUIRE((*store)->write(batch, false).has_value());
    CHECK((*store)->get("counts", "a")->value_or("") == (indexed ? "2" : "3"));
    CHECK(!(*store)->get("counts", "b")->has_value());
  }
  // A family the store does not have is refused at write time, unindexed too.
  auto bad = (*store)->unindexed_batch();
  bad.put("nope", "k", "v");
  CHECK(!(*store)->write(bad, false).has_value());
}
