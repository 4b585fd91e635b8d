// Runs one read model over every partition of an event topic. Each partition has a
// reader thread that batches accepted events, applies them to the model, and writes
// the model's changes together with the partition's next offset in one store write:
// after a crash the model resumes exactly where its state says, never counting an
// event twice or skipping one.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "connectors/log/accepted_reader.h"
#include "connectors/store/rocks_store.h"
#include "projections/read_model.h"

namespace tenantry::projections {

// The store family every runner keeps its offsets in.
inline constexpr const char* kOffsetsFamily = "projection_offsets";

struct RunnerOptions {
  std::string topic = "tenantry.events";
  size_t max_batch_events = 1000;                  // events per store write at most
  std::chrono::milliseconds idle_wait{200};        // how long a reader blocks when caught up
  bool sync = false;                               // fsync each batch (the log is the source of truth)
  // events: sealed envelopes under the accepted-history rules; fenced: any records
  // (replies, access records), zombie writers' passed over, AcceptedRecord::envelope empty.
  log::TopicKind kind = log::TopicKind::events;
};

struct PartitionLag {
  int32_t partition = 0;
  int64_t applied_offset = 0;  // next offset the model will apply
  int64_t end_offset = 0;
};

class ProjectionRunner {
 public:
  ProjectionRunner(log::EventLog& log, store::RocksStore& store, ReadModel& model, RunnerOptions options = {});
  ~ProjectionRunner();

  // Starts one reader thread per partition, from the offsets stored with the model.
  log::Result<void> start();
  // Stops the threads; batches already written stay.
  void stop();
  // Erases the model's keys and offsets, then starts again from offset 0.
  log::Result<void> rebuild();

  // Applies whatever is available now on every partition, on the caller's thread
  // (for tools and tests; not while started). Returns events applied.
  log::Result<int64_t> catch_up();

  std::vector<PartitionLag> lag();
  bool caught_up();
  std::vector<log::Violation> violations();
  // The first error that stopped a reader thread, if any.
  std::optional<log::Error> failure();

 private:
  struct Partition;
  log::Result<void> open_partitions();
  log::Result<int64_t> step(Partition& partition, std::chrono::milliseconds wait);
  void run(Partition& partition);
  std::string offset_key(int32_t partition) const;

  log::EventLog& log_;
  store::RocksStore& store_;
  ReadModel& model_;
  RunnerOptions options_;
  std::vector<std::unique_ptr<Partition>> partitions_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;  // guards violations_ and failure_
  std::vector<log::Violation> violations_;
  std::optional<log::Error> failure_;
};

}  // namespace tenantry::projections
