// The metering projection: usage events from tenantry.usage (kind fenced), each counted
// exactly once into every meter that takes its type, per window (minute, hour, day,
// month) and group, per tenant and platform-wide. The dedup key of (tenant, event id)
// and the aggregates it protects are staged in the same batch, which the projection
// runner writes with the input offsets: a failed write followed by a retry counts
// once, and a client's retry after success (a second record with the same id) counts
// zero more times. Within a batch each aggregate is kept decoded in memory and written
// once at the batch's end.
//
// Keys of the family, each starting with the tenant id ("" for platform totals):
//   tenant '\0' 'd' event id                                     -> first ingestion time
//   tenant '\0' 'a' meter '\0' window start [shard] group        -> Aggregate
//   tenant '\0' 'u' meter '\0' window start [shard] group '\0' value -> "" (UNIQUE_COUNT's set)
//   tenant '\0' 't' meter '\0' time offset -> amount, event id   (meters that keep transactions)
// shard: platform totals only, the partition (4 bytes): partitions are applied on
// threads of their own, and must never read-modify-write one key.
// window: one letter (m, h, d, M), then the start as 8 bytes big-endian with the sign
// bit flipped, so keys sort by time.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>
#include <optional>
#include <string>
#include <vector>

#include "connectors/store/rocks_store.h"
#include "domain/usage/meter.h"
#include "projections/read_model.h"

namespace tenantry::projections {

inline constexpr const char* kUsageFamily = "usage";

struct UsageModelOptions {
  std::vector<domain::usage::MeterDefinition> meters;
  int64_t dedup_window_us = int64_t{24} * 3600 * 1000000;
  // Applied against each event's ingestion time (so a rebuild decides the same).
  domain::usage::EventLimits limits;
  // The UTC offset of the tenant's zone at an instant, for day and month windows;
  // null: UTC for everyone.
  std::function<int32_t(const std::string& tenant_id, int64_t time_us)> utc_offset;
  // Partitions of tenantry.usage. A record on another partition than its tenant's
  // (a producer that chose one itself) is refused: each partition's thread must be the
  // only writer of its tenants' keys. 0: not checked.
  int32_t partitions = 0;
};

struct UsageCounters {
  int64_t counted = 0;         // events counted into the meters
  int64_t duplicates = 0;      // passed over: the id was seen within the window
  int64_t refused = 0;         // unreadable, misrouted, too old or too far ahead
  int64_t invalid_values = 0;  // an event a meter could not take (e.g. text for SUM)
};

class UsageModel : public ReadModel {
 public:
  explicit UsageModel(UsageModelOptions options);
  std::string name() const override { return kUsageFamily; }
  log::Result<void> apply(const log::AcceptedRecord& record, store::StoreBatch& batch) override;
  // Everything a batch writes is staged here and put at finish_batch; reads look at the
  // staged writes first, so the store alone answers the rest.
  bool reads_own_writes() const override { return false; }
  void begin_batch(int32_t partition) override;
  log::Result<void> finish_batch(int32_t partition, store::StoreBatch& batch) override;
  void committed(const std::vector<log::AcceptedRecord>& records) override;
  void cleared() override;

  const std::vector<domain::usage::MeterDefinition>& meters() const { return options_.meters; }
  const domain::usage::MeterDefinition* meter(const std::string& name) const;
  const domain::usage::EventLimits& limits() const { return options_.limits; }
  // Counted since start (not persisted).
  UsageCounters counters() const;
  // The ingestion time of the newest event written, 0 before any.
  int64_t last_ingested_us() const { return last_ingested_us_.load(); }

 private:
  // What a partition's current batch writes, kept here and put into the store batch
  // once, in key order, at the batch's end: aggregates are written once per key (many
  // events of a tenant, and the platform's totals, share keys), and RocksDB inserts
  // keys that arrive in order far more cheaply (its skip lists reuse the last position).
  // Aggregates stay decoded between batches (a partition's keys are only ever written
  // by its own thread), so the next batch need not read them back; a batch that was not
  // confirmed written leaves them untrusted, and the next batch starts from the store.
  struct Held {
    domain::usage::Aggregate aggregate;
    uint64_t changed_in = 0;  // the batch that last changed it
  };
  struct Pending {
    std::unordered_map<std::string, Held> aggregates;
    std::vector<std::pair<const std::string*, Held*>> changed;  // by this batch
    std::unordered_map<std::string, std::string> writes;  // dedup keys, distinct values, transactions
    uint64_t batch = 0;
    bool unconfirmed = false;
    std::string key;  // scratch for building keys
  };
  // The value as the batch would leave it: its own writes first, then the store.
  static log::Result<std::optional<std::string>> staged(Pending& pending, store::StoreBatch& batch,
                                                        const std::string& key);
  Pending& pending(int32_t partition);
  // `pending.key` holds the aggregate's key.
  static log::Result<void> count(Pending& pending, const domain::usage::Contribution& contribution, int64_t time_us,
                          const std::string& event_id, bool first_of_value, store::StoreBatch& batch);
  static log::Result<bool> first_of_value(Pending& pending, store::StoreBatch& batch, const std::string& key);

  UsageModelOptions options_;
  std::map<std::string, std::vector<size_t>> meters_by_type_;
  const uint64_t serial_;   // unique per model in the process
  std::mutex pending_mutex_;  // guards the map, not a partition's entry (its thread's own)
  std::map<int32_t, Pending> pending_;  // entries are never erased: a thread keeps a pointer
  std::atomic<int64_t> counted_{0}, duplicates_{0}, refused_{0}, invalid_values_{0};
  std::atomic<int64_t> last_ingested_us_{0};
};

// One transaction of a meter that keeps them: an event's value, as counted.
struct UsageTransaction {
  int64_t time_us = 0;
  int64_t amount_minor = 0;
  std::string event_id;
  std::string cursor;  // resume a listing after this transaction
};

struct TransactionQuery {
  std::string tenant_id;
  std::string meter;
  int64_t from_us = 0;  // [from, to), by the events' own time
  int64_t to_us = 0;
  size_t limit = 1000;
  std::string after;  // a cursor from an earlier listing: the transactions after it
};

// One window of one group of a usage query.
struct UsageRow {
  int64_t window_start = 0;  // civil time (local for day and month), as in meter.h
  std::string group;         // "" when not grouped
  domain::usage::Aggregate aggregate;
  double value = 0;
};

struct UsageQuery {
  std::string tenant_id;  // "": platform totals
  std::string meter;
  domain::usage::Window window = domain::usage::Window::day;
  int64_t from_us = 0;  // [from, to)
  int64_t to_us = 0;
  bool by_group = false;
  // The zone's UTC offset at from and at to (day and month windows).
  int32_t from_offset_s = 0;
  int32_t to_offset_s = 0;
};

struct UsageResult {
  std::vector<UsageRow> rows;  // by window, then group
  double total = 0;            // over the whole range (UNIQUE_COUNT: distinct values in it)
};

class UsageQueries {
 public:
  UsageQueries(store::RocksStore& store, const UsageModel& model) : store_(store), model_(model) {}
  // Errors: an unknown meter, a range too wide (more than 100,000 windows) or with more
  // than 1,000,000 distinct values to count are `invalid_argument`.
  log::Result<UsageResult> query(const UsageQuery& query);
  // A tenant's transactions of a meter in time order (ties: the order they were
  // counted), at most `limit`. Errors: an unknown meter, one that keeps no
  // transactions, an empty range or a malformed cursor are `invalid_argument`.
  log::Result<std::vector<UsageTransaction>> transactions(const TransactionQuery& query);

 private:
  store::RocksStore& store_;
  const UsageModel& model_;
};

}  // namespace tenantry::projections
