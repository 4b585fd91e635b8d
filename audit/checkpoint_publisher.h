// Publishes signed checkpoints (checkpoint.h) of the stored Merkle trees
// (merkle_store.h): periodically for every partition whose tree grew since its last
// checkpoint, and on demand. Each is appended to the checkpoints topic first (the
// public record auditors and witnesses follow; durable before anyone is shown it),
// then kept in the store, where the latest and any earlier one are found by size.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/merkle_store.h"
#include "connectors/log/event_log.h"
#include "connectors/store/rocks_store.h"

namespace tenantry::audit {

inline constexpr const char* kCheckpointsFamily = "audit_checkpoints";

struct CheckpointOptions {
  std::string events_topic = "tenantry.events";
  std::string checkpoints_topic = "tenantry.checkpoints";
  std::string key_name = "tenantry";
  std::chrono::milliseconds interval{60000};  // zero: on demand only
};

struct PublishedCheckpoint {
  Checkpoint checkpoint;
  std::string text;  // the signed note, as published
};

class CheckpointPublisher {
 public:
  CheckpointPublisher(log::EventLog& log, store::RocksStore& store, MerkleTrees& trees, PrivateKey key,
                      std::function<int64_t()> now_us, CheckpointOptions options);
  ~CheckpointPublisher();
  CheckpointPublisher(const CheckpointPublisher&) = delete;
  CheckpointPublisher& operator=(const CheckpointPublisher&) = delete;

  // Starts the periodic publication (when the interval is not zero).
  void start();
  void stop();

  // Signs and publishes a checkpoint of each partition whose tree grew since its latest
  // one (of every non-empty partition when `force`). One publication at a time.
  log::Result<std::vector<PublishedCheckpoint>> publish(bool force);

  log::Result<std::optional<PublishedCheckpoint>> latest(int32_t partition);
  // The checkpoint that signed exactly this tree size, if one was published.
  log::Result<std::optional<PublishedCheckpoint>> at_size(int32_t partition, uint64_t tree_size);

  const PublicKey& public_key() const { return public_key_; }
  const std::string& key_name() const { return options_.key_name; }
  const std::string& events_topic() const { return options_.events_topic; }
  // The last periodic publication's error, if it failed.
  std::optional<std::string> last_failure();

 private:
  void run();

  log::EventLog& log_;
  store::RocksStore& store_;
  MerkleTrees& trees_;
  PrivateKey key_;
  PublicKey public_key_;
  std::function<int64_t()> now_us_;
  CheckpointOptions options_;
  std::mutex publish_mutex_;
  std::mutex mutex_;  // guards stopping_, last_failure_
  std::condition_variable wake_;
  bool stopping_ = false;
  std::optional<std::string> last_failure_;
  std::thread thread_;
};

}  // namespace tenantry::audit
