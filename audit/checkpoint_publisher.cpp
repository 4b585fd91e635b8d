#include "audit/checkpoint_publisher.h"

#include <cstring>

#include "connectors/store/key_codec.h"

namespace tenantry::audit {

namespace {

using store::get_be;
using store::put_be;

std::string latest_key(int32_t partition) {
  std::string key(1, 'l');
  put_be(key, static_cast<uint32_t>(partition), 4);
  return key;
}

std::string size_key(int32_t partition, uint64_t tree_size) {
  std::string key(1, 'c');
  put_be(key, static_cast<uint32_t>(partition), 4);
  put_be(key, tree_size, 8);
  return key;
}

// tree size, root, timestamp, then the signed note: what it signed is at hand
// without parsing the note (whose key may since have been rotated).
std::string encode(const PublishedCheckpoint& published) {
  std::string value;
  put_be(value, published.checkpoint.tree_size, 8);
  value.append(reinterpret_cast<const char*>(published.checkpoint.root.data()), kHashBytes);
  put_be(value, static_cast<uint64_t>(published.checkpoint.timestamp_us), 8);
  value += published.text;
  return value;
}

log::Result<std::optional<PublishedCheckpoint>> decode(const std::optional<std::string>& stored,
                                                        const std::string& topic, int32_t partition) {
  if (!stored) return std::optional<PublishedCheckpoint>();
  constexpr size_t kHeader = 8 + kHashBytes + 8;
  if (stored->size() < kHeader) return log::fail(log::ErrorCode::io, "corrupt stored checkpoint");
  PublishedCheckpoint out;
  out.checkpoint.topic = topic;
  out.checkpoint.partition = partition;
  out.checkpoint.tree_size = get_be(*stored, 0, 8);
  std::memcpy(out.checkpoint.root.data(), stored->data() + 8, kHashBytes);
  out.checkpoint.timestamp_us = static_cast<int64_t>(get_be(*stored, 8 + kHashBytes, 8));
  out.text = stored->substr(kHeader);
  return std::optional<PublishedCheckpoint>(std::move(out));
}

}  // namespace

CheckpointPublisher::CheckpointPublisher(log::EventLog& log, store::RocksStore& store, MerkleTrees& trees,
                                         PrivateKey key, std::function<int64_t()> now_us, CheckpointOptions options)
    : log_(log),
      store_(store),
      trees_(trees),
      key_(std::move(key)),
      public_key_(key_.public_key()),
      now_us_(std::move(now_us)),
      options_(std::move(options)) {}

CheckpointPublisher::~CheckpointPublisher() { stop(); }

void CheckpointPublisher::start() {
  if (options_.interval.count() <= 0 || thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void CheckpointPublisher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CheckpointPublisher::run() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, options_.interval, [this] { return stopping_; })) {
    lock.unlock();
    auto published = publish(false);
    lock.lock();
    if (!published) {
      last_failure_ = published.error().message;
    } else {
      last_failure_.reset();
    }
  }
}

std::optional<std::string> CheckpointPublisher::last_failure() {
  std::lock_guard lock(mutex_);
  return last_failure_;
}

log::Result<std::vector<PublishedCheckpoint>> CheckpointPublisher::publish(bool force) {
  std::lock_guard serial(publish_mutex_);
  auto partitions = log_.partition_count(options_.events_topic);
  if (!partitions) return std::unexpected(partitions.error());
  std::vector<PublishedCheckpoint> out;
  log::AppendRequest request;
  for (int32_t p = 0; p < *partitions; ++p) {
    auto size = trees_.size(p);
    if (!size) return std::unexpected(size.error());
    if (*size == 0) continue;
    auto previous = latest(p);
    if (!previous) return std::unexpected(previous.error());
    if (*previous && (*previous)->checkpoint.tree_size == *size && !force) continue;
    auto root = trees_.root(p, *size);
    if (!root) return std::unexpected(root.error());
    PublishedCheckpoint published;
    published.checkpoint = Checkpoint{options_.events_topic, p, *size, *root, now_us_()};
    auto text = sign_checkpoint(published.checkpoint, key_, options_.key_name);
    if (!text) return log::fail(log::ErrorCode::invalid_argument, text.error().message);
    published.text = std::move(*text);
    log::Record record;
    record.topic = options_.checkpoints_topic;
    record.key = options_.events_topic + "/" + std::to_string(p);
    record.value = published.text;
    record.headers.push_back({"record_type", "tenantry.checkpoint"});
    request.records.push_back(std::move(record));
    out.push_back(std::move(published));
  }
  if (out.empty()) return out;
  // Published once durable on the log; the store is where the API finds them again.
  if (auto appended = log_.append(std::move(request)); !appended) return std::unexpected(appended.error());
  auto batch = store_.batch();
  for (const auto& published : out) {
    const std::string value = encode(published);
    batch.put(kCheckpointsFamily, size_key(published.checkpoint.partition, published.checkpoint.tree_size), value);
    batch.put(kCheckpointsFamily, latest_key(published.checkpoint.partition), value);
  }
  if (auto written = store_.write(batch, true); !written) return std::unexpected(written.error());
  return out;
}

log::Result<std::optional<PublishedCheckpoint>> CheckpointPublisher::latest(int32_t partition) {
  auto stored = store_.get(kCheckpointsFamily, latest_key(partition));
  if (!stored) return std::unexpected(stored.error());
  return decode(*stored, options_.events_topic, partition);
}

log::Result<std::optional<PublishedCheckpoint>> CheckpointPublisher::at_size(int32_t partition, uint64_t tree_size) {
  auto stored = store_.get(kCheckpointsFamily, size_key(partition, tree_size));
  if (!stored) return std::unexpected(stored.error());
  return decode(*stored, options_.events_topic, partition);
}

}  // namespace tenantry::audit
