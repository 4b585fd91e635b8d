// Walks an event topic and checks it from the stored bytes alone: per tenant,
// sequences contiguous from 1 and each previous_hash the hash of the event before
// (the accepted-history rules of history_rules.h, as every reader applies them), every
// hash trailer over the stored bytes, and writer epochs that never go back. Reports
// the first broken record and a Merkle root (RFC 9162) per partition over the
// accepted events' stored bytes.
//
// Memory: one read batch and O(log n) Merkle peaks per partition being read, plus the
// rules' chain head per tenant (sequence and 32-byte hash) of those partitions.
// Partitions are independent (a tenant's events are all in one), so up to `threads`
// of them are read at once, each to its end offset as seen when its reading starts;
// the report is the same whatever the number of threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "audit/merkle.h"
#include "connectors/log/event_log.h"

namespace tenantry::audit {

struct VerifyOptions {
  std::string topic = "tenantry.events";
  // When set: only this tenant's partition is read, and only its problems count.
  std::optional<std::string> tenant;
  size_t batch_records = 1000;  // per read; bounds memory
  // Offsets are contiguous on the embedded engine, so a hole is a removed record. On
  // Kafka transaction markers take offsets too: leave this off there.
  bool contiguous_offsets = true;
  // Partitions verified at once, each on its own thread; 0: one per core. Verifying a
  // record costs reading it plus 1-2 us here, most of it two SHA-256 over its
  // bytes (the hash trailer, the Merkle leaf), so an auditor's machine is CPU-bound
  // here, not I/O-bound.
  size_t threads = 0;
};

// A broken record: where it is and what is wrong with it.
struct Finding {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string tenant_id;
  uint64_t sequence = 0;   // 0 when the record could not be read as an event
  std::string problem;     // a ViolationKind name, epoch_regression or missing_offsets
  std::string detail;

  // "tenantry.events/3@17 tenant acme seq 5: sequence_gap (expected 4)"
  std::string describe() const;
};

struct PartitionReport {
  int32_t partition = 0;
  int64_t end_offset = 0;   // records [0, end_offset) were read
  int64_t events = 0;       // accepted events, the Merkle tree's leaves
  int64_t tenant_events = 0;  // of those, the --tenant's (all when no tenant is set)
  int64_t fenced = 0;       // zombie writers' records, passed over by the rules
  int64_t claims = 0;       // effective writer claims
  uint64_t epoch = 0;       // the writer epoch in effect at the end
  size_t tenants = 0;       // tenants with at least one accepted event
  Hash root{};              // MTH over the accepted events' stored bytes
};

struct VerifyReport {
  std::string topic;
  std::vector<PartitionReport> partitions;
  std::optional<Finding> first_finding;  // in partition order, then offset order
  int64_t findings = 0;
  bool verified() const { return findings == 0; }
};

// Errors are the log's (unreadable, timeout); a broken log is a report with findings.
log::Result<VerifyReport> verify_log(log::EventLog& log, const VerifyOptions& options);

// The stored bytes of the accepted events of one partition, in offset order, as leaf
// hashes, with their offsets: the tree `verify_log` reports the root of. Holds 40
// bytes per event (for proofs; verification itself does not need it).
struct PartitionLeaves {
  std::vector<Hash> leaf_hashes;
  std::vector<int64_t> offsets;
  std::optional<Finding> first_finding;
};
log::Result<PartitionLeaves> read_partition_leaves(log::EventLog& log, const std::string& topic,
                                                   int32_t partition);

}  // namespace tenantry::audit
