// Kafka-engine tests: partition placement against librdkafka, validation,
// transactions, and group rebalancing against `tenantry devbroker` running in
// another process.
#include <librdkafka/rdkafka.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <map>
#include <set>
#include <thread>

#include "child_process.h"
#include "log/kafka_harness.h"
#include "test_support.h"

namespace {

using namespace tenantry::log;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

using tenantry::testing::eventually;

// The value of a result that must have succeeded.
template <class T>
T ok(Result<T> result) {
  if (!result) FAIL(result.error().message);
  return std::move(*result);
}

template <class T>
std::optional<ErrorCode> error_code(const Result<T>& result) {
  if (result) return std::nullopt;
  return result.error().code;
}

Record keyed(std::string topic, std::string key, std::string value) {
  Record r;
  r.topic = std::move(topic);
  r.key = std::move(key);
  r.value = std::move(value);
  return r;
}

Record at(std::string topic, int32_t partition, std::string value) {
  Record r = keyed(std::move(topic), "tenant-" + std::to_string(partition), std::move(value));
  r.partition = partition;
  return r;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<StoredRecord> read_all(EventLog& log, const std::string& topic, int32_t partition) {
  auto reader = log.open_reader(topic, partition, 0);
  REQUIRE(reader);
  auto end = log.end_offset(topic, partition);
  REQUIRE(end);
  std::vector<StoredRecord> out;
  while (static_cast<int64_t>(out.size()) < *end) {
    auto batch = (*reader)->read(1000, 5s);
    REQUIRE(batch);
    if (batch->empty()) break;
    out.insert(out.end(), batch->begin(), batch->end());
  }
  return out;
}

// --- A raw librdkafka producer with the murmur2_random partitioner ----------

struct RawDelivery {
  std::vector<int32_t> partitions;
  int errors = 0;
};

void raw_delivery_report(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  auto* delivery = static_cast<RawDelivery*>(opaque);
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++delivery->errors;
    return;
  }
  delivery->partitions[reinterpret_cast<uintptr_t>(message->_private)] = message->partition;
}

// Produces `keys` with no explicit partition; returns where librdkafka put each.
std::vector<int32_t> raw_produce_keys(const std::string& bootstrap, const std::string& topic,
                                      const std::vector<std::string>& keys) {
  RawDelivery delivery;
  delivery.partitions.assign(keys.size(), -1);
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  REQUIRE(rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), errstr, sizeof errstr) ==
          RD_KAFKA_CONF_OK);
  REQUIRE(rd_kafka_conf_set(conf, "partitioner", "murmur2_random", errstr, sizeof errstr) ==
          RD_KAFKA_CONF_OK);
  rd_kafka_conf_set_dr_msg_cb(conf, raw_delivery_report);
  rd_kafka_conf_set_opaque(conf, &delivery);
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  REQUIRE(producer != nullptr);
  for (size_t i = 0; i < keys.size(); ++i) {
    const auto err = rd_kafka_producev(
        producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(keys[i].data(), keys[i].size()), RD_KAFKA_V_VALUE(const_cast<char*>("v"), 1),
        RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(i))), RD_KAFKA_V_END);
    REQUIRE(err == RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  REQUIRE(rd_kafka_flush(producer, 30000) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(producer);
  REQUIRE(delivery.errors == 0);
  return delivery.partitions;
}

std::vector<std::string> sample_keys() {
  std::vector<std::string> keys;
  // Every tail length (0-3 bytes past a 4-byte block) and typical tenant ids.
  for (int i = 0; i < 300; ++i) keys.push_back("tenant-" + std::to_string(i));
  for (int length = 1; length <= 17; ++length) keys.push_back(std::string(length, 'k'));
  keys.push_back(std::string("\x00\x01\x02\xff\xfe", 5));
  keys.push_back("c0a8f3e2-6b1d-4c1e-9a7f-2f4b1f6a9d10");
  return keys;
}

// --- The devbroker in another process ---------------------------------------

// `tenantry devbroker` as a child process: the mock cluster then lives in
// another process, behind real sockets only.
class Devbroker {
 public:
  explicit Devbroker(const std::vector<std::string>& topic_args)
      : process_(argv(topic_args)) {
    const std::string prefix = "bootstrap.servers=";
    auto line = process_.wait_for_line(prefix, 30s);
    INFO(process_.stderr_text());
    REQUIRE(line.has_value());
    REQUIRE(line->rfind(prefix, 0) == 0);
    bootstrap_ = line->substr(prefix.size());
  }

  const std::string& bootstrap_servers() const { return bootstrap_; }

  // Stops it as a user would (SIGTERM) and returns its exit code.
  int stop() {
    process_.signal(SIGTERM);
    return process_.wait();
  }

 private:
  static std::vector<std::string> argv(const std::vector<std::string>& topic_args) {
    std::vector<std::string> args = {TENANTRY_BINARY, "devbroker"};
    for (const auto& topic : topic_args) {
      args.push_back("--topic");
      args.push_back(topic);
    }
    return args;
  }

  tenantry::testing::ChildProcess process_;
  std::string bootstrap_;
};

// --- Consumer-group bookkeeping ---------------------------------------------

using Position = std::pair<int32_t, int64_t>;  // partition, offset

// Records whose offsets a member committed successfully: each must be
// committed exactly once across every member and rebalance.
struct CommittedProgress {
  std::set<Position> committed;
  std::vector<Position> repeated;

  // Polls `member` once and commits what it got; returns the records polled.
  size_t poll_and_commit(GroupConsumer& member, size_t max_records) {
    auto batch = member.poll(max_records, 50ms);
    REQUIRE(batch);
    if (batch->empty()) return 0;
    std::map<std::pair<std::string, int32_t>, int64_t> next;
    for (const auto& r : *batch) {
      auto& n = next[{r.topic, r.partition}];
      n = std::max(n, r.offset + 1);
    }
    std::vector<PartitionOffset> offsets;
    for (const auto& [tp, offset] : next) offsets.push_back({tp.first, tp.second, offset});
    // A commit can fail when a rebalance took the partition meanwhile; those
    // records are then redelivered to the new owner, which is correct.
    if (member.commit(offsets)) {
      for (const auto& r : *batch) {
        if (!committed.insert({r.partition, r.offset}).second) {
          repeated.push_back({r.partition, r.offset});
        }
      }
    }
    return batch->size();
  }
};

std::set<int32_t> partitions_of(const std::vector<TopicPartition>& assignment) {
  std::set<int32_t> out;
  for (const auto& tp : assignment) out.insert(tp.partition);
  return out;
}

void append_spread(EventLog& log, const std::string& topic, int32_t partitions, int count) {
  AppendRequest request;
  for (int i = 0; i < count; ++i) {
    request.records.push_back(at(topic, i % partitions, "value-" + std::to_string(i)));
  }
  auto appended = log.append(std::move(request));
  REQUIRE(appended);
}

}  // namespace

// Kafka's own murmur2 vectors are checked in tests/log/murmur2_test.cpp; here the
// check is that librdkafka, the engine and partition_for_key agree on placement.
TEST_CASE("librdkafka's murmur2_random places keys where partition_for_key does", "[kafka]") {
  KafkaHarness harness;
  const auto keys = sample_keys();
  for (int32_t partitions : {1, 3, 7, 16, 32}) {
    const std::string topic = "placement-" + std::to_string(partitions);
    REQUIRE(harness.log().create_topic({topic, partitions}));
    const auto placed = raw_produce_keys(harness.bootstrap_servers(), topic, keys);
    for (size_t i = 0; i < keys.size(); ++i) {
      INFO("key #" << i << " '" << keys[i] << "', " << partitions << " partitions");
      CHECK(placed[i] == partition_for_key(keys[i], partitions));
    }

    // The engine, given no partition, agrees as well.
    AppendRequest request;
    for (const auto& key : keys) request.records.push_back(keyed(topic, key, "engine"));
    auto appended = harness.log().append(std::move(request));
    REQUIRE(appended);
    for (size_t i = 0; i < keys.size(); ++i) {
      CHECK(appended->positions[i].partition == placed[i]);
    }
  }
}

TEST_CASE("kafka append and read back records with headers and timestamps", "[kafka]") {
  KafkaHarness harness;
  auto& log = harness.log();
  REQUIRE(log.create_topic({"events", 4}));

  const int64_t before_ms = now_ms();
  AppendRequest request;
  for (int i = 0; i < 10; ++i) {
    Record r = at("events", i % 2, "value-" + std::to_string(i));
    r.headers = {{"type", "created"}, {"seq", std::to_string(i)}};
    request.records.push_back(std::move(r));
  }
  auto appended = log.append(std::move(request));
  REQUIRE(appended);
  const int64_t after_ms = now_ms();
  REQUIRE(appended->positions.size() == 10);
  for (int i = 0; i < 10; ++i) {
    CHECK(appended->positions[i].partition == i % 2);
    CHECK(appended->positions[i].offset == i / 2);  // contiguous from 0, in request order
  }
  CHECK(ok(log.end_offset("events", 0)) == 5);
  CHECK(ok(log.end_offset("events", 1)) == 5);
  CHECK(ok(log.end_offset("events", 2)) == 0);

  const auto records = read_all(log, "events", 1);
  REQUIRE(records.size() == 5);
  for (int j = 0; j < 5; ++j) {
    const auto& r = records[j];
    CHECK(r.topic == "events");
    CHECK(r.partition == 1);
    CHECK(r.offset == j);
    CHECK(r.key == "tenant-1");
    CHECK(r.value == "value-" + std::to_string(2 * j + 1));
    REQUIRE(r.header("seq") != nullptr);
    CHECK(*r.header("seq") == std::to_string(2 * j + 1));
    CHECK(*r.header("type") == "created");
    CHECK(r.timestamp_ms >= before_ms - 1000);  // allow for clock granularity
    CHECK(r.timestamp_ms <= after_ms + 1000);
  }
}

TEST_CASE("kafka append_async pipelines and keeps call order per partition", "[kafka]") {
  KafkaHarness harness;
  auto& log = harness.log();
  REQUIRE(log.create_topic({"pipeline", 2}));

  constexpr int kAppends = 200;
  std::mutex mutex;
  std::condition_variable all_done;
  std::vector<int64_t> first_offset(kAppends, -1);
  int completed = 0;
  int failed = 0;
  for (int i = 0; i < kAppends; ++i) {
    AppendRequest request;
    request.records = {at("pipeline", 0, "a" + std::to_string(i)),
                       at("pipeline", 0, "b" + std::to_string(i))};
    log.append_async(std::move(request), [&, i](Result<AppendResult> result) {
      std::lock_guard lock(mutex);
      if (result) {
        first_offset[i] = result->positions[0].offset;
      } else {
        ++failed;
      }
      if (++completed == kAppends) all_done.notify_one();
    });
  }
  std::unique_lock lock(mutex);
  REQUIRE(all_done.wait_for(lock, 30s, [&] { return completed == kAppends; }));
  CHECK(failed == 0);
  for (int i = 0; i < kAppends; ++i) CHECK(first_offset[i] == 2 * i);
}

TEST_CASE("kafka create_topic is idempotent and rejects another partition count", "[kafka]") {
  KafkaHarness harness;
  auto& log = harness.log();
  REQUIRE(log.create_topic({"orders", 3}));
  REQUIRE(log.create_topic({"orders", 3}));
  CHECK(ok(log.partition_count("orders")) == 3);

  auto mismatch = log.create_topic({"orders", 5});
  REQUIRE_FALSE(mismatch);
  CHECK(mismatch.error().code == ErrorCode::invalid_argument);

  auto unknown = log.partition_count("no-such-topic");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == ErrorCode::unknown_topic);
}

TEST_CASE("kafka rejects invalid appends without producing anything", "[kafka]") {
  KafkaHarness harness;
  auto& log = harness.log();
  REQUIRE(log.create_topic({"valid", 2}));

  SECTION("unknown topic") {
    AppendRequest request;
    request.records = {at("valid", 0, "good"), keyed("missing", "k", "bad")};
    auto result = log.append(std::move(request));
    REQUIRE_FALSE(result);
    CHECK(result.error().code == ErrorCode::unknown_topic);
    // Not auto-created by the attempt either.
    CHECK(error_code(log.partition_count("missing")) == ErrorCode::unknown_topic);
  }
  SECTION("partition out of range") {
    AppendRequest request;
    request.records = {at("valid", 0, "good"), at("valid", 2, "bad")};
    auto result = log.append(std::move(request));
    REQUIRE_FALSE(result);
    CHECK(result.error().code == ErrorCode::invalid_argument);
  }
  SECTION("negative partition") {
    AppendRequest request;
    request.records = {at("valid", 1, "good"), at("valid", -1, "bad")};
    auto result = log.append(std::move(request));
    REQUIRE_FALSE(result);
    CHECK(result.error().code == ErrorCode::invalid_argument);
  }
  SECTION("empty topic name") {
    AppendRequest request;
    request.records = {at("valid", 0, "good"), keyed("", "k", "bad")};
    auto result = log.append(std::move(request));
    REQUIRE_FALSE(result);
    CHECK(result.error().code == ErrorCode::invalid_argument);
  }
  SECTION("offsets of an unknown topic") {
    AppendRequest request;
    request.records = {at("valid", 0, "good")};
    request.group = "g";
    request.offsets = {{"missing", 0, 1}};
    auto result = log.append(std::move(request));
    REQUIRE_FALSE(result);
    CHECK(result.error().code == ErrorCode::unknown_topic);
  }
  SECTION("offsets without a group") {
    AppendRequest request;
    request.records = {at("valid", 0, "good")};
    request.offsets = {{"valid", 0, 1}};
    auto result = log.append(std::move(request));
    REQUIRE_FALSE(result);
    CHECK(result.error().code == ErrorCode::invalid_argument);
  }
  SECTION("record larger than message.max.bytes") {
    AppendRequest request;
    request.records = {at("valid", 0, "good"), at("valid", 1, std::string(2'000'000, 'x'))};
    auto result = log.append(std::move(request));
    REQUIRE_FALSE(result);
    CHECK(result.error().code == ErrorCode::invalid_argument);
  }
  CHECK(ok(log.end_offset("valid", 0)) == 0);
  CHECK(ok(log.end_offset("valid", 1)) == 0);

  // Readers validate too.
  CHECK(error_code(log.open_reader("valid", 2, 0)) == ErrorCode::invalid_argument);
  CHECK(error_code(log.open_reader("missing", 0, 0)) == ErrorCode::unknown_topic);
  CHECK(error_code(log.open_reader("valid", 0, 1)) == ErrorCode::invalid_argument);
  CHECK(error_code(log.subscribe("g", {"missing"})) == ErrorCode::unknown_topic);
}

TEST_CASE("kafka bad configuration names the property at fault", "[kafka]") {
  kafka::KafkaConfig config;
  config.bootstrap_servers = "127.0.0.1:1";  // never contacted: configuration fails first

  SECTION("unknown property") {
    config.properties = {{"no.such.property", "1"}};
    auto log = kafka::open_kafka_log(config);
    REQUIRE_FALSE(log);
    CHECK(log.error().code == ErrorCode::invalid_argument);
    CHECK_THAT(log.error().message, Catch::Contains("no.such.property"));
  }
  SECTION("invalid value") {
    config.properties = {{"linger.ms", "soon"}};
    auto log = kafka::open_kafka_log(config);
    REQUIRE_FALSE(log);
    CHECK(log.error().code == ErrorCode::invalid_argument);
    CHECK_THAT(log.error().message, Catch::Contains("linger.ms"));
  }
  SECTION("conflicts with idempotence") {
    config.properties = {{"acks", "1"}};
    auto log = kafka::open_kafka_log(config);
    REQUIRE_FALSE(log);
    CHECK(log.error().code == ErrorCode::invalid_argument);
    CHECK_THAT(log.error().message, Catch::Contains("acks"));
  }
  SECTION("no bootstrap servers") {
    config.bootstrap_servers.clear();
    auto log = kafka::open_kafka_log(config);
    REQUIRE_FALSE(log);
    CHECK(log.error().code == ErrorCode::invalid_argument);
    CHECK_THAT(log.error().message, Catch::Contains("bootstrap.servers"));
  }
}

TEST_CASE("kafka commits group offsets after the records without transactions", "[kafka]") {
  KafkaHarness harness;
  auto& log = harness.log();
  REQUIRE(log.create_topic({"in", 2}));
  REQUIRE(log.create_topic({"out", 2}));
  CHECK_FALSE(ok(log.committed_offset("worker", "in", 0)).has_value());

  AppendRequest request;
  request.records = {at("out", 1, "decided")};
  request.group = "worker";
  request.offsets = {{"in", 0, 7}, {"in", 1, 3}};
  REQUIRE(log.append(std::move(request)));
  CHECK(ok(log.committed_offset("worker", "in", 0)) == std::optional<int64_t>(7));
  CHECK(ok(log.committed_offset("worker", "in", 1)) == std::optional<int64_t>(3));

  // Offsets alone are a plain commit.
  AppendRequest commit_only;
  commit_only.group = "worker";
  commit_only.offsets = {{"in", 0, 9}};
  auto committed = log.append(std::move(commit_only));
  REQUIRE(committed);
  CHECK(committed->positions.empty());
  CHECK(ok(log.committed_offset("worker", "in", 0)) == std::optional<int64_t>(9));
}

TEST_CASE("kafka transactional append commits records on the mock cluster", "[kafka]") {
  // The mock writes no transaction markers and does not store offsets sent
  // with a transaction: only the committed records are checked.
  KafkaHarness harness({.brokers = 3, .transactional_id = "tenantry-test-txn"});
  auto& log = harness.log();
  REQUIRE(log.create_topic({"ledger", 2}));

  for (int batch = 0; batch < 3; ++batch) {
    AppendRequest request;
    for (int i = 0; i < 4; ++i) {
      request.records.push_back(at("ledger", i % 2, "b" + std::to_string(batch) + "-" +
                                                        std::to_string(i)));
    }
    if (batch == 2) {
      request.group = "projector";
      request.offsets = {{"ledger", 0, 2}};
    }
    auto appended = log.append(std::move(request));
    REQUIRE(appended);
    CHECK(appended->positions[0].offset == 2 * batch);
  }

  // A request failing validation aborts nothing and leaves the producer usable.
  AppendRequest bad;
  bad.records = {at("ledger", 0, "x"), at("ledger", 9, "y")};
  auto rejected = log.append(std::move(bad));
  REQUIRE_FALSE(rejected);
  CHECK(rejected.error().code == ErrorCode::invalid_argument);
  REQUIRE(log.append(AppendRequest{{at("ledger", 1, "after")}, {}, {}}));

  const auto p0 = read_all(log, "ledger", 0);
  const auto p1 = read_all(log, "ledger", 1);
  REQUIRE(p0.size() == 6);
  REQUIRE(p1.size() == 7);
  CHECK(p0[0].value == "b0-0");
  CHECK(p0[5].value == "b2-2");
  CHECK(p1[6].value == "after");
}

TEST_CASE("kafka reader waits for an append instead of returning early", "[kafka]") {
  KafkaHarness harness;
  auto& log = harness.log();
  REQUIRE(log.create_topic({"tail", 1}));
  auto reader = log.open_reader("tail", 0, 0);
  REQUIRE(reader);

  const auto started = Clock::now();
  auto empty = (*reader)->read(10, 300ms);
  REQUIRE(empty);
  CHECK(empty->empty());
  CHECK(Clock::now() - started >= 250ms);

  bool appended = false;  // Catch2 assertions stay on the test's thread
  std::thread writer([&] { appended = log.append(AppendRequest{{at("tail", 0, "late")}, {}, {}}).has_value(); });
  auto got = (*reader)->read(10, 20s);
  writer.join();
  REQUIRE(appended);
  REQUIRE(got);
  REQUIRE(got->size() == 1);
  CHECK((*got)[0].value == "late");
  CHECK((*reader)->position() == 1);
}

TEST_CASE("kafka consumer group rebalances across members of a broker in another process",
          "[kafka]") {
  constexpr int32_t kPartitions = 4;
  Devbroker broker({"work:" + std::to_string(kPartitions)});
  kafka::KafkaConfig config;
  config.bootstrap_servers = broker.bootstrap_servers();
  config.session_timeout_ms = KafkaHarness::kSessionTimeoutMs;
  config.properties = {{"heartbeat.interval.ms", "500"}};
  auto opened = kafka::open_kafka_log(config);
  REQUIRE(opened);
  auto& log = **opened;
  REQUIRE(log.create_topic({"work", kPartitions}));  // made by the devbroker already
  const std::set<int32_t> all = {0, 1, 2, 3};

  append_spread(log, "work", kPartitions, 200);
  CommittedProgress progress;

  // One member: it gets every partition.
  auto first = log.subscribe("workers", {"work"});
  REQUIRE(first);
  REQUIRE(eventually(30s, [&] {
    progress.poll_and_commit(**first, 10);
    return partitions_of((*first)->assignment()) == all && progress.committed.size() >= 40;
  }));

  // A second member joins: the partitions are split without overlap.
  auto second = log.subscribe("workers", {"work"});
  REQUIRE(second);
  REQUIRE(eventually(60s, [&] {
    progress.poll_and_commit(**first, 5);
    progress.poll_and_commit(**second, 5);
    const auto a = partitions_of((*first)->assignment());
    const auto b = partitions_of((*second)->assignment());
    std::set<int32_t> both = a;
    both.insert(b.begin(), b.end());
    return !a.empty() && !b.empty() && a.size() + b.size() == all.size() && both == all;
  }));
  append_spread(log, "work", kPartitions, 200);
  REQUIRE(eventually(60s, [&] {
    progress.poll_and_commit(**first, 10);
    progress.poll_and_commit(**second, 10);
    return progress.committed.size() == 400;
  }));

  // The first member leaves: the second takes over every partition.
  (*first)->close();
  CHECK((*first)->assignment().empty());
  REQUIRE(eventually(60s, [&] {
    progress.poll_and_commit(**second, 10);
    return partitions_of((*second)->assignment()) == all;
  }));
  append_spread(log, "work", kPartitions, 200);
  REQUIRE(eventually(60s, [&] {
    progress.poll_and_commit(**second, 10);
    return progress.committed.size() == 600;
  }));

  CHECK(progress.repeated.empty());
  for (int32_t p = 0; p < kPartitions; ++p) {
    const int64_t end = ok(log.end_offset("work", p));
    CHECK(end == 150);
    CHECK(ok(log.committed_offset("workers", "work", p)) == std::optional<int64_t>(end));
    for (int64_t o = 0; o < end; ++o) CHECK(progress.committed.count({p, o}) == 1);
  }
  // Every client goes before the broker does.
  first->reset();
  second->reset();
  opened->reset();
  CHECK(broker.stop() == 0);
}
