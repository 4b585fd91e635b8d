#include "audit/log_verifier.h"

#include <atomic>
#include <chrono>
#include <functional>
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

using OnAccepted = std::function<void(const log::StoredRecord&, const v1::EventEnvelope&)>;
using OnFinding = std::function<void(Finding)>;

// Reads [0, end) of one partition through the accepted-history rules
// (PartitionHistory, as AcceptedReader applies them), in offset order. The rules are
// applied here rather than through AcceptedReader so that a violating record's bytes
// are at hand to name it.
log::Result<Walk> walk_partition(log::EventLog& log, const std::string& topic, int32_t partition,
                                 size_t batch_records, const std::optional<std::string>& tenant,
                                 bool contiguous_offsets, const OnAccepted& on_accepted,
                                 const OnFinding& on_finding) {
  Walk walk;
  auto end = log.end_offset(topic, partition);
  if (!end) return std::unexpected(end.error());
  walk.end_offset = *end;
  auto reader = log.open_reader(topic, partition, 0);
  if (!reader) return std::unexpected(reader.error());
  log::PartitionHistory history(log::TopicKind::events);
  log::RuleOutcome outcome;  // reused: its envelope keeps its storage from record to record
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
    for (const auto& record : *records) {
      if (record.offset >= walk.end_offset) break;
      // Offsets are contiguous from 0 (the log's contract): a hole is a removed record.
      if (contiguous_offsets && record.offset != expected_offset) {
        Finding hole{topic, partition, expected_offset, "", 0, "missing_offsets",
                     "offsets " + std::to_string(expected_offset) + ".." + std::to_string(record.offset - 1) +
                         " are not in the log"};
        if (!tenant) on_finding(std::move(hole));
      }
      expected_offset = record.offset + 1;
      history.apply(record, outcome);
      switch (outcome.verdict) {
        case log::Verdict::accepted: {
          const uint64_t epoch = outcome.envelope.writer_epoch();
          // The rules accept only events at the current epoch, which claims only
          // raise; checked again so that a change to the rules cannot pass silently.
          if (epoch < last_epoch && (!tenant || outcome.envelope.tenant_id() == *tenant)) {
            on_finding(Finding{topic, partition, record.offset, outcome.envelope.tenant_id(),
                               outcome.envelope.sequence(), "epoch_regression",
                               "epoch " + std::to_string(epoch) + " after " + std::to_string(last_epoch)});
          }
          last_epoch = std::max(last_epoch, epoch);
          on_accepted(record, outcome.envelope);
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
  walk.tenants = tenant ? (history.head(*tenant) != nullptr ? 1 : 0) : history.tenants();
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
      [&](const log::StoredRecord& record, const v1::EventEnvelope& envelope) {
        // The leaf is the stored value, hash trailer included: the bytes as written,
        // ciphertext where a payload is encrypted.
        tree.append(leaf_hash(record.value));
        if (!options.tenant || envelope.tenant_id() == *options.tenant) ++partition.tenant_events;
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
      [&](const log::StoredRecord& record, const v1::EventEnvelope&) {
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
