#include "projections/usage/storage_meter.h"

#include <google/protobuf/struct.pb.h>

#include "tenantry/v1/usage.pb.h"

namespace tenantry::projections {

namespace {

std::string encode(int64_t bytes) {
  std::string out;
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((static_cast<uint64_t>(bytes) >> (8 * i)) & 0xFF));
  return out;
}

int64_t decode(std::string_view in) {
  if (in.size() != 8) return 0;
  uint64_t value = 0;
  for (size_t i = 0; i < 8; ++i) value = value << 8 | static_cast<unsigned char>(in[i]);
  return static_cast<int64_t>(value);
}

}  // namespace

log::Result<void> StorageModel::apply(const log::AcceptedRecord& event, store::StoreBatch& batch) {
  const std::string& tenant = event.envelope.tenant_id();
  if (tenant.empty() || tenant.front() == '@') return {};  // platform streams (the plan catalog) hold no tenant's data
  auto stored = batch.get(kStorageFamily, tenant);
  if (!stored) return std::unexpected(stored.error());
  const int64_t bytes = (*stored ? decode(**stored) : 0) + static_cast<int64_t>(event.record.value.size());
  batch.put(kStorageFamily, tenant, encode(bytes));
  return {};
}

log::Result<int64_t> stored_bytes(store::RocksStore& store, const std::string& tenant_id) {
  auto stored = store.get(kStorageFamily, tenant_id);
  if (!stored) return std::unexpected(stored.error());
  return *stored ? decode(**stored) : 0;
}

StoragePublisher::StoragePublisher(log::EventLog& log, store::RocksStore& store, std::function<int64_t()> now_us,
                                   std::chrono::milliseconds interval, std::string usage_topic)
    : log_(log), store_(store), now_us_(std::move(now_us)), interval_(interval), usage_topic_(std::move(usage_topic)) {}

StoragePublisher::~StoragePublisher() { stop(); }

void StoragePublisher::start() {
  if (thread_.joinable() || interval_.count() <= 0) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
      lock.unlock();
      publish();
      lock.lock();
    }
  });
}

void StoragePublisher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

log::Result<int> StoragePublisher::publish() {
  std::map<std::string, int64_t> changed;
  auto scanned = store_.scan(kStorageFamily, "", "", SIZE_MAX, [&](std::string_view key, std::string_view value) {
    const std::string tenant(key);
    const int64_t bytes = decode(value);
    if (auto it = published_.find(tenant); it == published_.end() || it->second != bytes) changed[tenant] = bytes;
    return true;
  });
  if (!scanned) return std::unexpected(scanned.error());
  if (changed.empty()) return 0;
  const int64_t now = now_us_();
  log::AppendRequest request;
  for (const auto& [tenant, bytes] : changed) {
    v1::UsageEvent event;
    event.set_tenant_id(tenant);
    event.set_id("storage-" + std::to_string(bytes));
    event.set_source("tenantry/storage");
    event.set_type("tenantry.storage.used");
    event.set_time_us(now);
    event.set_ingested_at_us(now);
    (*event.mutable_data()->mutable_fields())["bytes"].set_number_value(static_cast<double>(bytes));
    request.records.push_back({usage_topic_, tenant, event.SerializeAsString(), {}, std::nullopt});
  }
  if (auto appended = log_.append(std::move(request)); !appended) return std::unexpected(appended.error());
  for (const auto& [tenant, bytes] : changed) published_[tenant] = bytes;
  return static_cast<int>(changed.size());
}

}  // namespace tenantry::projections
