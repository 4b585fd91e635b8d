// One suite, every engine: the contract of connectors/log/event_log.h and the
// accepted-history rules, run against the embedded engine and against Kafka
// (librdkafka's mock cluster).
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <thread>

#include "connectors/log/accepted_reader.h"
#include "connectors/log/envelope_codec.h"
#include "connectors/log/fenced_writer.h"
#include "log/embedded_harness.h"
#include "log/kafka_harness.h"
#include "log/read_back.h"
#include "test_support.h"

using namespace tenantry::log;
using namespace std::chrono_literals;

namespace {

EventDraft draft(const std::string& tenant, const std::string& body) {
  EventDraft d;
  d.envelope.set_event_id("evt-" + tenant + "-" + body);
  d.envelope.set_tenant_id(tenant);
  d.envelope.set_event_type("tenantry.v1.TestEvent");
  d.envelope.set_schema_version(1);
  d.envelope.set_payload(body);
  return d;
}

WriterAppend events(std::vector<EventDraft> drafts) {
  WriterAppend append;
  append.events = std::move(drafts);
  append.recorded_at_us = 1700000000000000;
  return append;
}

AcceptedBatch read_all_accepted(EventLog& log, const std::string& topic, int32_t partition) {
  return tenantry::testing::read_back(log, topic, partition, TopicKind::events);
}

std::vector<StoredRecord> read_all(EventLog& log, const std::string& topic, int32_t partition) {
  auto reader = log.open_reader(topic, partition, 0);
  REQUIRE(reader.has_value());
  auto end = log.end_offset(topic, partition);
  REQUIRE(end.has_value());
  std::vector<StoredRecord> out;
  while ((*reader)->position() < *end) {
    auto records = (*reader)->read(1000, 2000ms);
    REQUIRE(records.has_value());
    REQUIRE(!records->empty());
    for (auto& r : *records) out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

TEMPLATE_TEST_CASE("records of one key keep their order in the key's partition", "[conformance]",
                   EmbeddedHarness, KafkaHarness) {
  TestType harness;
  EventLog& log = harness.log();
  REQUIRE(log.create_topic({"orders", 4}).has_value());

  std::map<std::string, std::vector<std::string>> sent;
  for (int round = 0; round < 10; ++round) {
    AppendRequest request;
    for (int k = 0; k < 12; ++k) {
      const std::string key = "tenant-" + std::to_string(k);
      const std::string value = key + "#" + std::to_string(round);
      sent[key].push_back(value);
      request.records.push_back(Record{"orders", key, value, {{"h", std::to_string(round)}}, std::nullopt});
    }
    auto appended = log.append(std::move(request));
    REQUIRE(appended.has_value());
    REQUIRE(appended->positions.size() == 12);
    for (int k = 0; k < 12; ++k) {
      CHECK(appended->positions[k].partition == partition_for_key("tenant-" + std::to_string(k), 4));
    }
  }

  std::map<std::string, std::vector<std::string>> received;
  for (int32_t p = 0; p < 4; ++p) {
    int64_t expected_offset = 0;
    for (const auto& record : read_all(log, "orders", p)) {
      CHECK(record.offset == expected_offset++);
      CHECK(record.partition == p);
      CHECK(partition_for_key(record.key, 4) == p);
      REQUIRE(record.header("h") != nullptr);
      received[record.key].push_back(record.value);
    }
  }
  CHECK(received == sent);
}

TEMPLATE_TEST_CASE("an append is all or nothing: a bad record fails the whole request", "[conformance]",
                   EmbeddedHarness, KafkaHarness) {
  TestType harness;
  EventLog& log = harness.log();
  REQUIRE(log.create_topic({"events", 2}).has_value());
  REQUIRE(log.create_topic({"replies", 2}).has_value());
  REQUIRE(log.create_topic({"commands", 2}).has_value());

  SECTION("records on two topics and the input offsets land together") {
    AppendRequest request;
    request.records.push_back(Record{"events", "acme", "e1", {}, std::nullopt});
    request.records.push_back(Record{"replies", "acme", "r1", {}, std::nullopt});
    request.group = "processor";
    request.offsets.push_back(PartitionOffset{"commands", 1, 7});
    auto appended = log.append(std::move(request));
    REQUIRE(appended.has_value());
    const int32_t p = partition_for_key("acme", 2);
    CHECK(log.end_offset("events", p).value() == 1);
    CHECK(log.end_offset("replies", p).value() == 1);
    auto committed = log.committed_offset("processor", "commands", 1);
    REQUIRE(committed.has_value());
    CHECK(committed->value_or(-1) == 7);
  }

  SECTION("an unknown topic anywhere in the request writes nothing") {
    AppendRequest request;
    request.records.push_back(Record{"events", "acme", "e1", {}, std::nullopt});
    request.records.push_back(Record{"no-such-topic", "acme", "x", {}, std::nullopt});
    request.group = "processor";
    request.offsets.push_back(PartitionOffset{"commands", 0, 3});
    auto appended = log.append(std::move(request));
    REQUIRE_FALSE(appended.has_value());
    CHECK(appended.error().code == ErrorCode::unknown_topic);
    for (int32_t p = 0; p < 2; ++p) CHECK(log.end_offset("events", p).value() == 0);
    auto committed = log.committed_offset("processor", "commands", 0);
    REQUIRE(committed.has_value());
    CHECK_FALSE(committed->has_value());
  }

  SECTION("a partition out of range writes nothing") {
    AppendRequest request;
    request.records.push_back(Record{"events", "acme", "e1", {}, std::nullopt});
    request.records.push_back(Record{"events", "acme", "e2", {}, 9});
    auto appended = log.append(std::move(request));
    REQUIRE_FALSE(appended.has_value());
    CHECK(appended.error().code == ErrorCode::invalid_argument);
    for (int32_t p = 0; p < 2; ++p) CHECK(log.end_offset("events", p).value() == 0);
  }

  SECTION("a topic cannot be re-created with another partition count") {
    auto again = log.create_topic({"events", 3});
    REQUIRE_FALSE(again.has_value());
    CHECK(again.error().code == ErrorCode::invalid_argument);
    CHECK(log.create_topic({"events", 2}).has_value());
  }
}

TEMPLATE_TEST_CASE("a group resumes from its committed offsets", "[conformance]", EmbeddedHarness,
                   KafkaHarness) {
  TestType harness;
  EventLog& log = harness.log();
  REQUIRE(log.create_topic({"work", 1}).has_value());
  AppendRequest request;
  for (int i = 0; i < 20; ++i) request.records.push_back(Record{"work", "acme", std::to_string(i), {}, 0});
  REQUIRE(log.append(std::move(request)).has_value());

  std::vector<std::string> first;
  {
    auto consumer = log.subscribe("workers", {"work"});
    REQUIRE(consumer.has_value());
    REQUIRE(tenantry::testing::eventually(20s, [&] {
      auto records = (*consumer)->poll(8, 200ms);
      REQUIRE(records.has_value());
      for (auto& r : *records) {
        if (first.size() < 8) first.push_back(r.value);
      }
      return first.size() >= 8;
    }));
    // Commit after the 8th record only; anything polled beyond it is not acknowledged.
    REQUIRE((*consumer)->commit({PartitionOffset{"work", 0, 8}}).has_value());
    (*consumer)->close();
  }
  CHECK(log.committed_offset("workers", "work", 0).value() == std::optional<int64_t>(8));

  std::vector<std::string> second;
  auto consumer = log.subscribe("workers", {"work"});
  REQUIRE(consumer.has_value());
  REQUIRE(tenantry::testing::eventually(20s, [&] {
    auto records = (*consumer)->poll(100, 200ms);
    REQUIRE(records.has_value());
    for (auto& r : *records) second.push_back(r.value);
    return second.size() >= 12;
  }));
  REQUIRE(second.size() == 12);
  CHECK(second.front() == "8");
  CHECK(second.back() == "19");
}

TEMPLATE_TEST_CASE("a member that seeks back polls again from there, committing nothing", "[conformance]",
                   EmbeddedHarness, KafkaHarness) {
  TestType harness;
  EventLog& log = harness.log();
  REQUIRE(log.create_topic({"work", 1}).has_value());
  AppendRequest request;
  for (int i = 0; i < 10; ++i) request.records.push_back(Record{"work", "acme", std::to_string(i), {}, 0});
  REQUIRE(log.append(std::move(request)).has_value());

  auto consumer = log.subscribe("seekers", {"work"});
  REQUIRE(consumer.has_value());
  std::vector<std::string> seen;
  auto poll_until = [&](size_t count) {
    return tenantry::testing::eventually(20s, [&] {
      auto records = (*consumer)->poll(100, 200ms);
      REQUIRE(records.has_value());
      for (auto& r : *records) seen.push_back(r.value);
      return seen.size() >= count;
    });
  };
  REQUIRE(poll_until(10));
  REQUIRE((*consumer)->seek({PartitionOffset{"work", 0, 4}}).has_value());
  // A partition this member does not hold is passed over.
  REQUIRE((*consumer)->seek({PartitionOffset{"work", 7, 0}}).has_value());
  REQUIRE(poll_until(16));
  REQUIRE(seen.size() == 16);
  CHECK(seen[10] == "4");
  CHECK(seen[15] == "9");
  CHECK(log.committed_offset("seekers", "work", 0).value() == std::nullopt);
}

TEMPLATE_TEST_CASE("two members of a group split the partitions, and one takes all when the other leaves",
                   "[conformance]", EmbeddedHarness, KafkaHarness) {
  TestType harness;
  EventLog& log = harness.log();
  REQUIRE(log.create_topic({"jobs", 4}).has_value());
  auto a = log.subscribe("pool", {"jobs"});
  auto b = log.subscribe("pool", {"jobs"});
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());

  auto settled = [&](std::vector<GroupConsumer*> members, size_t partitions) {
    return tenantry::testing::eventually(30s, [&] {
      std::set<int32_t> seen;
      size_t total = 0;
      for (auto* member : members) {
        REQUIRE(member->poll(10, 100ms).has_value());
        const auto assigned = member->assignment();
        if (assigned.empty()) return false;  // every member holds a share
        for (const auto& tp : assigned) seen.insert(tp.partition);
        total += assigned.size();
      }
      return seen.size() == partitions && total == partitions;  // all covered, none twice
    });
  };
  REQUIRE(settled({a->get(), b->get()}, 4));
  (*b)->close();
  REQUIRE(settled({a->get()}, 4));
}

TEMPLATE_TEST_CASE("a zombie writer is fenced out by every reader", "[conformance]", EmbeddedHarness,
                   KafkaHarness) {
  TestType harness;
  EventLog& log = harness.log();
  REQUIRE(log.create_topic({"events", 1}).has_value());

  auto old_writer = FencedWriter::claim(log, "events", 0, "node-a", 1);
  REQUIRE(old_writer.has_value());
  REQUIRE((*old_writer)->append(events({draft("acme", "a1")})).has_value());

  auto new_writer = FencedWriter::claim(log, "events", 0, "node-b", 2);
  REQUIRE(new_writer.has_value());
  CHECK((*new_writer)->epoch() == (*old_writer)->epoch() + 1);
  REQUIRE((*new_writer)->head("acme").has_value());
  CHECK((*new_writer)->head("acme")->sequence == 1);

  // The zombie still believes it owns the partition and appends sequence 2.
  REQUIRE((*old_writer)->append(events({draft("acme", "zombie")})).has_value());
  REQUIRE((*new_writer)->append(events({draft("acme", "b2"), draft("acme", "b3")})).has_value());

  const AcceptedBatch all = read_all_accepted(log, "events", 0);
  CHECK(all.violations.empty());
  CHECK(all.fenced == 1);
  CHECK(all.claims == 2);
  REQUIRE(all.records.size() == 3);
  CHECK(all.records[0].envelope.payload() == "a1");
  CHECK(all.records[1].envelope.payload() == "b2");
  CHECK(all.records[2].envelope.payload() == "b3");
  CHECK(all.records[2].envelope.sequence() == 3);
  CHECK(all.records[2].envelope.previous_hash() == all.records[1].envelope.hash());
  // The zombie's own view agrees with the readers': its record did not count.
  CHECK((*old_writer)->head("acme")->sequence == 1);
}

TEMPLATE_TEST_CASE("corrupted records are reported with their offset and reading goes on", "[conformance]",
                   EmbeddedHarness, KafkaHarness) {
  TestType harness;
  EventLog& log = harness.log();
  REQUIRE(log.create_topic({"events", 1}).has_value());
  auto writer = FencedWriter::claim(log, "events", 0, "node-a", 1);
  REQUIRE(writer.has_value());
  auto first = (*writer)->append(events({draft("acme", "one")}));
  REQUIRE(first.has_value());
  const std::string epoch = std::to_string((*writer)->epoch());

  // A record that is not a protobuf envelope at all.
  AppendRequest garbage;
  garbage.records.push_back(Record{"events", "acme", std::string("\xff\xff\xff not protobuf", 18),
                                   {{"tenantry-epoch", epoch}}, 0});
  auto garbage_at = log.append(std::move(garbage));
  REQUIRE(garbage_at.has_value());

  // A well-formed envelope whose payload was changed after sealing.
  tenantry::v1::EventEnvelope forged = first->events.front();
  forged.set_sequence(2);
  forged.set_previous_hash(first->events.front().hash());
  std::string stored = seal_envelope(forged);
  stored[stored.find("one")] = 'O';
  AppendRequest tampered;
  tampered.records.push_back(Record{"events", "acme", stored, {{"tenantry-epoch", epoch}}, 0});
  auto tampered_at = log.append(std::move(tampered));
  REQUIRE(tampered_at.has_value());

  // The writer goes on; its next event is sequence 2, chained to the first.
  REQUIRE((*writer)->append(events({draft("acme", "two")})).has_value());

  const AcceptedBatch all = read_all_accepted(log, "events", 0);
  REQUIRE(all.violations.size() == 2);
  CHECK(all.violations[0].offset == garbage_at->positions[0].offset);
  CHECK(all.violations[0].kind == ViolationKind::corrupt_record);
  CHECK(all.violations[0].partition == 0);
  CHECK(all.violations[0].topic == "events");
  CHECK(all.violations[1].offset == tampered_at->positions[0].offset);
  CHECK(all.violations[1].kind == ViolationKind::hash_mismatch);
  CHECK_THAT(all.violations[1].describe(), Catch::Contains("events/0@"));
  REQUIRE(all.records.size() == 2);
  CHECK(all.records[1].envelope.payload() == "two");
  CHECK(all.records[1].envelope.sequence() == 2);
}

TEMPLATE_TEST_CASE("a tailing reader wakes when a record is appended", "[conformance]", EmbeddedHarness,
                   KafkaHarness) {
  TestType harness;
  EventLog& log = harness.log();
  REQUIRE(log.create_topic({"tail", 1}).has_value());
  auto reader = log.open_reader("tail", 0, 0);
  REQUIRE(reader.has_value());

  Result<std::vector<StoredRecord>> got = std::vector<StoredRecord>{};
  std::thread tailer([&] { got = (*reader)->read(10, 20s); });
  AppendRequest request;
  request.records.push_back(Record{"tail", "acme", "hello", {}, 0});
  REQUIRE(log.append(std::move(request)).has_value());
  tailer.join();
  REQUIRE(got.has_value());
  REQUIRE(got->size() == 1);
  CHECK(got->front().value == "hello");
  CHECK((*reader)->position() == 1);
}

TEMPLATE_TEST_CASE("unknown topics and bad positions are errors, not crashes", "[conformance]",
                   EmbeddedHarness, KafkaHarness) {
  TestType harness;
  EventLog& log = harness.log();
  REQUIRE(log.create_topic({"known", 2}).has_value());
  CHECK(log.partition_count("known").value() == 2);
  CHECK(log.partition_count("unknown").error().code == ErrorCode::unknown_topic);
  CHECK(log.end_offset("unknown", 0).error().code == ErrorCode::unknown_topic);
  CHECK_FALSE(log.open_reader("known", 5, 0).has_value());
  CHECK_FALSE(log.create_topic({"zero", 0}).has_value());
}
