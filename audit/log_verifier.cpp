#include "audit/log_verifier.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "connectors/log/history_rules.h"

namespace tenantry::audit {

namespace {

// A reader at the end offset seen at the start has records to return; this long
// without any means the engine is stuck, and verification must not claim success.
constexpr std::chrono::milliseconds kReadWait(10000);

// A record whose hash does not verify is still worth naming by the tenant and
// sequence it claims, so that an auditor can find it; marked as claimed.
Finding from_violation(const log::Violation& violation, const log::StoredRecord& record) {
  Finding finding{violation.topic,     violation.partition, violation.offset, violation.tenant_id,
                  violation.sequence, log::to_string(violation.kind), violation.detail};
  if (finding.sequence == 0) {
    v1::EventEnvelope claimed;
    if (claimed.ParseFromString(record.value) && claimed.sequence() != 0) {
      finding.sequence = claimed.sequence();
      if (!claimed.tenant_id().empty()) finding.tenant_id = claimed.tenant_id();
      finding.detail += finding.detail.empty() ? "" : "; ";
      finding.detail += "tenant and sequence as the record claims them";
    }
  }
  return finding;
}

struct Walk {
  int64_t end_offset = 0;
  int64_t fenced = 0;
  int64_t claims = 0;
  uint64_t epoch = 0;
  size_t tenants = 0;
};

// A read batch (1,000 records, about 1 MB with the blocks they were read from) is
// larger than this machine's L2, so by the time a record is checked, its
// StoredRecord and its key, headers and value (heap blocks of their own) have left
// the cache, and each first touch would wait for memory. They are fetched ahead
// instead: the StoredRecord 8 records ahead, its parts (found through it) 4 ahead.
constexpr size_t kPrefetchRecordsAhead = 8;
constexpr size_t kPrefetchPartsAhead = 4;
constexpr size_t kPrefetchValueBytes = 2048;  // events are ~600 B; a larger one streams

void prefetch_record(const log::StoredRecord& record) {
  const char* at = reinterpret_cast<const char*>(&record);
  for (size_t line = 0; line < sizeof(log::StoredRecord); line += 64) __builtin_prefetch(at + line);
  __builtin_prefetch(at + sizeof(log::StoredRecord) - 1);
}

void prefetch_parts(const log::StoredRecord& record) {
  __builtin_prefetch(record.key.data());
  __builtin_prefetch(record.headers.data());
  // The value: the envelope's fields are read from it, then both SHA-256.
  const size_t bytes = std::min(record.value.size(), kPrefetchValueBytes);
  for (size_t at = 0; at < bytes; at += 64) __builtin_prefetch(record.value.data() + at);
}

// Reads [0, end) of one partition through the accepted-history rules
// (PartitionHistory::check, the rules AcceptedReader applies, without building
// envelopes), in offset order. The rules are applied here rather than through
// AcceptedReader so that a violating record's bytes are at hand to name it.
// on_accepted(record, fields), on_finding(Finding).
template <class OnAccepted, class OnFinding>
log::Result<Walk> walk_partition(log::EventLog& log, const std::string& topic, int32_t partition,
                                 size_t batch_records, const std::optional<std::string>& tenant,
                                 bool contiguous_offsets, OnAccepted&& on_accepted, OnFinding&& on_finding) {
  Walk walk;
  auto end = log.end_offset(topic, partition);
  if (!end) return std::unexpected(end.error());
  walk.end_offset = *end;
  auto reader = log.open_reader(topic, partition, 0);
  if (!reader) return std::unexpected(reader.error());
  log::PartitionHistory history(log::TopicKind::events);
  log::RuleOutcome outcome;  // reused from record to record
  uint64_t last_epoch = 0;
  int64_t expected_offset = 0;
  while (expected_offset < walk.end_offset) {
    auto records = (*reader)->read(batch_records, kReadWait);
    if (!records) return std::unexpected(records.error());
    if (records->empty()) {
      return log::fail(log::ErrorCode::timeout, topic + "/" + std::to_string(partition) +
                                                    ": no record returned before end offset " +
                                                    std::to_string(walk.end_offset) + " (at " +
                                                    std::to_string(expected_offset) + ")");
    }
    const size_t count = records->size();
    for (size_t i = 0; i < std::min(kPrefetchRecordsAhead, count); ++i) prefetch_record((*records)[i]);
    for (size_t i = 0; i < std::min(kPrefetchPartsAhead, count); ++i) prefetch_parts((*records)[i]);
    for (size_t i = 0; i < count; ++i) {
      if (i + kPrefetchRecordsAhead < count) prefetch_record((*records)[i + kPrefetchRecordsAhead]);
      if (i + kPrefetchPartsAhead < count) prefetch_parts((*records)[i + kPrefetchPartsAhead]);
      const log::StoredRecord& record = (*records)[i];
      if (record.offset >= walk.end_offset) break;
      // Offsets are contiguous from 0 (the log's contract): a hole is a removed record.
      if (contiguous_offsets && record.offset != expected_offset) {
        Finding hole{topic, partition, expected_offset, "", 0, "missing_offsets",
                     "offsets " + std::to_string(expected_offset) + ".." + std::to_string(record.offset - 1) +
                         " are not in the log"};
        if (!tenant) on_finding(std::move(hole));
      }
      expected_offset = record.offset + 1;
      history.check(record, outcome);
      switch (outcome.verdict) {
        case log::Verdict::accepted: {
          const log::EnvelopeFields& event = outcome.fields;
          // The rules accept only events at the current epoch, which claims only
          // raise; checked again so that a change to the rules cannot pass silently.
          if (event.writer_epoch < last_epoch && (!tenant || event.tenant_id == *tenant)) {
            on_finding(Finding{topic, partition, record.offset, std::string(event.tenant_id), event.sequence,
                               "epoch_regression",
                               "epoch " + std::to_string(event.writer_epoch) + " after " + std::to_string(last_epoch)});
          }
          last_epoch = std::max(last_epoch, event.writer_epoch);
          on_accepted(record, event);
          break;
        }
        case log::Verdict::claim: ++walk.claims; break;
        case log::Verdict::stale_claim: break;
        case log::Verdict::fenced: ++walk.fenced; break;
        case log::Verdict::violation: {
          Finding finding = from_violation(*outcome.violation, record);
          if (!tenant || record.key == *tenant || finding.tenant_id == *tenant) on_finding(std::move(finding));
          break;
        }
      }
    }
  }
  walk.epoch = history.epoch();
  walk.tenants = tenant ? (history.head(*tenant) ? 1 : 0) : history.tenants();
  return walk;
}

}  // namespace

std::string Finding::describe() const {
  std::string text = topic + "/" + std::to_string(partition) + "@" + std::to_string(offset);
  if (!tenant_id.empty()) text += " tenant " + tenant_id;
  if (sequence != 0) text += " seq " + std::to_string(sequence);
  text += ": " + problem;
  if (!detail.empty()) text += " (" + detail + ")";
  return text;
}

namespace {

// One partition's part of the report, kept apart until every partition is done so
// that the report reads as if they had been verified in order.
struct PartitionOutcome {
  PartitionReport report;
  std::optional<Finding> first_finding;
  int64_t findings = 0;
  std::optional<log::Error> error;
};

void verify_partition(log::EventLog& log, const VerifyOptions& options, size_t batch_records,
                      PartitionOutcome& out) {
  PartitionReport& partition = out.report;
  MerkleAccumulator tree;
  auto walk = walk_partition(
      log, options.topic, partition.partition, batch_records, options.tenant, options.contiguous_offsets,
      [&](const log::StoredRecord& record, const log::EnvelopeFields& event) {
        // The leaf is the stored value, hash trailer included: the bytes as written,
        // ciphertext where a payload is encrypted.
        tree.append(leaf_hash(record.value));
        if (!options.tenant || event.tenant_id == *options.tenant) ++partition.tenant_events;
      },
      [&](Finding finding) {
        if (!out.first_finding) out.first_finding = std::move(finding);
        ++out.findings;
      });
  if (!walk) {
    out.error = walk.error();
    return;
  }
  partition.end_offset = walk->end_offset;
  partition.events = static_cast<int64_t>(tree.size());
  partition.fenced = walk->fenced;
  partition.claims = walk->claims;
  partition.epoch = walk->epoch;
  partition.tenants = walk->tenants;
  partition.root = tree.root();
}

}  // namespace

log::Result<VerifyReport> verify_log(log::EventLog& log, const VerifyOptions& options) {
  auto partitions = log.partition_count(options.topic);
  if (!partitions) return std::unexpected(partitions.error());
  const size_t batch_records = std::max<size_t>(options.batch_records, 1);
  std::vector<PartitionOutcome> outcomes;
  for (int32_t p = 0; p < *partitions; ++p) {
    if (options.tenant && log::partition_for_key(*options.tenant, *partitions) != p) continue;
    outcomes.emplace_back().report.partition = p;
  }
  size_t threads = options.threads != 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  threads = std::min(threads, outcomes.size());
  // Partitions are taken in order, a partition taken is always read, and no more are
  // taken after an error: every partition before a failed one has been read in full,
  // as one after another, so the error reported is the first in partition order.
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  auto work = [&] {
    while (!failed) {
      const size_t i = next++;
      if (i >= outcomes.size()) return;
      verify_partition(log, options, batch_records, outcomes[i]);
      if (outcomes[i].error) failed = true;
    }
  };
  if (threads <= 1) {
    work();
  } else {
    std::vector<std::thread> workers;
    for (size_t t = 0; t < threads; ++t) workers.emplace_back(work);
    for (auto& worker : workers) worker.join();
  }
  VerifyReport report;
  report.topic = options.topic;
  for (auto& outcome : outcomes) {
    if (outcome.error) return std::unexpected(std::move(*outcome.error));
    if (!report.first_finding && outcome.first_finding) report.first_finding = std::move(outcome.first_finding);
    report.findings += outcome.findings;
    report.partitions.push_back(std::move(outcome.report));
  }
  return report;
}

log::Result<PartitionLeaves> read_partition_leaves(log::EventLog& log, const std::string& topic,
                                                   int32_t partition) {
  PartitionLeaves leaves;
  auto walk = walk_partition(
      log, topic, partition, 1000, std::nullopt, /*contiguous_offsets=*/false,
      [&](const log::StoredRecord& record, const log::EnvelopeFields&) {
        leaves.leaf_hashes.push_back(leaf_hash(record.value));
        leaves.offsets.push_back(record.offset);
      },
      [&](Finding finding) {
        if (!leaves.first_finding) leaves.first_finding = std::move(finding);
      });
  if (!walk) return std::unexpected(walk.error());
  return leaves;
}

}  // namespace tenantry::audit
