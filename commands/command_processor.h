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
// it catches up from the log before taking new commands. In memory it keeps the
// tenants' states decoded (an LRU bounded in bytes) and what it has appended but not
// yet written to the store; that store write happens every few thousand commands,
// always with the offsets the written states and replies reflect, never ahead.
//
// Losing a partition is that partition's business only. When a newer writer claims
// one (another processor after a rebalance, or any writer), the processor's next
// append to it is fenced out: the partition is let go (its cache, unwritten replies
// and offsets dropped), the group member is moved back to the end of its last
// landed batch, and the other partitions go on. If its commands come again, it is
// claimed anew (an epoch above the newer writer's), caught up from the log, and the
// commands are decided again. A partition the group no longer assigns is let go too.
#pragma once

#include <atomic>
#include <chrono>
#include <future>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>

#include "commands/aggregate.h"
#include "commands/name_registry.h"
#include "connectors/clock/clock.h"
#include "connectors/log/accepted_reader.h"
#include "connectors/log/fenced_writer.h"
#include "connectors/store/rocks_store.h"

namespace tenantry::commands {

// For processors of one group that share one store (ProcessorGroup makes one): which
// of them each partition's keys in the store belong to. A processor that lost a
// partition but has not noticed yet must not write that partition's states and
// offsets once the new holder has caught up from the store (catch-up would then
// apply events twice); the holder is recorded, and the store written, under the mutex.
class CommandProcessor;
struct SharedStore {
  std::mutex mutex;
  std::unordered_map<int32_t, const CommandProcessor*> holders;  // partition -> processor
};

struct ProcessorOptions {
  std::string commands_topic = "tenantry.commands";
  std::string events_topic = "tenantry.events";
  std::string replies_topic = "tenantry.replies";
  std::string group = "tenantry.processor";
  std::string writer_id = "tenantry";
  size_t max_batch_commands = 500;           // commands per append at most
  std::chrono::milliseconds idle_wait{200};  // poll wait when there is nothing to do
  // Claims the names commands take before deciding them, and releases those events
  // give back (see name_registry.h). Null: names are not reserved platform-wide.
  NameRegistry* names = nullptr;
  // Decoded tenant states kept in memory (least recently used go first). States not
  // yet in the store stay until the next store write, so the cache can exceed this by
  // at most max_unwritten_commands entries.
  size_t state_cache_bytes = 32u << 20;
  // The store write (states, replies, offsets) comes after this many commands, or
  // this long after the oldest unwritten one, or when the log goes quiet. A crash
  // loses nothing but the catch-up of these commands from the log.
  int64_t max_unwritten_commands = 4096;
  std::chrono::milliseconds max_unwritten_age{250};
  // Set when other processors write the same store (see SharedStore).
  std::shared_ptr<SharedStore> shared_store;
};

// What the processor holds in memory, for tests and benchmarks.
struct ProcessorMemory {
  size_t cached_states = 0;
  size_t cached_state_bytes = 0;   // as the states count themselves, plus the cache's own entry
  size_t unwritten_replies = 0;
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
  // Writes what is appended but not yet in the store (on the caller's thread; not
  // while started). stop() does it too.
  log::Result<void> write_cache();
  ProcessorMemory memory() const;

 private:
  struct Partition;
  // One partition's share of a poll: decided and sealed, not yet appended.
  struct Work {
    Partition* partition = nullptr;
    int64_t commands = 0;
    int64_t commands_end = 0;  // the commands offset after the batch
    size_t event_count = 0;  // the first records of `request` are events
    log::WriterAppend append;    // as decided
    log::AppendRequest request;  // as sealed
    // Tenant -> state after the batch (copies: the cache changes only once appended).
    std::unordered_map<std::string, std::unique_ptr<LoadedState>> states;
    std::unordered_map<std::string, std::string> replies;  // reply key -> reply to remember
    std::vector<NameRequest> releases;  // names the batch's events give back, once durable
  };
  struct CachedState {
    std::string tenant;
    int32_t partition = 0;
    std::unique_ptr<LoadedState> state;
    size_t bytes = 0;
    bool unwritten = false;  // newer than the store: not evictable until written
  };
  using CacheList = std::list<CachedState>;

  log::Result<Partition*> partition(int32_t id);
  log::Result<void> catch_up(Partition& partition);
  log::Result<Work> handle(Partition& partition, std::vector<log::StoredRecord>& records);
  // Seals the works and hands them to the log as one append.
  log::Result<std::future<log::Result<log::AppendResult>>> submit(std::vector<Work>& works);
  struct Landed {
    int64_t commands = 0;
    // Partitions whose share was fenced out by a newer claim: nothing of it landed,
    // and the caller lets them go (let_go) once no work points at them.
    std::vector<int32_t> fenced;
  };
  // After the append: the writers' views, the cache and the unwritten offsets.
  log::Result<Landed> land(std::vector<Work>& works, log::Result<log::AppendResult> appended);
  log::Result<Landed> commit(std::vector<Work>& works);  // submit, wait, land
  // Whether the replies partition holds a claim above the partition's epoch before
  // `to_offset` (read from where its own replies last ended).
  log::Result<bool> replies_claimed(const Partition& partition, int64_t to_offset);
  // For a partition a newer writer claimed: forget it, and move the group member back
  // to where its last landed batch ended, so the commands of the fenced batches (and
  // any polled after them) come again and are decided after a new claim.
  log::Result<void> let_go(int32_t partition);
  // The commands partitions the group assigns to this member now.
  std::vector<int32_t> assigned_partitions();
  // A poll's records split by partition, keeping only assigned partitions (moved out).
  static std::map<int32_t, std::vector<log::StoredRecord>> by_assigned_partition(
      std::vector<log::StoredRecord>& records, const std::vector<int32_t>& assigned);
  // Lets go of held partitions the group no longer assigns (none may be in flight).
  void let_go_unassigned(const std::vector<int32_t>& assigned);
  struct Flight {
    std::vector<Work> works;
    std::future<log::Result<log::AppendResult>> result;
  };
  log::Result<void> pipeline_step(std::optional<Flight>& flight);
  log::Result<std::unique_ptr<log::GroupConsumer>*> consumer();
  void run();
  // The tenant's state as of everything appended: cache, else store (then cached).
  log::Result<const LoadedState*> cached_state(int32_t partition, const std::string& tenant);
  void cache_state(int32_t partition, const std::string& tenant, std::unique_ptr<LoadedState> state,
                   bool unwritten);
  void evict_states();
  // Drops the partition's cached states and unwritten changes (the store stays
  // consistent, only older): for a partition that is claimed and caught up again,
  // or held by another processor now.
  void forget(int32_t partition);
  bool cache_write_due(bool idle) const;

  log::EventLog& log_;
  store::RocksStore& store_;
  const Aggregate& aggregate_;
  const clock::Clock& clock_;
  ProcessorOptions options_;
  std::unique_ptr<log::GroupConsumer> consumer_;
  std::map<int32_t, std::unique_ptr<Partition>> partitions_;
  // Decoded states, most recently used first; index by tenant.
  CacheList cache_;
  std::unordered_map<std::string_view, CacheList::iterator> cache_index_;
  size_t cache_bytes_ = 0;
  std::vector<CacheList::iterator> unwritten_states_;
  int64_t unwritten_commands_ = 0;
  std::chrono::steady_clock::time_point unwritten_since_;
  std::atomic<size_t> reported_states_{0};
  std::atomic<size_t> reported_state_bytes_{0};
  std::atomic<size_t> reported_replies_{0};
  std::mt19937_64 random_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::optional<log::Error> failure_;
};

}  // namespace tenantry::commands
