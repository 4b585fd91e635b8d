#include "projections/projection_runner.h"

#include <charconv>

namespace tenantry::projections {

namespace {
std::string encode_offset(int64_t offset) { return std::to_string(offset); }

std::optional<int64_t> decode_offset(std::string_view text) {
  int64_t offset = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), offset);
  if (error != std::errc() || end != text.data() + text.size() || offset < 0) return std::nullopt;
  return offset;
}

// Violations kept in memory for operators; the rest are counted, not kept.
constexpr size_t kMaxViolationsKept = 1000;
}  // namespace

struct ProjectionRunner::Partition {
  int32_t id = 0;
  std::unique_ptr<log::AcceptedReader> reader;
  std::atomic<int64_t> applied{0};
};

ProjectionRunner::ProjectionRunner(log::EventLog& log, store::RocksStore& store, ReadModel& model,
                                   RunnerOptions options)
    : log_(log), store_(store), model_(model), options_(std::move(options)) {}

ProjectionRunner::~ProjectionRunner() { stop(); }

std::string ProjectionRunner::offset_key(int32_t partition) const {
  return model_.name() + '\0' + options_.topic + '\0' + std::to_string(partition);
}

log::Result<void> ProjectionRunner::open_partitions() {
  partitions_.clear();
  auto count = log_.partition_count(options_.topic);
  if (!count) return std::unexpected(count.error());
  for (int32_t p = 0; p < *count; ++p) {
    auto stored = store_.get(kOffsetsFamily, offset_key(p));
    if (!stored) return std::unexpected(stored.error());
    int64_t from = 0;
    if (*stored) {
      auto decoded = decode_offset(**stored);
      if (!decoded) return log::fail(log::ErrorCode::io, "corrupt projection offset for " + model_.name());
      from = *decoded;
    }
    auto reader = log::AcceptedReader::open(log_, options_.topic, p, from, options_.kind);
    if (!reader) return std::unexpected(reader.error());
    auto partition = std::make_unique<Partition>();
    partition->id = p;
    partition->reader = std::move(*reader);
    partition->applied = from;
    partitions_.push_back(std::move(partition));
  }
  return {};
}

log::Result<int64_t> ProjectionRunner::step(Partition& partition, std::chrono::milliseconds wait) {
  auto batch = partition.reader->read(options_.max_batch_events, wait);
  if (!batch) return std::unexpected(batch.error());
  if (batch->records_read == 0) return 0;
  auto writes = model_.reads_own_writes() ? store_.batch() : store_.unindexed_batch();
  model_.begin_batch(partition.id);
  for (const auto& event : batch->records) {
    if (auto applied = model_.apply(event, writes); !applied) return std::unexpected(applied.error());
  }
  if (auto finished = model_.finish_batch(partition.id, writes); !finished) return std::unexpected(finished.error());
  // The offset goes in the same write as the model's keys: both or neither.
  writes.put(kOffsetsFamily, offset_key(partition.id),
             encode_offset(partition.reader->position()));
  if (auto written = store_.write(writes, options_.sync); !written) return std::unexpected(written.error());
  partition.applied = partition.reader->position();
  model_.committed(batch->records);
  if (!batch->violations.empty()) {
    std::lock_guard lock(mutex_);
    for (auto& violation : batch->violations) {
      if (violations_.size() < kMaxViolationsKept) violations_.push_back(std::move(violation));
    }
  }
  return static_cast<int64_t>(batch->records.size());
}

void ProjectionRunner::run(Partition& partition) {
  while (!stopping_) {
    auto applied = step(partition, options_.idle_wait);
    if (!applied) {
      std::lock_guard lock(mutex_);
      if (!failure_) failure_ = applied.error();
      return;
    }
  }
}

log::Result<void> ProjectionRunner::start() {
  if (!threads_.empty()) return {};
  if (auto opened = open_partitions(); !opened) return opened;
  stopping_ = false;
  for (auto& partition : partitions_) {
    threads_.emplace_back([this, p = partition.get()] { run(*p); });
  }
  return {};
}

void ProjectionRunner::stop() {
  stopping_ = true;
  for (auto& thread : threads_) thread.join();
  threads_.clear();
}

log::Result<void> ProjectionRunner::rebuild() {
  const bool was_running = !threads_.empty();
  stop();
  if (auto cleared = store_.clear(model_.name()); !cleared) return cleared;
  model_.cleared();
  auto offsets = store_.batch();
  for (const auto& partition : partitions_) offsets.erase(kOffsetsFamily, offset_key(partition->id));
  if (partitions_.empty()) {
    auto count = log_.partition_count(options_.topic);
    if (!count) return std::unexpected(count.error());
    for (int32_t p = 0; p < *count; ++p) offsets.erase(kOffsetsFamily, offset_key(p));
  }
  if (auto written = store_.write(offsets, true); !written) return written;
  {
    std::lock_guard lock(mutex_);
    violations_.clear();
    failure_.reset();
  }
  partitions_.clear();
  if (was_running) return start();
  return {};
}

log::Result<int64_t> ProjectionRunner::catch_up() {
  if (!threads_.empty()) return log::fail(log::ErrorCode::invalid_argument, "catch_up while the runner is started");
  if (partitions_.empty()) {
    if (auto opened = open_partitions(); !opened) return std::unexpected(opened.error());
  }
  int64_t total = 0;
  for (auto& partition : partitions_) {
    for (;;) {
      auto end = log_.end_offset(options_.topic, partition->id);
      if (!end) return std::unexpected(end.error());
      if (partition->reader->position() >= *end) break;
      auto applied = step(*partition, std::chrono::milliseconds(1000));
      if (!applied) return applied;
      total += *applied;
    }
  }
  return total;
}

std::vector<PartitionLag> ProjectionRunner::lag() {
  std::vector<PartitionLag> out;
  for (const auto& partition : partitions_) {
    auto end = log_.end_offset(options_.topic, partition->id);
    out.push_back(PartitionLag{partition->id, partition->applied.load(), end ? *end : -1});
  }
  return out;
}

bool ProjectionRunner::caught_up() {
  if (partitions_.empty()) return false;
  for (const auto& lag : lag()) {
    if (lag.end_offset < 0 || lag.applied_offset < lag.end_offset) return false;
  }
  return true;
}

std::vector<log::Violation> ProjectionRunner::violations() {
  std::lock_guard lock(mutex_);
  return violations_;
}

std::optional<log::Error> ProjectionRunner::failure() {
  std::lock_guard lock(mutex_);
  return failure_;
}

}  // namespace tenantry::projections
