// `tenantry audit verify` and the verifier behind it, on logs written by the real
// FencedWriter on the embedded engine, then tampered with: in the store itself (a
// payload byte), and through the log API (forged hash, skipped sequence, reordered
// pair). Each must be named by topic, partition, offset, tenant and sequence.
#include <catch2/catch.hpp>

#include <rocksdb/db.h>

#include <functional>
#include <map>

#include "app/log_options.h"
#include "audit/log_verifier.h"
#include "child_process.h"
#include "connectors/log/embedded/embedded_log.h"
#include "connectors/log/embedded/record_codec.h"
#include "connectors/log/envelope_codec.h"
#include "connectors/log/fenced_writer.h"
#include "log/read_back.h"
#include "test_support.h"

using namespace tenantry;

namespace {

constexpr int32_t kPartitions = 3;
const std::string kEvents = "tenantry.events";

// A data directory as `tenantry serve --data-dir` leaves it: the embedded log under
// data/log, Tenantry's topics with kPartitions partitions.
struct LogDir {
  testing::ScratchDir dir;
  std::filesystem::path data() const { return dir.path() / "data"; }
  std::string log_path() const { return (data() / "log").string(); }

  std::unique_ptr<log::EventLog> open() const {
    std::filesystem::create_directories(data());
    log::embedded::EmbeddedOptions options;
    options.path = log_path();
    auto opened = log::embedded::open_embedded_log(options);
    REQUIRE(opened.has_value());
    for (const auto& topic : app::tenantry_topics(kPartitions)) REQUIRE((*opened)->create_topic(topic).has_value());
    return std::move(*opened);
  }

  testing::Finished run_verify(const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> argv = {TENANTRY_BINARY, "audit", "verify", "--data-dir", data().string(),
                                     "--partitions", std::to_string(kPartitions)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return testing::run_to_end(argv);
  }
};

// Writes `per_tenant` events for each tenant through one FencedWriter per partition.
std::map<std::string, int> write_events(log::EventLog& log, int tenants, int per_tenant) {
  std::vector<std::unique_ptr<log::FencedWriter>> writers;
  for (int32_t p = 0; p < kPartitions; ++p) {
    auto writer = log::FencedWriter::claim(log, kEvents, p, "audit-test", 1);
    REQUIRE(writer.has_value());
    writers.push_back(std::move(*writer));
  }
  std::map<std::string, int> written;
  for (int round = 0; round < per_tenant; ++round) {
    for (int t = 0; t < tenants; ++t) {
      const std::string tenant = "tenant-" + std::to_string(t);
      log::WriterAppend append;
      log::EventDraft draft;
      draft.envelope.set_event_id("event-" + tenant + "-" + std::to_string(round));
      draft.envelope.set_tenant_id(tenant);
      draft.envelope.set_event_type("tenantry.v1.TestEvent");
      draft.envelope.set_payload("payload of " + tenant + " #" + std::to_string(round + 1));
      append.events.push_back(std::move(draft));
      REQUIRE(writers[static_cast<size_t>(log::partition_for_key(tenant, kPartitions))]->append(std::move(append)));
      ++written[tenant];
    }
  }
  return written;
}

// The accepted event of `tenant` with `sequence`, as stored.
log::AcceptedRecord find_event(log::EventLog& log, const std::string& tenant, uint64_t sequence) {
  const int32_t partition = log::partition_for_key(tenant, kPartitions);
  auto all = testing::read_back(log, kEvents, partition, log::TopicKind::events);
  for (auto& accepted : all.records) {
    if (accepted.envelope.tenant_id() == tenant && accepted.envelope.sequence() == sequence) return accepted;
  }
  FAIL("no event " << tenant << " seq " << sequence);
  return {};
}

// Opens the embedded log's RocksDB directly, as someone with access to the disk
// could, and hands `edit` the records family and the events topic's id.
void edit_store(const std::string& log_path,
                const std::function<void(rocksdb::DB&, rocksdb::ColumnFamilyHandle*, uint32_t)>& edit) {
  rocksdb::Options options;
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {"records", rocksdb::ColumnFamilyOptions()},
      {"offsets", rocksdb::ColumnFamilyOptions()}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  REQUIRE(rocksdb::DB::Open(options, log_path, families, &handles, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string meta;
  REQUIRE(db->Get(rocksdb::ReadOptions(), handles[0], log::embedded::topic_meta_key(kEvents), &meta).ok());
  uint32_t topic_id = 0;
  int32_t partitions = 0;
  REQUIRE(log::embedded::decode_topic_meta(meta, topic_id, partitions));
  edit(*db, handles[1], topic_id);
  for (auto* handle : handles) REQUIRE(db->DestroyColumnFamilyHandle(handle).ok());
  REQUIRE(db->Close().ok());
}

// Flips one byte of the payload of the record at `offset`, in the store itself.
void alter_stored_payload(const std::string& log_path, int32_t partition, int64_t offset, const std::string& payload) {
  edit_store(log_path, [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* records, uint32_t topic_id) {
    const std::string key = log::embedded::record_key(topic_id, partition, offset);
    std::string stored;
    REQUIRE(db.Get(rocksdb::ReadOptions(), records, key, &stored).ok());
    const auto at = stored.find(payload);
    REQUIRE(at != std::string::npos);
    stored[at + payload.size() - 1] ^= 0x01;  // "#2" -> "#3": still a valid envelope
    rocksdb::WriteOptions sync;
    sync.sync = true;
    REQUIRE(db.Put(sync, records, key, stored).ok());
  });
}

void remove_stored_record(const std::string& log_path, int32_t partition, int64_t offset) {
  edit_store(log_path, [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* records, uint32_t topic_id) {
    rocksdb::WriteOptions sync;
    sync.sync = true;
    REQUIRE(db.Delete(sync, records, log::embedded::record_key(topic_id, partition, offset)).ok());
  });
}

log::Record forged(const std::string& tenant, uint64_t sequence, const std::string& previous_hash, uint64_t epoch,
                   v1::EventEnvelope* sealed_out = nullptr) {
  v1::EventEnvelope envelope;
  envelope.set_event_id("forged-" + std::to_string(sequence));
  envelope.set_tenant_id(tenant);
  envelope.set_event_type("tenantry.v1.TestEvent");
  envelope.set_payload("forged");
  envelope.set_sequence(sequence);
  envelope.set_previous_hash(previous_hash);
  envelope.set_writer_epoch(epoch);
  std::string value = log::seal_envelope(envelope);
  if (sealed_out != nullptr) *sealed_out = envelope;
  return log::Record{kEvents, tenant, std::move(value), {{"tenantry-epoch", std::to_string(epoch)}},
                     log::partition_for_key(tenant, kPartitions)};
}

}  // namespace

TEST_CASE("audit verify: a log written by the fenced writer verifies, with a Merkle root per partition",
          "[audit][verify]") {
  LogDir dir;
  std::map<std::string, int> written;
  std::vector<audit::Hash> expected_roots;
  {
    auto log = dir.open();
    written = write_events(*log, 7, 4);
    // A second writer takes partition 0 over; the first one, now a zombie, writes on:
    // its record is fenced out, which is the rules working, not a broken log.
    auto zombie = log::FencedWriter::claim(*log, kEvents, 0, "zombie", 2);
    REQUIRE(zombie.has_value());
    auto newer = log::FencedWriter::claim(*log, kEvents, 0, "newer", 3);
    REQUIRE(newer.has_value());
    REQUIRE((*zombie)->epoch() < (*newer)->epoch());
    log::WriterAppend late;
    log::EventDraft draft;
    draft.envelope.set_tenant_id("tenant-0");
    draft.envelope.set_event_type("tenantry.v1.TestEvent");
    late.events.push_back(std::move(draft));
    // Whether or not the zombie notices, readers pass its record over.
    (void)(*zombie)->append(std::move(late));

    auto report = audit::verify_log(*log, {});
    REQUIRE(report.has_value());
    CHECK(report->verified());
    CHECK_FALSE(report->first_finding.has_value());
    REQUIRE(report->partitions.size() == static_cast<size_t>(kPartitions));
    int64_t events = 0;
    size_t tenants = 0;
    for (const auto& partition : report->partitions) {
      // The root is RFC 9162's MTH over exactly the accepted events' stored bytes.
      auto all = testing::read_back(*log, kEvents, partition.partition, log::TopicKind::events);
      std::vector<audit::Hash> leaves;
      for (const auto& accepted : all.records) leaves.push_back(audit::leaf_hash(accepted.record.value));
      CHECK(partition.events == static_cast<int64_t>(leaves.size()));
      CHECK(partition.root == audit::root_of(leaves));
      CHECK(partition.fenced == all.fenced);
      expected_roots.push_back(partition.root);
      events += partition.events;
      tenants += partition.tenants;
    }
    CHECK(events == 7 * 4);
    CHECK(tenants == 7);
    CHECK(report->partitions[0].claims == 3);  // the first writer's, the zombie's, the newer one's
    CHECK(report->partitions[0].epoch == (*newer)->epoch());
  }

  auto run = dir.run_verify();
  INFO(run.err);
  CHECK(run.code == 0);
  CHECK_THAT(run.out, Catch::Contains("\"verified\": true"));
  CHECK_THAT(run.out, Catch::Contains("\"events\": 28"));
  CHECK_THAT(run.out, Catch::Contains("\"tenants\": 7"));
  for (const auto& root : expected_roots) CHECK_THAT(run.out, Catch::Contains(audit::to_hex(root)));

  // One tenant: only its partition, its events.
  auto one = dir.run_verify({"--tenant", "tenant-3"});
  CHECK(one.code == 0);
  CHECK_THAT(one.out, Catch::Contains("\"events\": 4"));
  CHECK_THAT(one.out, Catch::Contains("\"partition_count\": 1"));
}

TEST_CASE("audit verify: a payload byte altered in the store is named, exit 1", "[audit][verify]") {
  LogDir dir;
  log::AcceptedRecord target;
  {
    auto log = dir.open();
    write_events(*log, 5, 3);
    target = find_event(*log, "tenant-2", 2);
  }
  REQUIRE(dir.run_verify().code == 0);
  alter_stored_payload(dir.log_path(), target.record.partition, target.record.offset, target.envelope.payload());

  const std::string named = kEvents + "/" + std::to_string(target.record.partition) + "@" +
                            std::to_string(target.record.offset) + " tenant tenant-2 seq 2: hash_mismatch";
  auto run = dir.run_verify();
  INFO(run.out << run.err);
  CHECK(run.code == 1);
  CHECK_THAT(run.err, Catch::Contains("first broken record " + named));
  CHECK_THAT(run.out, Catch::Contains("\"verified\": false"));
  CHECK_THAT(run.out, Catch::Contains("\"offset\": " + std::to_string(target.record.offset)));

  {
    auto log = dir.open();
    auto report = audit::verify_log(*log, {});
    REQUIRE(report.has_value());
    CHECK_FALSE(report->verified());
    REQUIRE(report->first_finding.has_value());
    const auto& finding = *report->first_finding;
    CHECK(finding.topic == kEvents);
    CHECK(finding.partition == target.record.partition);
    CHECK(finding.offset == target.record.offset);
    CHECK(finding.tenant_id == "tenant-2");
    CHECK(finding.sequence == 2);
    CHECK(finding.problem == "hash_mismatch");
    // The tenant's next event no longer follows an accepted one: also reported.
    CHECK(report->findings >= 2);
    // Another tenant alone still verifies; this one does not.
    audit::VerifyOptions other;
    other.tenant = "tenant-0";
    if (log::partition_for_key("tenant-0", kPartitions) != target.record.partition) {
      auto fine = audit::verify_log(*log, other);
      REQUIRE(fine.has_value());
      CHECK(fine->verified());
    }
    audit::VerifyOptions broken;
    broken.tenant = "tenant-2";
    auto bad = audit::verify_log(*log, broken);
    REQUIRE(bad.has_value());
    CHECK_FALSE(bad->verified());
  }
  CHECK(dir.run_verify({"--tenant", "tenant-2"}).code == 1);
}

// The embedded engine refuses to read past a hole in its store: verification stops
// with that error (exit 1), never "verified".
TEST_CASE("audit verify: a record removed from the store stops verification with where it is", "[audit][verify]") {
  LogDir dir;
  log::AcceptedRecord removed;
  {
    auto log = dir.open();
    write_events(*log, 3, 3);
    removed = find_event(*log, "tenant-1", 2);
  }
  remove_stored_record(dir.log_path(), removed.record.partition, removed.record.offset);
  const std::string where = kEvents + "/" + std::to_string(removed.record.partition) + ": offset " +
                            std::to_string(removed.record.offset) + " is missing";
  {
    auto log = dir.open();
    auto report = audit::verify_log(*log, {});
    REQUIRE_FALSE(report.has_value());
    CHECK_THAT(report.error().message, Catch::Contains(where));
  }
  auto run = dir.run_verify();
  CHECK(run.code == 1);
  CHECK_THAT(run.err, Catch::Contains("cannot complete"));
  CHECK_THAT(run.err, Catch::Contains(where));
  CHECK_THAT(run.out, !Catch::Contains("verified"));
}

namespace {

// An engine whose reads skip one offset, as a store that lost a record silently (or
// Kafka, whose transaction markers take offsets) would return them.
class SkippingLog : public log::EventLog {
 public:
  SkippingLog(log::EventLog& inner, int64_t skipped) : inner_(inner), skipped_(skipped) {}
  log::Result<void> create_topic(const log::TopicSpec& spec) override { return inner_.create_topic(spec); }
  log::Result<int32_t> partition_count(const std::string& topic) override { return inner_.partition_count(topic); }
  void append_async(log::AppendRequest request, log::AppendCallback done) override {
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
    auto reader = inner_.open_reader(topic, partition, from_offset);
    if (!reader) return reader;
    return std::unique_ptr<log::PartitionReader>(new Reader(std::move(*reader), skipped_));
  }
  log::Result<std::unique_ptr<log::GroupConsumer>> subscribe(const std::string& group,
                                                            const std::vector<std::string>& topics) override {
    return inner_.subscribe(group, topics);
  }

 private:
  struct Reader : log::PartitionReader {
    Reader(std::unique_ptr<log::PartitionReader> inner, int64_t skipped) : inner(std::move(inner)), skipped(skipped) {}
    log::Result<std::vector<log::StoredRecord>> read(size_t max_records, std::chrono::milliseconds wait) override {
      auto records = inner->read(max_records, wait);
      if (records) std::erase_if(*records, [&](const log::StoredRecord& r) { return r.offset == skipped; });
      return records;
    }
    int64_t position() const override { return inner->position(); }
    std::unique_ptr<log::PartitionReader> inner;
    int64_t skipped;
  };
  log::EventLog& inner_;
  int64_t skipped_;
};

}  // namespace

TEST_CASE("audit verify: a hole in the offsets is named, and so is the sequence gap it leaves", "[audit][verify]") {
  LogDir dir;
  auto log = dir.open();
  write_events(*log, 3, 3);
  const auto removed = find_event(*log, "tenant-1", 2);
  const auto next = find_event(*log, "tenant-1", 3);
  SkippingLog skipping(*log, removed.record.offset);
  audit::VerifyOptions options;
  options.tenant = std::nullopt;
  auto report = audit::verify_log(skipping, options);
  REQUIRE(report.has_value());
  REQUIRE(report->first_finding.has_value());
  CHECK(report->first_finding->partition == removed.record.partition);
  CHECK(report->first_finding->offset == removed.record.offset);
  CHECK(report->first_finding->problem == "missing_offsets");
  CHECK(report->findings == 2);
  // With holes allowed (Kafka), the chain still names the tenant's next event.
  options.contiguous_offsets = false;
  auto chain_only = audit::verify_log(skipping, options);
  REQUIRE(chain_only.has_value());
  REQUIRE(chain_only->first_finding.has_value());
  CHECK(chain_only->findings == 1);
  CHECK(chain_only->first_finding->offset == next.record.offset);
  CHECK(chain_only->first_finding->tenant_id == "tenant-1");
  CHECK(chain_only->first_finding->sequence == 3);
  CHECK(chain_only->first_finding->problem == "sequence_gap");
}

TEST_CASE("audit verify: forged records (wrong hash, skipped sequence, reordered pair) are named",
          "[audit][verify]") {
  LogDir dir;
  const std::string tenant = "tenant-1";
  const int32_t partition = log::partition_for_key(tenant, kPartitions);
  auto log = dir.open();
  write_events(*log, 4, 2);
  auto last = find_event(*log, tenant, 2);
  const uint64_t epoch = last.envelope.writer_epoch();
  const std::string head = last.envelope.hash();
  auto end = log->end_offset(kEvents, partition);
  REQUIRE(end.has_value());

  struct Forgery {
    std::string name;
    std::vector<log::Record> records;
    uint64_t named_sequence;
    std::string problem;
  };
  std::vector<Forgery> forgeries;
  {
    auto record = forged(tenant, 3, head, epoch);
    record.value[record.value.size() - 40] ^= 0x01;  // a byte under the hash, not in the trailer
    forgeries.push_back({"wrong hash", {record}, 0, ""});
  }
  {
    v1::EventEnvelope third;
    forged(tenant, 3, head, epoch, &third);
    // Seq 3 is "removed": 4 follows 2.
    forgeries.push_back({"skipped sequence", {forged(tenant, 4, third.hash(), epoch)}, 4, "sequence_gap"});
  }
  {
    v1::EventEnvelope third;
    auto record3 = forged(tenant, 3, head, epoch, &third);
    auto record4 = forged(tenant, 4, third.hash(), epoch);
    forgeries.push_back({"reordered pair", {record4, record3}, 4, "sequence_gap"});
  }
  {
    forgeries.push_back({"broken chain", {forged(tenant, 3, std::string(32, 'x'), epoch)}, 3, "previous_hash_mismatch"});
  }

  for (const auto& forgery : forgeries) {
    SECTION(forgery.name) {
      log::AppendRequest request;
      request.records = forgery.records;
      auto appended = log->append(std::move(request));
      REQUIRE(appended.has_value());
      const int64_t offset = appended->positions[0].offset;
      REQUIRE(offset == *end);

      auto report = audit::verify_log(*log, {});
      REQUIRE(report.has_value());
      CHECK_FALSE(report->verified());
      REQUIRE(report->first_finding.has_value());
      const auto& finding = *report->first_finding;
      INFO(finding.describe());
      CHECK(finding.partition == partition);
      CHECK(finding.offset == offset);
      CHECK(finding.tenant_id == tenant);
      if (forgery.named_sequence != 0) {
        CHECK(finding.sequence == forgery.named_sequence);
        CHECK(finding.problem == forgery.problem);
      } else {
        CHECK((finding.problem == "hash_mismatch" || finding.problem == "corrupt_record"));
      }

      log.reset();
      auto run = dir.run_verify();
      INFO(run.out << run.err);
      CHECK(run.code == 1);
      CHECK_THAT(run.err, Catch::Contains(kEvents + "/" + std::to_string(partition) + "@" + std::to_string(offset)));
    }
  }
}

TEST_CASE("audit verify: no log, or a log it cannot read, is never 'verified'", "[audit][verify]") {
  testing::ScratchDir empty;
  auto run = testing::run_to_end({TENANTRY_BINARY, "audit", "verify", "--data-dir", (empty.path() / "nothing").string()});
  CHECK(run.code == 1);
  CHECK_THAT(run.err, Catch::Contains("no embedded log"));
  CHECK_FALSE(std::filesystem::exists(empty.path() / "nothing"));

  LogDir dir;
  {
    auto log = dir.open();
    write_events(*log, 2, 1);
    // The log is open (locked) here: the command must fail, not verify nothing.
    auto locked = dir.run_verify();
    CHECK(locked.code == 1);
    CHECK_THAT(locked.err, Catch::Contains("cannot open the event log"));
  }
  auto usage = testing::run_to_end({TENANTRY_BINARY, "audit", "nonsense"});
  CHECK(usage.code == 2);
}
