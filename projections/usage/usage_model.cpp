#include "projections/usage/usage_model.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <unordered_set>

#include "connectors/log/history_rules.h"
#include "connectors/store/key_codec.h"
#include "tenantry/v1/usage.pb.h"

namespace tenantry::projections {

namespace {

using store::get_be;
using store::put_be;
using store::sortable;
using store::unsortable;

using domain::usage::Aggregate;
using domain::usage::Aggregation;
using domain::usage::Window;

constexpr size_t kMaxWindowsPerQuery = 100000;
// Aggregates kept between batches, per partition (~200 B each); past this only those the
// last batch changed stay (old windows' keys accumulate).
constexpr size_t kAggregatesKept = 16384;
constexpr size_t kMaxDistinctValues = 1000000;

char window_letter(Window window) {
  switch (window) {
    case Window::minute: return 'm';
    case Window::hour: return 'h';
    case Window::day: return 'd';
    case Window::month: return 'M';
  }
  return 'm';
}


std::string scope_prefix(const std::string& scope, char kind) {
  std::string key = scope;
  key += '\0';
  key += kind;
  return key;
}

// scope '\0' kind meter '\0' letter: every window of one meter at one size.
std::string meter_prefix(const std::string& scope, char kind, const std::string& meter, Window window) {
  std::string key = scope_prefix(scope, kind);
  key += meter;
  key += '\0';
  key += window_letter(window);
  return key;
}

const std::string kPlatformScope;  // platform totals: the empty scope
const std::string kNoShard;

// `shard`: empty for a tenant (one partition, one writer); for platform totals the
// partition (4 bytes), so that the partitions' writers never share a key. Appends to
// `key`, so that a caller may reuse one buffer for every key of an event.
void append_aggregate_key(std::string& key, const std::string& scope, const std::string& meter, Window window,
                          int64_t start, const std::string& shard, const std::string& group) {
  key += scope;
  key += '\0';
  key += 'a';
  key += meter;
  key += '\0';
  key += window_letter(window);
  put_be(key, sortable(start));
  key += shard;
  key += group;
}

std::string unique_key(const std::string& scope, const std::string& meter, Window window, int64_t start,
                       const std::string& shard, const std::string& group, const std::string& value) {
  std::string key = meter_prefix(scope, 'u', meter, window);
  put_be(key, sortable(start));
  key += shard;
  key += group;
  key += '\0';
  key += value;
  return key;
}

// scope '\0' 't' meter '\0': every transaction of one meter, by time.
std::string transactions_prefix(const std::string& tenant, const std::string& meter) {
  std::string key = scope_prefix(tenant, 't');
  key += meter;
  key += '\0';
  return key;
}

}  // namespace

namespace {
std::atomic<uint64_t> next_model_serial{1};
}  // namespace

UsageModel::UsageModel(UsageModelOptions options) : options_(std::move(options)), serial_(next_model_serial++) {
  for (size_t i = 0; i < options_.meters.size(); ++i) meters_by_type_[options_.meters[i].event_type].push_back(i);
}

const domain::usage::MeterDefinition* UsageModel::meter(const std::string& name) const {
  for (const auto& meter : options_.meters) {
    if (meter.name == name) return &meter;
  }
  return nullptr;
}

UsageCounters UsageModel::counters() const {
  return {counted_.load(), duplicates_.load(), refused_.load(), invalid_values_.load()};
}

UsageModel::Pending& UsageModel::pending(int32_t partition) {
  // A partition's thread asks for its own entry once per event: remember the last one
  // it got instead of taking the shared lock each time.
  // Keyed by the model's serial, not its address: a later model may reuse the address.
  thread_local uint64_t last_model = 0;
  thread_local int32_t last_partition = -1;
  thread_local Pending* last_pending = nullptr;
  if (last_model == serial_ && last_partition == partition) return *last_pending;
  std::lock_guard lock(pending_mutex_);
  last_model = serial_;
  last_partition = partition;
  last_pending = &pending_[partition];
  return *last_pending;
}

void UsageModel::begin_batch(int32_t partition) {
  Pending& staged = pending(partition);
  staged.writes.clear();
  staged.changed.clear();
  if (staged.unconfirmed) staged.aggregates.clear();
  ++staged.batch;
}

void UsageModel::cleared() {
  std::lock_guard lock(pending_mutex_);
  for (auto& [partition, staged] : pending_) {
    staged.aggregates.clear();
    staged.changed.clear();
    staged.writes.clear();
    staged.unconfirmed = false;
  }
}

log::Result<void> UsageModel::finish_batch(int32_t partition, store::StoreBatch& batch) {
  Pending& staged = pending(partition);
  std::vector<std::pair<std::string_view, std::string>> writes;
  writes.reserve(staged.changed.size() + staged.writes.size());
  for (const auto& [key, held] : staged.changed) writes.emplace_back(*key, domain::usage::encode(held->aggregate));
  for (auto& [key, value] : staged.writes) writes.emplace_back(key, std::move(value));
  std::sort(writes.begin(), writes.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [key, value] : writes) batch.put(kUsageFamily, key, value);
  writes.clear();
  staged.writes.clear();
  staged.changed.clear();
  // Past the bound, keep what this batch changed (old windows' keys accumulate).
  if (staged.aggregates.size() > kAggregatesKept) {
    std::erase_if(staged.aggregates, [&](const auto& entry) { return entry.second.changed_in != staged.batch; });
  }
  return {};
}

log::Result<std::optional<std::string>> UsageModel::staged(Pending& pending, store::StoreBatch& batch,
                                                           const std::string& key) {
  if (auto it = pending.writes.find(key); it != pending.writes.end()) return std::optional<std::string>(it->second);
  return batch.get(kUsageFamily, key);
}

log::Result<bool> UsageModel::first_of_value(Pending& pending, store::StoreBatch& batch, const std::string& key) {
  auto seen = staged(pending, batch, key);
  if (!seen) return std::unexpected(seen.error());
  if (seen->has_value()) return false;
  pending.writes.emplace(key, std::string());
  return true;
}

log::Result<void> UsageModel::count(Pending& pending, const domain::usage::Contribution& contribution,
                                    int64_t time_us, const std::string& event_id, bool first_of_value,
                                    store::StoreBatch& batch) {
  auto held = pending.aggregates.find(pending.key);
  if (held == pending.aggregates.end()) {
    auto stored = batch.get(kUsageFamily, pending.key);
    if (!stored) return std::unexpected(stored.error());
    Held fresh;
    if (*stored) {
      auto decoded = domain::usage::decode(**stored);
      if (!decoded) return log::fail(log::ErrorCode::io, "corrupt usage aggregate");
      fresh.aggregate = std::move(*decoded);
    }
    held = pending.aggregates.emplace(pending.key, std::move(fresh)).first;
  }
  pending.unconfirmed = true;  // until committed() hears the batch was written
  if (held->second.changed_in != pending.batch) {
    held->second.changed_in = pending.batch;
    pending.changed.emplace_back(&held->first, &held->second);
  }
  domain::usage::fold(held->second.aggregate, contribution, time_us, event_id, first_of_value);
  return {};
}

log::Result<void> UsageModel::apply(const log::AcceptedRecord& accepted, store::StoreBatch& batch) {
  const auto& record = accepted.record;
  if (record.header(log::kKindHeader) != nullptr) return {};  // a writer claim
  v1::UsageEvent event;
  if (!event.ParseFromString(record.value) || event.tenant_id().empty() || event.tenant_id() != record.key ||
      (options_.partitions > 0 && log::partition_for_key(record.key, options_.partitions) != record.partition)) {
    ++refused_;
    return {};
  }
  const int64_t ingested = event.ingested_at_us() != 0 ? event.ingested_at_us() : record.timestamp_ms * 1000;
  if (domain::usage::check_event(event, ingested, options_.limits)) {
    ++refused_;
    return {};
  }
  const std::string& tenant = event.tenant_id();
  const int64_t time_us = event.time_us() != 0 ? event.time_us() : ingested;

  Pending& staged = pending(record.partition);
  std::string& key = staged.key;
  key.assign(tenant);
  key += '\0';
  key += 'd';
  key += event.id();
  auto seen = UsageModel::staged(staged, batch, key);
  if (!seen) return std::unexpected(seen.error());
  if (*seen && (*seen)->size() == 8) {
    const int64_t first = unsortable(get_be(**seen, 0));
    if (ingested - first < options_.dedup_window_us) {
      ++duplicates_;
      return {};
    }
  }
  std::string first_seen;
  put_be(first_seen, sortable(ingested));
  staged.writes.insert_or_assign(key, std::move(first_seen));

  const auto matching = meters_by_type_.find(event.type());
  if (matching != meters_by_type_.end()) {
    const int32_t offset = options_.utc_offset ? options_.utc_offset(tenant, time_us) : 0;
    std::string shard;
    for (int i = 3; i >= 0; --i) shard.push_back(static_cast<char>((static_cast<uint32_t>(record.partition) >> (8 * i)) & 0xFF));
    for (const size_t index : matching->second) {
      const auto& meter = options_.meters[index];
      auto contribution = domain::usage::contribution(meter, event);
      if (!contribution) {
        ++invalid_values_;
        continue;
      }
      if (!*contribution) continue;
      const auto& counted = **contribution;
      if (meter.transactions) {
        // The record's offset keeps apart two events of one instant, and an id counted
        // again once its dedup window has passed (as the aggregates count it).
        std::string transaction = transactions_prefix(tenant, meter.name);
        put_be(transaction, sortable(time_us));
        put_be(transaction, static_cast<uint64_t>(record.offset));
        std::string value;
        put_be(value, sortable(static_cast<int64_t>(counted.value)));
        value += event.id();
        staged.writes.insert_or_assign(std::move(transaction), std::move(value));
      }
      // Minute and hour are UTC; day and month follow the tenant's zone. Platform
      // totals use UTC throughout, one shard per partition.
      for (const Window window : domain::usage::kWindows) {
        for (const bool platform : {false, true}) {
          const std::string& scope = platform ? kPlatformScope : tenant;
          const std::string& scope_shard = platform ? shard : kNoShard;
          const int64_t start = domain::usage::window_start(window, time_us, platform ? 0 : offset);
          bool first = false;
          if (meter.aggregation == Aggregation::unique_count) {
            std::string distinct = unique_key(scope, meter.name, window, start, scope_shard, counted.group, counted.unique_value);
            auto fresh = first_of_value(staged, batch, distinct);
            if (!fresh) return std::unexpected(fresh.error());
            first = *fresh;
          }
          key.clear();
          append_aggregate_key(key, scope, meter.name, window, start, scope_shard, counted.group);
          if (auto done = count(staged, counted, time_us, event.id(), first, batch); !done) return done;
        }
      }
    }
  }
  ++counted_;
  return {};
}

void UsageModel::committed(const std::vector<log::AcceptedRecord>& records) {
  if (!records.empty()) pending(records.front().record.partition).unconfirmed = false;
  for (const auto& accepted : records) {
    const int64_t at = accepted.record.timestamp_ms * 1000;
    int64_t previous = last_ingested_us_.load();
    while (at > previous && !last_ingested_us_.compare_exchange_weak(previous, at)) {
    }
  }
}

log::Result<UsageResult> UsageQueries::query(const UsageQuery& query) {
  const auto* meter = model_.meter(query.meter);
  if (meter == nullptr) return log::fail(log::ErrorCode::invalid_argument, "no meter named " + query.meter);
  if (query.to_us <= query.from_us) return log::fail(log::ErrorCode::invalid_argument, "from must be before to");
  const bool local = query.window == Window::day || query.window == Window::month;
  const int64_t first = domain::usage::window_start(query.window, query.from_us, local ? query.from_offset_s : 0);
  const int64_t last = domain::usage::window_start(query.window, query.to_us - 1, local ? query.to_offset_s : 0);
  {
    size_t windows = 0;
    for (int64_t start = first; start <= last; start = domain::usage::next_window(query.window, start)) {
      if (++windows > kMaxWindowsPerQuery) {
        return log::fail(log::ErrorCode::invalid_argument, "the range spans more than 100,000 " +
                                                               std::string(domain::usage::window_name(query.window)) +
                                                               " windows");
      }
    }
  }
  const std::string prefix = meter_prefix(query.tenant_id, 'a', meter->name, query.window);
  const size_t shard_bytes = query.tenant_id.empty() ? 4 : 0;
  std::string start_key = prefix;
  put_be(start_key, sortable(first));
  UsageResult result;
  std::map<std::pair<int64_t, std::string>, Aggregate> rows;
  Aggregate total;
  auto scanned = store_.scan(kUsageFamily, prefix, start_key, SIZE_MAX, [&](std::string_view key, std::string_view value) {
    if (key.size() < prefix.size() + 8 + shard_bytes) return true;
    const int64_t start = unsortable(get_be(key, prefix.size()));
    if (start > last) return false;
    auto aggregate = domain::usage::decode(value);
    if (!aggregate) return true;
    std::string group = query.by_group ? std::string(key.substr(prefix.size() + 8 + shard_bytes)) : std::string();
    domain::usage::merge(rows[{start, std::move(group)}], *aggregate);
    domain::usage::merge(total, *aggregate);
    return true;
  });
  if (!scanned) return std::unexpected(scanned.error());

  // Distinct values do not add up across groups or windows: count them from the set.
  std::map<std::pair<int64_t, std::string>, std::unordered_set<std::string>> distinct;
  std::unordered_set<std::string> distinct_total;
  if (meter->aggregation == Aggregation::unique_count) {
    const std::string unique_prefix = meter_prefix(query.tenant_id, 'u', meter->name, query.window);
    std::string unique_start = unique_prefix;
    put_be(unique_start, sortable(first));
    bool too_many = false;
    auto values = store_.scan(kUsageFamily, unique_prefix, unique_start, SIZE_MAX, [&](std::string_view key, std::string_view) {
      if (key.size() < unique_prefix.size() + 8 + shard_bytes) return true;
      const int64_t start = unsortable(get_be(key, unique_prefix.size()));
      if (start > last) return false;
      const std::string_view rest = key.substr(unique_prefix.size() + 8 + shard_bytes);
      const auto split = rest.find('\0');
      if (split == std::string_view::npos) return true;
      const std::string value(rest.substr(split + 1));
      std::string group = query.by_group ? std::string(rest.substr(0, split)) : std::string();
      distinct[{start, std::move(group)}].insert(value);
      distinct_total.insert(value);
      if (distinct_total.size() > kMaxDistinctValues) {
        too_many = true;
        return false;
      }
      return true;
    });
    if (!values) return std::unexpected(values.error());
    if (too_many) {
      return log::fail(log::ErrorCode::invalid_argument,
                       "more than 1,000,000 distinct values in the range; narrow it to count them exactly");
    }
  }
  for (auto& [where, aggregate] : rows) {
    UsageRow row;
    row.window_start = where.first;
    row.group = where.second;
    if (meter->aggregation == Aggregation::unique_count) aggregate.unique = distinct[where].size();
    row.value = domain::usage::result(aggregate, meter->aggregation);
    row.aggregate = aggregate;
    result.rows.push_back(std::move(row));
  }
  if (meter->aggregation == Aggregation::unique_count) total.unique = distinct_total.size();
  result.total = domain::usage::result(total, meter->aggregation);
  return result;
}

log::Result<std::vector<UsageTransaction>> UsageQueries::transactions(const TransactionQuery& query) {
  const auto* meter = model_.meter(query.meter);
  if (meter == nullptr) return log::fail(log::ErrorCode::invalid_argument, "no meter named " + query.meter);
  if (!meter->transactions) {
    return log::fail(log::ErrorCode::invalid_argument, "meter " + query.meter + " keeps no transactions");
  }
  if (query.to_us <= query.from_us) return log::fail(log::ErrorCode::invalid_argument, "from must be before to");
  const std::string prefix = transactions_prefix(query.tenant_id, meter->name);
  std::string start = prefix;
  put_be(start, sortable(query.from_us));
  if (!query.after.empty()) {
    // A cursor is "<time_us>.<offset>" of the last transaction listed.
    const auto dot = query.after.find('.');
    int64_t time_us = 0;
    uint64_t offset = 0;
    const char* text = query.after.data();
    const char* end = text + query.after.size();
    const bool readable = dot != std::string::npos &&
                          std::from_chars(text, text + dot, time_us).ptr == text + dot &&
                          dot + 1 < query.after.size() && std::from_chars(text + dot + 1, end, offset).ptr == end;
    if (!readable) return log::fail(log::ErrorCode::invalid_argument, "malformed cursor");
    std::string after = prefix;
    put_be(after, sortable(time_us));
    put_be(after, offset);
    after.push_back('\0');  // the first key after it
    if (after > start) start = std::move(after);
  }
  std::vector<UsageTransaction> out;
  bool failed = false;
  auto scanned = store_.scan(kUsageFamily, prefix, start, SIZE_MAX, [&](std::string_view key, std::string_view value) {
    if (key.size() != prefix.size() + 16 || value.size() < 8) {
      failed = true;
      return false;
    }
    const int64_t time_us = unsortable(get_be(key, prefix.size()));
    if (time_us >= query.to_us || out.size() >= query.limit) return false;
    UsageTransaction transaction;
    transaction.time_us = time_us;
    transaction.amount_minor = unsortable(get_be(value, 0));
    transaction.event_id = std::string(value.substr(8));
    transaction.cursor = std::to_string(time_us) + "." + std::to_string(get_be(key, prefix.size() + 8));
    out.push_back(std::move(transaction));
    return true;
  });
  if (!scanned) return std::unexpected(scanned.error());
  if (failed) return log::fail(log::ErrorCode::io, "corrupt usage transaction");
  return out;
}

}  // namespace tenantry::projections
