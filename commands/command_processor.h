// The write side: consumes the commands topic as a member of the processor group
// and, for each partition it holds, is the single writer of that partition of the
// events and replies topics (claimed with a writer epoch, see FencedWriter).
//
// Per command, in partition order: idempotency (a repeated id returns the original
// reply; the same id with another body is a conflict), the optional expected
// version, the aggregate's decision, then one atomic append of the events, the reply
// and the commands offset. Commands are batched: one append (one fsync) serves many.
//
// Its local store (tenant states, replies by command id, applied offsets) is only a
// cache of the events and replies topics: after a crash, or with the store deleted,
// it catches up from the log before taking new commands.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>

#include "commands/aggregate.h"
#include "connectors/clock/clock.h"
#include "connectors/log/accepted_reader.h"
#include "connectors/log/fenced_writer.h"
#include "connectors/store/rocks_store.h"

namespace tenantry::commands {

struct ProcessorOptions {
  std::string commands_topic = "tenantry.commands";
  std::string events_topic = "tenantry.events";
  std::string replies_topic = "tenantry.replies";
  std::string group = "tenantry.processor";
  std::string writer_id = "tenantry";
  size_t max_batch_commands = 500;           // commands per append at most
  std::chrono::milliseconds idle_wait{200};  // poll wait when there is nothing to do
};

class CommandProcessor {
 public:
  CommandProcessor(log::EventLog& log, store::RocksStore& store, const Aggregate& aggregate,
                   const clock::Clock& clock, ProcessorOptions options = {});
  ~CommandProcessor();

  // The store families the processor needs (open the store with them).
  static std::vector<std::string> store_families();

  // Joins the group and processes on a thread of its own until stop().
  log::Result<void> start();
  void stop();
  // Processes what the group hands over within `wait`, on the caller's thread (tools,
  // tests; not while started). Returns the number of commands handled.
  log::Result<int64_t> process_available(std::chrono::milliseconds wait);
  std::optional<log::Error> failure();

 private:
  struct Partition;
  // One partition's share of a poll: decided and sealed, not yet appended.
  struct Work {
    Partition* partition = nullptr;
    int64_t commands = 0;
    size_t event_count = 0;  // the first records of `request` are events
    log::AppendRequest request;
    std::unordered_map<std::string, std::string> states;   // tenant -> state after the batch
    std::unordered_map<std::string, std::string> replies;  // reply key -> reply to remember
  };
  log::Result<Partition*> partition(int32_t id);
  log::Result<void> catch_up(Partition& partition);
  log::Result<Work> handle(Partition& partition, std::vector<log::StoredRecord>& records);
  log::Result<int64_t> commit(std::vector<Work>& works);
  log::Result<std::unique_ptr<log::GroupConsumer>*> consumer();
  void run();

  log::EventLog& log_;
  store::RocksStore& store_;
  const Aggregate& aggregate_;
  const clock::Clock& clock_;
  ProcessorOptions options_;
  std::unique_ptr<log::GroupConsumer> consumer_;
  std::map<int32_t, std::unique_ptr<Partition>> partitions_;
  std::mt19937_64 random_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::optional<log::Error> failure_;
};

}  // namespace tenantry::commands
