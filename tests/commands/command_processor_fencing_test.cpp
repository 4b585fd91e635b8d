// The command processor when a newer writer claims one of its partitions (another
// processor after a rebalance, or any writer): it lets that partition go, keeps
// serving the others, claims it again when its commands come back, and decides every
// command exactly once. Also the order of its own claims: replies, then events.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "commands/command_processor.h"
#include "commands/tenant_aggregate.h"
#include "commands/tenant_commands.h"
#include "connectors/log/fenced_writer.h"
#include "log/embedded_harness.h"
#include "log/read_back.h"
#include "test_support.h"
#include "tenantry/v1/log.pb.h"
#include "tenantry/v1/tenant.pb.h"

using namespace tenantry;
using namespace std::chrono_literals;

namespace {

constexpr int32_t kPartitions = 3;
constexpr const char* kCommands = "tenantry.commands";
constexpr const char* kEvents = "tenantry.events";
constexpr const char* kReplies = "tenantry.replies";

// A node: a store of its own and a processor on it.
struct Node {
  Node(log::EventLog& log, const std::filesystem::path& path, const commands::Aggregate& aggregate,
       const clock::Clock& clock) {
    auto opened = store::RocksStore::open({path.string(), commands::CommandProcessor::store_families()});
    REQUIRE(opened.has_value());
    store = std::move(*opened);
    processor = std::make_unique<commands::CommandProcessor>(log, *store, aggregate, clock);
  }
  ~Node() { processor.reset(); }  // stops (and leaves the group) before the store goes

  std::unique_ptr<store::RocksStore> store;
  std::unique_ptr<commands::CommandProcessor> processor;
};

// Tenants spread over every partition, each registering and then suspending and
// reactivating in turn: a command is accepted only if every earlier command of its
// tenant was decided exactly once and in order, with resulting sequence = its index + 1.
struct Traffic {
  explicit Traffic(log::EventLog& log) : log(log) {
    for (const char* topic : {kCommands, kEvents, kReplies}) REQUIRE(log.create_topic({topic, kPartitions}).has_value());
    std::map<int32_t, int> per_partition;
    for (int i = 0; static_cast<int>(tenants.size()) < 3 * kPartitions; ++i) {
      const std::string tenant = "tenant-" + std::to_string(i);
      const int32_t partition = log::partition_for_key(tenant, kPartitions);
      if (per_partition[partition] == 3) continue;
      ++per_partition[partition];
      tenants.push_back(tenant);
    }
  }

  static std::string command_id(const std::string& tenant, int index) { return tenant + "/" + std::to_string(index); }

  void send(const std::string& tenant) {
    const int index = sent[tenant]++;
    v1::CommandEnvelope command;
    if (index == 0) {
      command = testing::command_of(tenant, command_id(tenant, index), testing::registration_body(tenant));
    } else if (index % 2 == 1) {
      v1::SuspendTenant body;
      body.set_reason("unpaid invoices");
      command = testing::command_of(tenant, command_id(tenant, index), body);
    } else {
      command = testing::command_of(tenant, command_id(tenant, index), v1::ReactivateTenant());
    }
    log::AppendRequest request;
    request.records.push_back(log::Record{kCommands, tenant, command.SerializeAsString(), {}, std::nullopt});
    REQUIRE(log.append(std::move(request)).has_value());
  }
  void send_round() {
    for (const auto& tenant : tenants) send(tenant);
  }
  void send_round_of(int32_t partition) {
    for (const auto& tenant : tenants) {
      if (log::partition_for_key(tenant, kPartitions) == partition) send(tenant);
    }
  }

  // The accepted replies of the tenant, by command id, in log order.
  std::map<std::string, std::vector<v1::CommandReply>> replies_of(const std::string& tenant) {
    auto all = testing::read_back(log, kReplies, log::partition_for_key(tenant, kPartitions), log::TopicKind::fenced);
    CHECK(all.violations.empty());
    std::map<std::string, std::vector<v1::CommandReply>> out;
    for (const auto& accepted : all.records) {
      if (accepted.record.header(log::kKindHeader) != nullptr) continue;
      v1::CommandReply reply;
      REQUIRE(reply.ParseFromString(accepted.record.value));
      if (reply.tenant_id() == tenant) out[reply.command_id()].push_back(reply);
    }
    return out;
  }
  bool answered(const std::string& tenant) { return static_cast<int>(replies_of(tenant).size()) == sent[tenant]; }
  bool all_answered() {
    for (const auto& tenant : tenants) {
      if (!answered(tenant)) return false;
    }
    return true;
  }

  // Every command sent has a reply, accepted with the sequence its place gives it, and
  // its one event in the events topic, the chain unbroken. With `one_reply`, exactly one
  // reply; otherwise a command the group delivered twice (a rebalance restarts a
  // partition from its committed offset) may be answered twice, with the same reply.
  void check_decided_once(bool one_reply) {
    for (const auto& tenant : tenants) {
      INFO("tenant " << tenant);
      auto replies = replies_of(tenant);
      auto events = testing::read_back(log, kEvents, log::partition_for_key(tenant, kPartitions), log::TopicKind::events);
      CHECK(events.violations.empty());
      std::vector<v1::EventEnvelope> mine;
      for (const auto& accepted : events.records) {
        if (accepted.envelope.tenant_id() == tenant) mine.push_back(accepted.envelope);
      }
      REQUIRE(static_cast<int>(mine.size()) == sent[tenant]);
      REQUIRE(static_cast<int>(replies.size()) == sent[tenant]);
      for (int index = 0; index < sent[tenant]; ++index) {
        const std::string id = command_id(tenant, index);
        INFO("command " << id);
        const auto& answers = replies[id];
        REQUIRE(!answers.empty());
        if (one_reply) CHECK(answers.size() == 1);
        for (const auto& reply : answers) {
          CHECK(reply.status() == v1::CommandReply::STATUS_ACCEPTED);
          CHECK(reply.resulting_sequence() == static_cast<uint64_t>(index + 1));
          CHECK(reply.replied_at_us() == answers.front().replied_at_us());
        }
        CHECK(mine[static_cast<size_t>(index)].command_id() == id);
        CHECK(mine[static_cast<size_t>(index)].sequence() == static_cast<uint64_t>(index + 1));
      }
    }
  }

  int64_t fenced_events() {
    int64_t fenced = 0;
    for (int32_t p = 0; p < kPartitions; ++p) fenced += testing::read_back(log, kEvents, p, log::TopicKind::events).fenced;
    return fenced;
  }
  int64_t event_claims() {
    int64_t claims = 0;
    for (int32_t p = 0; p < kPartitions; ++p) claims += testing::read_back(log, kEvents, p, log::TopicKind::events).claims;
    return claims;
  }

  log::EventLog& log;
  std::vector<std::string> tenants;
  std::map<std::string, int> sent;
};

// Claims the partition of the replies and events topics as a processor does (replies
// first, one epoch), as another node taking it would; returns the epoch.
uint64_t claim_as_another_node(log::EventLog& log, int32_t partition) {
  auto claim_replies = [&](uint64_t epoch) -> log::Result<void> {
    v1::WriterClaim claim;
    claim.set_epoch(epoch);
    claim.set_writer_id("another-node");
    log::AppendRequest request;
    request.records.push_back(log::Record{kReplies, "", claim.SerializeAsString(),
                                          {{std::string(log::kKindHeader), std::string(log::kClaimKind)}}, partition});
    if (auto appended = log.append(std::move(request)); !appended) return std::unexpected(appended.error());
    return {};
  };
  auto writer = log::FencedWriter::claim(log, kEvents, partition, "another-node", 1, claim_replies);
  REQUIRE(writer.has_value());
  return (*writer)->epoch();
}

// Forwards to a log, noting every claim appended through it and counting the group
// polls that returned records; while held, appends that commit group offsets (a
// processor's batches) wait in it until released.
class WatchedLog final : public log::EventLog {
 public:
  struct Claim {
    std::string topic;
    int32_t partition = 0;
    uint64_t epoch = 0;
  };
  explicit WatchedLog(log::EventLog& inner) : inner_(inner) {}

  log::Result<void> create_topic(const log::TopicSpec& spec) override { return inner_.create_topic(spec); }
  log::Result<int32_t> partition_count(const std::string& topic) override { return inner_.partition_count(topic); }
  void append_async(log::AppendRequest request, log::AppendCallback done) override {
    {
      std::lock_guard lock(mutex_);
      for (const auto& record : request.records) {
        const std::string* kind = nullptr;
        for (const auto& header : record.headers) {
          if (header.key == log::kKindHeader) kind = &header.value;
        }
        if (kind == nullptr || *kind != log::kClaimKind) continue;
        v1::WriterClaim claim;
        REQUIRE(claim.ParseFromString(record.value));
        claims_.push_back({record.topic, record.partition.value_or(-1), claim.epoch()});
      }
      if (holding_ && !request.offsets.empty()) {
        held_.emplace_back(std::move(request), std::move(done));
        return;
      }
    }
    inner_.append_async(std::move(request), std::move(done));
  }
  log::Result<int64_t> end_offset(const std::string& topic, int32_t partition) override {
    return inner_.end_offset(topic, partition);
  }
  log::Result<std::optional<int64_t>> committed_offset(const std::string& group, const std::string& topic,
                                                       int32_t partition) override {
    return inner_.committed_offset(group, topic, partition);
  }
  log::Result<std::unique_ptr<log::PartitionReader>> open_reader(const std::string& topic, int32_t partition,
                                                                 int64_t from_offset) override {
    return inner_.open_reader(topic, partition, from_offset);
  }
  log::Result<std::unique_ptr<log::GroupConsumer>> subscribe(const std::string& group,
                                                             const std::vector<std::string>& topics) override {
    auto consumer = inner_.subscribe(group, topics);
    if (!consumer) return std::unexpected(consumer.error());
    return std::unique_ptr<log::GroupConsumer>(new CountingConsumer(std::move(*consumer), polls_));
  }

  std::vector<Claim> claims() {
    std::lock_guard lock(mutex_);
    return claims_;
  }
  void hold() {
    std::lock_guard lock(mutex_);
    holding_ = true;
  }
  size_t held() {
    std::lock_guard lock(mutex_);
    return held_.size();
  }
  // Stops holding and hands what was held to the log, in order.
  void release() {
    std::vector<std::pair<log::AppendRequest, log::AppendCallback>> held;
    {
      std::lock_guard lock(mutex_);
      holding_ = false;
      held.swap(held_);
    }
    for (auto& [request, done] : held) inner_.append_async(std::move(request), std::move(done));
  }
  int64_t polls_with_records() const { return polls_.load(); }

 private:
  class CountingConsumer final : public log::GroupConsumer {
   public:
    CountingConsumer(std::unique_ptr<log::GroupConsumer> inner, std::atomic<int64_t>& polls)
        : inner_(std::move(inner)), polls_(polls) {}
    log::Result<std::vector<log::StoredRecord>> poll(size_t max_records, std::chrono::milliseconds wait) override {
      auto records = inner_->poll(max_records, wait);
      if (records && !records->empty()) ++polls_;
      return records;
    }
    std::vector<log::TopicPartition> assignment() override { return inner_->assignment(); }
    log::Result<void> commit(const std::vector<log::PartitionOffset>& offsets) override { return inner_->commit(offsets); }
    log::Result<void> seek(const std::vector<log::PartitionOffset>& offsets) override { return inner_->seek(offsets); }
    void close() override { inner_->close(); }

   private:
    std::unique_ptr<log::GroupConsumer> inner_;
    std::atomic<int64_t>& polls_;
  };

  log::EventLog& inner_;
  std::mutex mutex_;
  std::vector<Claim> claims_;
  bool holding_ = false;
  std::vector<std::pair<log::AppendRequest, log::AppendCallback>> held_;
  std::atomic<int64_t> polls_{0};
};

// Processes on the caller's thread, each processor in turn, until every command is
// answered.
void process_until_answered(Traffic& traffic, const std::vector<commands::CommandProcessor*>& processors) {
  REQUIRE(testing::eventually(30s, [&] {
    for (auto* processor : processors) {
      auto handled = processor->process_available(20ms);
      if (!handled) FAIL("processing failed: " << handled.error().message);
    }
    return traffic.all_answered();
  }));
}

// Waits for processors running on their own threads to answer every command; a
// processor that stops fails the test at once.
void wait_answered(Traffic& traffic, const std::vector<commands::CommandProcessor*>& processors) {
  REQUIRE(testing::eventually(60s, [&] {
    std::this_thread::sleep_for(50ms);
    for (auto* processor : processors) {
      if (auto failure = processor->failure()) FAIL("a processor stopped: " << failure->message);
    }
    return traffic.all_answered();
  }));
}

}  // namespace

TEST_CASE("command processor fencing: a partition claimed by another writer is let go, the others are served, "
          "and its commands are decided again after a new claim",
          "[commands][fencing]") {
  EmbeddedHarness harness;
  Traffic traffic(harness.log());
  commands::TenantAggregate aggregate;
  clock::ManualClock clock{1767225600000000};
  Node node(harness.log(), harness.dir.path() / "node", aggregate, clock);
  traffic.send_round();
  process_until_answered(traffic, {node.processor.get()});

  const int32_t lost = log::partition_for_key(traffic.tenants.front(), kPartitions);
  const uint64_t epoch = claim_as_another_node(harness.log(), lost);
  CHECK(epoch == 2);
  traffic.send_round();
  traffic.send_round();

  // One poll, one append: the other partitions' commands land, the lost one's are
  // fenced out, and the processor goes on.
  auto handled = node.processor->process_available(1s);
  REQUIRE(handled.has_value());
  CHECK(traffic.fenced_events() > 0);
  for (const auto& tenant : traffic.tenants) {
    INFO("tenant " << tenant);
    CHECK(traffic.answered(tenant) == (log::partition_for_key(tenant, kPartitions) != lost));
  }
  // The lost partition's commands come again: claimed above the other writer, caught
  // up from the log, decided once.
  process_until_answered(traffic, {node.processor.get()});
  traffic.send_round();
  process_until_answered(traffic, {node.processor.get()});
  traffic.check_decided_once(true);
  CHECK(traffic.event_claims() == kPartitions + 2);  // ours, the other writer's, ours again
}

TEST_CASE("command processor fencing: on its own thread, a processor serves on through claims of its partitions "
          "and loses no command",
          "[commands][fencing]") {
  EmbeddedHarness harness;
  Traffic traffic(harness.log());
  commands::TenantAggregate aggregate;
  clock::ManualClock clock{1767225600000000};
  Node node(harness.log(), harness.dir.path() / "node", aggregate, clock);
  REQUIRE(node.processor->start().has_value());

  // Every partition claimed first (two claims at once are out of this test's scope).
  traffic.send_round();
  wait_answered(traffic, {node.processor.get()});
  // Claims land while commands stream in, so the append a claim fences usually has the
  // next poll's decisions waiting on it.
  constexpr int kRounds = 40;
  for (int round = 1; round < kRounds; ++round) {
    traffic.send_round();
    if (round == 10 || round == 20 || round == 30) {
      claim_as_another_node(harness.log(), (round / 10) % kPartitions);
    }
  }
  wait_answered(traffic, {node.processor.get()});
  auto failure = node.processor->failure();
  CHECK_FALSE(failure.has_value());
  if (failure) FAIL("the processor stopped: " << failure->message);
  traffic.check_decided_once(true);
  CHECK(node.processor->failure() == std::nullopt);
}

TEST_CASE("command processor fencing: decisions made on top of a fenced batch are thrown away and made again "
          "after a new claim",
          "[commands][fencing]") {
  EmbeddedHarness harness;
  WatchedLog log(harness.log());
  Traffic traffic(log);
  commands::TenantAggregate aggregate;
  clock::ManualClock clock{1767225600000000};
  const int32_t lost = 1;
  traffic.send_round_of(lost);
  traffic.send_round_of(lost);  // six commands, three tenants

  auto store = store::RocksStore::open({(harness.dir.path() / "node").string(), commands::CommandProcessor::store_families()});
  REQUIRE(store.has_value());
  commands::ProcessorOptions options;
  options.max_batch_commands = 3;  // two polls: the second is decided on top of the first
  commands::CommandProcessor processor(log, **store, aggregate, clock, options);
  log.hold();
  REQUIRE(processor.start().has_value());
  // The first batch is appended (held here, not in the log yet); the second is polled
  // and decided on top of it while it waits.
  REQUIRE(testing::eventually(20s, [&] {
    std::this_thread::sleep_for(5ms);
    return log.held() == 1 && log.polls_with_records() >= 2;
  }));
  // Another node claims the partition; the held batch lands behind its claim.
  claim_as_another_node(harness.log(), lost);
  log.release();

  REQUIRE(testing::eventually(30s, [&] {
    std::this_thread::sleep_for(20ms);
    return traffic.all_answered() || processor.failure().has_value();
  }));
  CHECK(processor.failure() == std::nullopt);
  CHECK(traffic.fenced_events() == 3);  // the first batch only: the second was never appended
  traffic.send_round_of(lost);
  REQUIRE(testing::eventually(30s, [&] {
    std::this_thread::sleep_for(20ms);
    return traffic.all_answered() || processor.failure().has_value();
  }));
  processor.stop();
  CHECK(processor.failure() == std::nullopt);
  traffic.check_decided_once(true);
}

TEST_CASE("command processor fencing: two processors in one group share the partitions, and one serves them all "
          "again when the other leaves",
          "[commands][fencing]") {
  EmbeddedHarness harness;
  Traffic traffic(harness.log());
  commands::TenantAggregate aggregate;
  clock::ManualClock clock{1767225600000000};
  Node first(harness.log(), harness.dir.path() / "first", aggregate, clock);
  REQUIRE(first.processor->start().has_value());

  for (int round = 0; round < 5; ++round) traffic.send_round();
  wait_answered(traffic, {first.processor.get()});
  auto second = std::make_unique<Node>(harness.log(), harness.dir.path() / "second", aggregate, clock);
  REQUIRE(second->processor->start().has_value());
  for (int round = 0; round < 15; ++round) {
    traffic.send_round();
    std::this_thread::sleep_for(10ms);
  }
  wait_answered(traffic, {first.processor.get(), second->processor.get()});
  CHECK(traffic.event_claims() > kPartitions);  // the second node claimed its share

  // It leaves; the first takes its partitions back, claims them anew and catches up.
  const int64_t claims_before = traffic.event_claims();
  second.reset();
  for (int round = 0; round < 10; ++round) traffic.send_round();
  wait_answered(traffic, {first.processor.get()});
  CHECK(traffic.event_claims() > claims_before);
  CHECK(first.processor->failure() == std::nullopt);
  traffic.check_decided_once(false);
}

TEST_CASE("command processor fencing: a processor claims the replies partition before the events partition, "
          "with one epoch",
          "[commands][fencing]") {
  EmbeddedHarness harness;
  WatchedLog log(harness.log());
  Traffic traffic(log);
  commands::TenantAggregate aggregate;
  clock::ManualClock clock{1767225600000000};
  Node node(log, harness.dir.path() / "node", aggregate, clock);
  // An earlier writer of one partition, so epochs differ between partitions.
  claim_as_another_node(log, 0);
  const size_t before = log.claims().size();
  traffic.send_round();
  process_until_answered(traffic, {node.processor.get()});

  const auto claims = log.claims();
  std::map<int32_t, std::vector<WatchedLog::Claim>> by_partition;
  for (size_t i = before; i < claims.size(); ++i) by_partition[claims[i].partition].push_back(claims[i]);
  REQUIRE(by_partition.size() == kPartitions);
  for (const auto& [partition, mine] : by_partition) {
    INFO("partition " << partition);
    REQUIRE(mine.size() == 2);
    CHECK(mine[0].topic == kReplies);
    CHECK(mine[1].topic == kEvents);
    CHECK(mine[0].epoch == mine[1].epoch);
    CHECK(mine[1].epoch == (partition == 0 ? 2u : 1u));
  }
}

TEST_CASE("command processor fencing: processors sharing one store never write back a partition another has "
          "caught up, and a processor restarted on that store decides every command once",
          "[commands][fencing]") {
  EmbeddedHarness harness;
  Traffic traffic(harness.log());
  commands::TenantAggregate aggregate;
  clock::ManualClock clock{1767225600000000};
  auto opened = store::RocksStore::open({(harness.dir.path() / "node").string(), commands::CommandProcessor::store_families()});
  REQUIRE(opened.has_value());
  std::unique_ptr<store::RocksStore> store = std::move(*opened);
  commands::ProcessorOptions options;
  options.shared_store = std::make_shared<commands::SharedStore>();
  options.max_unwritten_commands = 1'000'000;  // the store is written only where the test says
  options.max_unwritten_age = 1h;
  auto make = [&](const std::string& writer) {
    auto own = options;
    own.writer_id = writer;
    return std::make_unique<commands::CommandProcessor>(harness.log(), *store, aggregate, clock, own);
  };
  // Step by step on this thread (process_until_answered): a poll that finds nothing
  // writes the store, so the test says when the store is written.

  auto first = make("first");
  for (int round = 0; round < 2; ++round) traffic.send_round();
  process_until_answered(traffic, {first.get()});
  REQUIRE(first->write_cache().has_value());
  // One more command for a tenant of each partition: the first holds these unwritten.
  std::map<int32_t, bool> touched;
  for (const auto& tenant : traffic.tenants) {
    if (!touched[log::partition_for_key(tenant, kPartitions)]) {
      touched[log::partition_for_key(tenant, kPartitions)] = true;
      traffic.send(tenant);
    }
  }
  process_until_answered(traffic, {first.get()});

  // A second joins, takes its share (catching up from the store), decides and writes.
  auto second = make("second");
  traffic.send_round();
  for (int step = 0; step < 20; ++step) REQUIRE(second->process_available(20ms).has_value());
  REQUIRE(second->write_cache().has_value());
  // The first writes what it holds unwritten, not yet knowing it lost partitions: the
  // partitions the second caught up are not its to write any more.
  REQUIRE(first->write_cache().has_value());
  process_until_answered(traffic, {first.get(), second.get()});
  second.reset();
  first.reset();

  // A processor on the same store starts from what the store says: had a stale write
  // put a partition's offsets behind its states, events would be applied twice and
  // these commands refused or answered with the wrong sequence.
  auto restarted = make("restarted");
  for (int round = 0; round < 3; ++round) traffic.send_round();
  process_until_answered(traffic, {restarted.get()});
  restarted.reset();
  traffic.check_decided_once(false);
}
