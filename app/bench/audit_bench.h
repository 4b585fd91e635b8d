// `tenantry bench audit`: the auditor's work over a large event log on the embedded
// engine, beside the raw read of the same log in the same run: verification
// (audit::verify_log), replay of every tenant's state with the aggregate's evolve,
// building the stored Merkle trees (MerkleTreeModel through a ProjectionRunner), and
// inclusion and consistency proofs read from them (MerkleTrees).
//
// The log is built first, fast, but as the real writer leaves it: each partition is
// claimed by a FencedWriter, and every event is sealed by the envelope codec at the
// claim's epoch (sequence from 1 per tenant, previous_hash chained, epoch header), so
// `tenantry audit verify` accepts it; the bench fails if verify_log does not.
//
// Figures come in two widths, compared like with like: one thread (the raw read and
// verify_log with threads = 1), and `threads` threads dividing the partitions (the raw
// read, verify_log, and the replay). Building the stored trees runs on the caller's
// thread (ProjectionRunner::catch_up); the raw RocksDB scan is one iterator.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "app/bench/kafka_bench.h"  // ThroughputFigure

namespace tenantry::bench {

struct AuditBenchOptions {
  std::string dir;              // scratch directory; the log is dir/log (a --data-dir)
  int64_t events = 5000000;
  int tenants = 10000;          // at most 1,000,000 (the build holds a chain head per tenant)
  int partitions = 32;
  int64_t proofs = 10000;       // sampled per kind of proof
  int runs = 1;                 // runs of the read, verify and replay figures (median reported)
  int threads = 2;              // the parallel figures', and the build's sealing threads
  size_t read_batch_records = 1000;  // per read, for the raw read as for verify and replay
  bool keep = false;            // leave the scratch directory in place
  uint64_t seed = 42;
};

struct ProofLatency {
  int64_t samples = 0;
  double p50_us = 0;
  double p99_us = 0;
  double max_us = 0;
};

struct AuditFigures {
  // The log as built.
  int64_t events = 0;
  int64_t records = 0;              // events and the writers' claims, as the raw scan counts them
  double bytes_per_record = 0;      // stored key and value, as the raw scan copies them
  double payload_bytes_mean = 0;    // the events' payloads (TenantRegistered, TenantConfigured)
  double build_seconds = 0;         // claiming, sealing and appending (not a target)
  double settle_seconds = 0;        // flushing the memtables and waiting out compactions
  int threads = 1;
  // Medians over the runs by rate (merkle_build: one run).
  ThroughputFigure raw_rocksdb_scan{"raw_rocksdb_scan", 0, 0, 0};  // the engine's records family, one iterator
  ThroughputFigure raw_read{"raw_read", 0, 0, 0};                  // a PartitionReader per partition, nothing else
  ThroughputFigure raw_read_parallel{"raw_read_parallel", 0, 0, 0};
  ThroughputFigure verify{"verify", 0, 0, 0};                      // audit::verify_log over the topic
  ThroughputFigure verify_parallel{"verify_parallel", 0, 0, 0};
  ThroughputFigure replay{"replay_to_state", 0, 0, 0};             // every tenant's state through evolve (threads)
  ThroughputFigure merkle_build{"merkle_build", 0, 0, 0};          // ProjectionRunner + MerkleTreeModel, catch_up
  // What the work found, from the last run.
  bool verified = false;            // both verify_log runs, with the same roots
  int64_t verified_events = 0;      // accepted events, the Merkle trees' leaves
  int64_t findings = 0;
  std::string first_finding;
  int64_t replayed_events = 0;
  int64_t replayed_tenants = 0;
  bool states_match_sequences = false;  // every state exists, its version = its last sequence
  bool roots_match = false;             // MerkleTrees::root(p, size) == verify_log's root, every partition
  bool proofs_verified = false;         // every sampled proof checks against the stored roots
  ProofLatency inclusion;               // inclusion_proof(p, random index, full size)
  ProofLatency consistency;             // consistency_proof(p, random old size, random new size)
  ProofLatency locate_and_inclusion;    // locate(tenant, sequence), then its inclusion proof
};

// On failure returns what was measured so far and sets *error.
AuditFigures bench_audit(const AuditBenchOptions& options, std::string* error);

}  // namespace tenantry::bench
