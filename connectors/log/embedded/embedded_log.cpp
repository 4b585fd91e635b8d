#include "connectors/log/embedded/embedded_log.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/cache.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "connectors/log/embedded/record_codec.h"

namespace tenantry::log::embedded {

namespace {

constexpr const char* kRecordsFamily = "records";
constexpr const char* kOffsetsFamily = "offsets";

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Error io_error(const rocksdb::Status& status, const std::string& what) {
  return Error{ErrorCode::io, what + ": " + status.ToString()};
}

struct Topic {
  std::string name;
  uint32_t id = 0;
  int32_t partitions = 0;
  // Published end offsets: what readers may see. Only the committer advances them.
  std::unique_ptr<std::atomic<int64_t>[]> ends;
};

struct EncodedRecord {
  Topic* topic;
  int32_t partition;
  std::string value;
};

struct EncodedOffset {
  std::string key;
  int64_t next_offset;
};

struct Pending {
  std::vector<EncodedRecord> records;
  std::vector<EncodedOffset> offsets;
  AppendCallback done;
  size_t bytes = 0;
};

}  // namespace

class EmbeddedLog;

class EmbeddedReader final : public PartitionReader {
 public:
  EmbeddedReader(EmbeddedLog& log, Topic& topic, int32_t partition, int64_t from)
      : log_(log), topic_(topic), partition_(partition), position_(from) {}
  Result<std::vector<StoredRecord>> read(size_t max_records, std::chrono::milliseconds wait) override;
  int64_t position() const override { return position_; }

 private:
  EmbeddedLog& log_;
  Topic& topic_;
  int32_t partition_;
  int64_t position_;
};

struct GroupState {
  std::vector<std::string> topics;
  std::vector<uint64_t> members;  // member ids, in join order
  uint64_t generation = 0;
};

class EmbeddedConsumer;

class EmbeddedLog final : public EventLog {
 public:
  explicit EmbeddedLog(EmbeddedOptions options) : options_(std::move(options)) {}
  ~EmbeddedLog() override;

  Result<void> open();

  Result<void> create_topic(const TopicSpec& spec) override;
  Result<int32_t> partition_count(const std::string& topic) override;
  void append_async(AppendRequest request, AppendCallback done) override;
  Result<int64_t> end_offset(const std::string& topic, int32_t partition) override;
  Result<std::optional<int64_t>> committed_offset(const std::string& group, const std::string& topic,
                                                  int32_t partition) override;
  Result<std::unique_ptr<PartitionReader>> open_reader(const std::string& topic, int32_t partition,
                                                       int64_t from_offset) override;
  Result<std::unique_ptr<GroupConsumer>> subscribe(const std::string& group,
                                                   const std::vector<std::string>& topics) override;

  // Reads [from, end) of a partition, at most max_records; waits for data when at the end.
  Result<std::vector<StoredRecord>> read_partition(Topic& topic, int32_t partition, int64_t from,
                                                   size_t max_records, std::chrono::milliseconds wait);
  // Waits until `ready()` or the deadline; woken by every commit and group change.
  template <class Ready>
  void wait_for(std::chrono::milliseconds wait, Ready ready) {
    std::unique_lock lock(notify_mutex_);
    notify_cv_.wait_for(lock, wait, [&] { return closed_.load() || ready(); });
  }
  void notify_all() {
    { std::lock_guard lock(notify_mutex_); }
    notify_cv_.notify_all();
  }
  Topic* find_topic(const std::string& name);

  // Group membership, for EmbeddedConsumer.
  uint64_t join_group(const std::string& group, const std::vector<std::string>& topics);
  void leave_group(const std::string& group, uint64_t member);
  // This member's partitions and the group's generation.
  std::vector<TopicPartition> assignment_of(const std::string& group, uint64_t member,
                                            uint64_t* generation);
  uint64_t generation_of(const std::string& group);
  bool closed() const { return closed_.load(); }

 private:
  void run_committer();
  void commit_group(std::vector<Pending>& group);
  Result<Pending> encode(AppendRequest& request);

  EmbeddedOptions options_;
  rocksdb::DB* db_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* records_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* offsets_cf_ = nullptr;

  std::shared_mutex topics_mutex_;
  std::map<std::string, std::unique_ptr<Topic>> topics_;
  uint32_t next_topic_id_ = 1;

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;     // the committer waits for work
  std::condition_variable space_cv_;     // appenders wait for room
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::thread committer_;

  std::mutex notify_mutex_;
  std::condition_variable notify_cv_;
  std::atomic<bool> closed_{false};

  std::mutex groups_mutex_;
  std::unordered_map<std::string, GroupState> groups_;
  uint64_t next_member_ = 1;
};

class EmbeddedConsumer final : public GroupConsumer {
 public:
  EmbeddedConsumer(EmbeddedLog& log, std::string group, std::vector<std::string> topics)
      : log_(log), group_(std::move(group)) {
    member_ = log_.join_group(group_, topics);
  }
  ~EmbeddedConsumer() override { close(); }

  Result<std::vector<StoredRecord>> poll(size_t max_records, std::chrono::milliseconds wait) override;
  std::vector<TopicPartition> assignment() override {
    refresh();
    std::vector<TopicPartition> out;
    for (const auto& owned : owned_) out.push_back(owned.partition);
    return out;
  }
  Result<void> commit(const std::vector<PartitionOffset>& offsets) override {
    AppendRequest request;
    request.group = group_;
    request.offsets = offsets;
    auto result = log_.append(std::move(request));
    if (!result) return std::unexpected(result.error());
    return {};
  }
  Result<void> seek(const std::vector<PartitionOffset>& offsets) override {
    if (auto refreshed = refresh(); !refreshed) return std::unexpected(refreshed.error());
    for (const auto& offset : offsets) {
      for (auto& owned : owned_) {
        if (owned.partition.topic == offset.topic && owned.partition.partition == offset.partition) {
          owned.position = offset.next_offset;
        }
      }
    }
    return {};
  }
  void close() override {
    if (closed_) return;
    closed_ = true;
    log_.leave_group(group_, member_);
  }

 private:
  struct Owned {
    TopicPartition partition;
    Topic* topic;
    int64_t position;
  };
  Result<void> refresh();

  EmbeddedLog& log_;
  std::string group_;
  uint64_t member_ = 0;
  uint64_t generation_ = 0;
  bool assigned_ = false;
  bool closed_ = false;
  std::vector<Owned> owned_;
  size_t next_ = 0;  // round-robin start, so no partition starves the others
};

// ---------------------------------------------------------------------------

void tune_rocksdb_options(rocksdb::Options& options, const EmbeddedOptions& embedded) {
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.IncreaseParallelism(2);
  options.max_background_jobs = 2;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(embedded.block_cache_bytes);
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
}

EmbeddedLog::~EmbeddedLog() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  space_cv_.notify_all();
  if (committer_.joinable()) committer_.join();
  closed_ = true;
  notify_all();
  if (db_ != nullptr) {
    for (auto* handle : {meta_cf_, records_cf_, offsets_cf_}) {
      if (handle != nullptr && handle != db_->DefaultColumnFamily()) db_->DestroyColumnFamilyHandle(handle);
    }
    db_->Close();
    delete db_;
  }
}

Result<void> EmbeddedLog::open() {
  if (options_.path.empty()) return fail(ErrorCode::invalid_argument, "embedded log path is empty");
  rocksdb::Options options;
  tune_rocksdb_options(options, options_);
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions(options)},
      {kRecordsFamily, rocksdb::ColumnFamilyOptions(options)},
      {kOffsetsFamily, rocksdb::ColumnFamilyOptions(options)}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  auto status = rocksdb::DB::Open(options, options_.path, families, &handles, &db_);
  if (!status.ok()) return std::unexpected(io_error(status, "opening embedded log at " + options_.path));
  meta_cf_ = handles[0];
  records_cf_ = handles[1];
  offsets_cf_ = handles[2];

  // Topics and their end offsets are recovered from what the store holds.
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_cf_));
  for (it->Seek("topic/"); it->Valid() && it->key().starts_with("topic/"); it->Next()) {
    auto topic = std::make_unique<Topic>();
    topic->name = it->key().ToString().substr(6);
    if (!decode_topic_meta(it->value().ToStringView(), topic->id, topic->partitions)) {
      return fail(ErrorCode::io, "corrupt topic metadata for " + topic->name);
    }
    topic->ends = std::make_unique<std::atomic<int64_t>[]>(topic->partitions);
    for (int32_t p = 0; p < topic->partitions; ++p) {
      std::unique_ptr<rocksdb::Iterator> last(db_->NewIterator(rocksdb::ReadOptions(), records_cf_));
      last->SeekForPrev(record_key(topic->id, p, INT64_MAX));
      const std::string prefix = partition_prefix(topic->id, p);
      int64_t end = 0;
      if (last->Valid() && last->key().starts_with(prefix)) end = offset_of_record_key(last->key().ToStringView()) + 1;
      topic->ends[p].store(end);
    }
    next_topic_id_ = std::max(next_topic_id_, topic->id + 1);
    topics_.emplace(topic->name, std::move(topic));
  }
  if (!it->status().ok()) return std::unexpected(io_error(it->status(), "reading topic metadata"));
  committer_ = std::thread([this] { run_committer(); });
  return {};
}

Topic* EmbeddedLog::find_topic(const std::string& name) {
  std::shared_lock lock(topics_mutex_);
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : it->second.get();
}

Result<void> EmbeddedLog::create_topic(const TopicSpec& spec) {
  if (spec.name.empty() || spec.name.size() > 249) {
    return fail(ErrorCode::invalid_argument, "topic name must be 1 to 249 characters");
  }
  if (spec.partitions < 1 || spec.partitions > 100000) {
    return fail(ErrorCode::invalid_argument, "partitions must be between 1 and 100000");
  }
  std::unique_lock lock(topics_mutex_);
  if (auto it = topics_.find(spec.name); it != topics_.end()) {
    if (it->second->partitions != spec.partitions) {
      return fail(ErrorCode::invalid_argument,
                  "topic " + spec.name + " exists with " + std::to_string(it->second->partitions) +
                      " partitions, not " + std::to_string(spec.partitions));
    }
    return {};
  }
  auto topic = std::make_unique<Topic>();
  topic->name = spec.name;
  topic->id = next_topic_id_;
  topic->partitions = spec.partitions;
  topic->ends = std::make_unique<std::atomic<int64_t>[]>(spec.partitions);
  for (int32_t p = 0; p < spec.partitions; ++p) topic->ends[p].store(0);
  rocksdb::WriteOptions write;
  write.sync = options_.fsync;
  auto status = db_->Put(write, meta_cf_, topic_meta_key(spec.name), encode_topic_meta(topic->id, spec.partitions));
  if (!status.ok()) return std::unexpected(io_error(status, "creating topic " + spec.name));
  ++next_topic_id_;
  topics_.emplace(spec.name, std::move(topic));
  return {};
}

Result<int32_t> EmbeddedLog::partition_count(const std::string& name) {
  Topic* topic = find_topic(name);
  if (topic == nullptr) return fail(ErrorCode::unknown_topic, "unknown topic " + name);
  return topic->partitions;
}

Result<Pending> EmbeddedLog::encode(AppendRequest& request) {
  Pending pending;
  pending.records.reserve(request.records.size());
  for (size_t i = 0; i < request.records.size(); ++i) {
    const Record& record = request.records[i];
    Topic* topic = find_topic(record.topic);
    if (topic == nullptr) {
      return fail(ErrorCode::unknown_topic, "record " + std::to_string(i) + ": unknown topic " + record.topic);
    }
    int32_t partition = record.partition ? *record.partition : partition_for_key(record.key, topic->partitions);
    if (partition < 0 || partition >= topic->partitions) {
      return fail(ErrorCode::invalid_argument, "record " + std::to_string(i) + ": partition " +
                                                   std::to_string(partition) + " out of range for " + record.topic);
    }
    std::string value = encode_record_value(record);
    pending.bytes += value.size() + kRecordKeyBytes;
    pending.records.push_back(EncodedRecord{topic, partition, std::move(value)});
  }
  if (!request.offsets.empty() && request.group.empty()) {
    return fail(ErrorCode::invalid_argument, "offsets given without a group");
  }
  for (const auto& offset : request.offsets) {
    Topic* topic = find_topic(offset.topic);
    if (topic == nullptr) return fail(ErrorCode::unknown_topic, "offsets: unknown topic " + offset.topic);
    if (offset.partition < 0 || offset.partition >= topic->partitions || offset.next_offset < 0) {
      return fail(ErrorCode::invalid_argument, "offsets: bad position for " + offset.topic);
    }
    pending.offsets.push_back({group_offset_key(request.group, topic->id, offset.partition), offset.next_offset});
  }
  return pending;
}

void EmbeddedLog::append_async(AppendRequest request, AppendCallback done) {
  // Encoding happens on the caller's thread, overlapping the committer's fsync.
  auto pending = encode(request);
  if (!pending) {
    done(std::unexpected(pending.error()));
    return;
  }
  pending->done = std::move(done);
  std::unique_lock lock(queue_mutex_);
  space_cv_.wait(lock, [&] { return stopping_ || queue_.size() < options_.max_pending_appends; });
  if (stopping_) {
    lock.unlock();
    pending->done(fail(ErrorCode::closed, "embedded log is closing"));
    return;
  }
  queue_.push_back(std::move(*pending));
  lock.unlock();
  queue_cv_.notify_one();
}

void EmbeddedLog::run_committer() {
  std::vector<Pending> group;
  for (;;) {
    {
      std::unique_lock lock(queue_mutex_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything accepted was committed
      size_t bytes = 0;
      while (!queue_.empty() && (group.empty() || bytes + queue_.front().bytes <= options_.max_group_bytes)) {
        bytes += queue_.front().bytes;
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    space_cv_.notify_all();
    commit_group(group);
    group.clear();
  }
}

void EmbeddedLog::commit_group(std::vector<Pending>& group) {
  // Offsets are assigned against a scratch copy of the ends and published only once
  // the batch is durable: a failed write leaves no gap and no phantom record.
  std::unordered_map<std::atomic<int64_t>*, int64_t> next;
  auto next_offset = [&](Topic* topic, int32_t partition) -> int64_t& {
    auto* slot = &topic->ends[partition];
    auto [it, inserted] = next.try_emplace(slot, 0);
    if (inserted) it->second = slot->load(std::memory_order_relaxed);
    return it->second;
  };
  const int64_t timestamp_ms = now_ms();
  rocksdb::WriteBatch batch;
  std::vector<AppendResult> results(group.size());
  for (size_t i = 0; i < group.size(); ++i) {
    auto& pending = group[i];
    results[i].positions.reserve(pending.records.size());
    for (auto& record : pending.records) {
      int64_t& offset = next_offset(record.topic, record.partition);
      stamp_record_value(record.value, timestamp_ms);
      batch.Put(records_cf_, record_key(record.topic->id, record.partition, offset), record.value);
      results[i].positions.push_back(RecordPosition{record.partition, offset});
      ++offset;
    }
    for (const auto& offset : pending.offsets) {
      batch.Put(offsets_cf_, offset.key, encode_u64_be(static_cast<uint64_t>(offset.next_offset)));
    }
  }
  rocksdb::WriteOptions write;
  write.sync = options_.fsync;
  auto status = db_->Write(write, &batch);
  if (!status.ok()) {
    const Error error = io_error(status, "appending to embedded log");
    for (auto& pending : group) pending.done(std::unexpected(error));
    return;
  }
  for (const auto& [slot, end] : next) slot->store(end, std::memory_order_release);
  notify_all();
  for (size_t i = 0; i < group.size(); ++i) group[i].done(std::move(results[i]));
}

Result<int64_t> EmbeddedLog::end_offset(const std::string& name, int32_t partition) {
  Topic* topic = find_topic(name);
  if (topic == nullptr) return fail(ErrorCode::unknown_topic, "unknown topic " + name);
  if (partition < 0 || partition >= topic->partitions) return fail(ErrorCode::invalid_argument, "partition out of range");
  return topic->ends[partition].load(std::memory_order_acquire);
}

Result<std::optional<int64_t>> EmbeddedLog::committed_offset(const std::string& group, const std::string& name,
                                                             int32_t partition) {
  Topic* topic = find_topic(name);
  if (topic == nullptr) return fail(ErrorCode::unknown_topic, "unknown topic " + name);
  std::string value;
  auto status = db_->Get(rocksdb::ReadOptions(), offsets_cf_, group_offset_key(group, topic->id, partition), &value);
  if (status.IsNotFound()) return std::optional<int64_t>{};
  if (!status.ok()) return std::unexpected(io_error(status, "reading committed offset"));
  auto offset = decode_u64_be(value);
  if (!offset) return fail(ErrorCode::io, "corrupt committed offset for group " + group);
  return std::optional<int64_t>(static_cast<int64_t>(*offset));
}

Result<std::unique_ptr<PartitionReader>> EmbeddedLog::open_reader(const std::string& name, int32_t partition,
                                                                  int64_t from_offset) {
  Topic* topic = find_topic(name);
  if (topic == nullptr) return fail(ErrorCode::unknown_topic, "unknown topic " + name);
  if (partition < 0 || partition >= topic->partitions) return fail(ErrorCode::invalid_argument, "partition out of range");
  if (from_offset < 0) return fail(ErrorCode::invalid_argument, "negative offset");
  return std::unique_ptr<PartitionReader>(new EmbeddedReader(*this, *topic, partition, from_offset));
}

Result<std::vector<StoredRecord>> EmbeddedLog::read_partition(Topic& topic, int32_t partition, int64_t from,
                                                              size_t max_records, std::chrono::milliseconds wait) {
  auto& end_slot = topic.ends[partition];
  int64_t end = end_slot.load(std::memory_order_acquire);
  if (from >= end && wait.count() > 0) {
    wait_for(wait, [&] { return end_slot.load(std::memory_order_acquire) > from; });
    end = end_slot.load(std::memory_order_acquire);
  }
  if (closed_) return fail(ErrorCode::closed, "embedded log is closed");
  std::vector<StoredRecord> out;
  if (from >= end || max_records == 0) return out;
  const int64_t last = std::min<int64_t>(end, from + static_cast<int64_t>(max_records));
  const std::string upper = record_key(topic.id, partition, last);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions read;
  read.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, records_cf_));
  out.reserve(static_cast<size_t>(last - from));
  int64_t expected = from;
  for (it->Seek(record_key(topic.id, partition, from)); it->Valid(); it->Next()) {
    StoredRecord record;
    record.topic = topic.name;
    record.partition = partition;
    record.offset = offset_of_record_key(it->key().ToStringView());
    if (record.offset != expected) {
      return fail(ErrorCode::io, topic.name + "/" + std::to_string(partition) + ": offset " +
                                     std::to_string(expected) + " is missing from the store");
    }
    if (!decode_record_value(it->value().ToStringView(), record)) {
      return fail(ErrorCode::io, topic.name + "/" + std::to_string(partition) + "@" +
                                     std::to_string(record.offset) + ": undecodable stored record");
    }
    out.push_back(std::move(record));
    ++expected;
  }
  if (!it->status().ok()) return std::unexpected(io_error(it->status(), "reading " + topic.name));
  return out;
}

Result<std::vector<StoredRecord>> EmbeddedReader::read(size_t max_records, std::chrono::milliseconds wait) {
  auto records = log_.read_partition(topic_, partition_, position_, max_records, wait);
  if (records && !records->empty()) position_ = records->back().offset + 1;
  return records;
}

Result<std::unique_ptr<GroupConsumer>> EmbeddedLog::subscribe(const std::string& group,
                                                              const std::vector<std::string>& topics) {
  if (group.empty()) return fail(ErrorCode::invalid_argument, "group id is empty");
  if (topics.empty()) return fail(ErrorCode::invalid_argument, "no topics to subscribe to");
  for (const auto& name : topics) {
    if (find_topic(name) == nullptr) return fail(ErrorCode::unknown_topic, "unknown topic " + name);
  }
  return std::unique_ptr<GroupConsumer>(new EmbeddedConsumer(*this, group, topics));
}

uint64_t EmbeddedLog::join_group(const std::string& group, const std::vector<std::string>& topics) {
  uint64_t member = 0;
  {
    std::lock_guard lock(groups_mutex_);
    auto& state = groups_[group];
    if (state.members.empty()) state.topics = topics;
    member = next_member_++;
    state.members.push_back(member);
    ++state.generation;
  }
  notify_all();
  return member;
}

void EmbeddedLog::leave_group(const std::string& group, uint64_t member) {
  {
    std::lock_guard lock(groups_mutex_);
    auto& state = groups_[group];
    std::erase(state.members, member);
    ++state.generation;
  }
  notify_all();
}

uint64_t EmbeddedLog::generation_of(const std::string& group) {
  std::lock_guard lock(groups_mutex_);
  return groups_[group].generation;
}

std::vector<TopicPartition> EmbeddedLog::assignment_of(const std::string& group, uint64_t member,
                                                       uint64_t* generation) {
  std::vector<TopicPartition> all;
  std::vector<uint64_t> members;
  {
    std::lock_guard lock(groups_mutex_);
    const auto& state = groups_[group];
    *generation = state.generation;
    members = state.members;
    for (const auto& name : state.topics) {
      Topic* topic = find_topic(name);
      if (topic == nullptr) continue;
      for (int32_t p = 0; p < topic->partitions; ++p) all.push_back({name, p});
    }
  }
  std::sort(members.begin(), members.end());
  auto index = std::find(members.begin(), members.end(), member) - members.begin();
  std::vector<TopicPartition> mine;
  if (static_cast<size_t>(index) >= members.size()) return mine;
  // Round-robin over the sorted partitions: every member gets within one of the same share.
  for (size_t i = static_cast<size_t>(index); i < all.size(); i += members.size()) mine.push_back(all[i]);
  return mine;
}

Result<void> EmbeddedConsumer::refresh() {
  if (closed_) return fail(ErrorCode::closed, "consumer is closed");
  if (assigned_ && log_.generation_of(group_) == generation_) return {};
  uint64_t generation = 0;
  auto partitions = log_.assignment_of(group_, member_, &generation);
  std::vector<Owned> owned;
  // Every assigned partition restarts from the group's committed offset, as after a
  // Kafka rebalance: what was polled but not committed is delivered again.
  for (const auto& tp : partitions) {
    auto committed = log_.committed_offset(group_, tp.topic, tp.partition);
    if (!committed) return std::unexpected(committed.error());
    owned.push_back(Owned{tp, log_.find_topic(tp.topic), committed->value_or(0)});
  }
  owned_ = std::move(owned);
  generation_ = generation;
  assigned_ = true;
  next_ = 0;
  return {};
}

Result<std::vector<StoredRecord>> EmbeddedConsumer::poll(size_t max_records, std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    if (auto refreshed = refresh(); !refreshed) return std::unexpected(refreshed.error());
    std::vector<StoredRecord> out;
    for (size_t n = 0; n < owned_.size() && out.size() < max_records; ++n) {
      Owned& owned = owned_[(next_ + n) % owned_.size()];
      auto records = log_.read_partition(*owned.topic, owned.partition.partition, owned.position,
                                         max_records - out.size(), std::chrono::milliseconds(0));
      if (!records) return std::unexpected(records.error());
      if (records->empty()) continue;
      owned.position = records->back().offset + 1;
      std::move(records->begin(), records->end(), std::back_inserter(out));
    }
    if (!owned_.empty()) next_ = (next_ + 1) % owned_.size();
    if (!out.empty()) return out;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline || log_.closed()) return out;
    const uint64_t generation = generation_;
    log_.wait_for(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now) + std::chrono::milliseconds(1), [&] {
      if (log_.generation_of(group_) != generation) return true;
      for (const auto& owned : owned_) {
        if (owned.topic->ends[owned.partition.partition].load(std::memory_order_acquire) > owned.position) return true;
      }
      return false;
    });
  }
}

Result<std::unique_ptr<EventLog>> open_embedded_log(const EmbeddedOptions& options) {
  auto log = std::make_unique<EmbeddedLog>(options);
  if (auto opened = log->open(); !opened) return std::unexpected(opened.error());
  return std::unique_ptr<EventLog>(std::move(log));
}

}  // namespace tenantry::log::embedded
