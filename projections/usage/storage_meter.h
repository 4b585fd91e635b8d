// Storage used per tenant, as a meter: a read model over the events topic keeps each
// tenant's stored bytes (its accepted events as stored: today, the data a tenant holds
// is its event history and what is derived from it), and a publisher turns changes into
// usage events of type tenantry.storage.used ({"bytes": n}) on the usage topic, which
// the built-in LATEST meter storage_bytes aggregates. Ids are the tenant and the byte
// count, so a publication repeated after a restart counts once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "connectors/store/rocks_store.h"
#include "projections/read_model.h"

namespace tenantry::projections {

inline constexpr const char* kStorageFamily = "tenant_storage";

class StorageModel : public ReadModel {
 public:
  std::string name() const override { return kStorageFamily; }
  log::Result<void> apply(const log::AcceptedRecord& event, store::StoreBatch& batch) override;
};

// Bytes of one tenant as the model has them (0 for a tenant without events).
log::Result<int64_t> stored_bytes(store::RocksStore& store, const std::string& tenant_id);

class StoragePublisher {
 public:
  StoragePublisher(log::EventLog& log, store::RocksStore& store, std::function<int64_t()> now_us,
                   std::chrono::milliseconds interval, std::string usage_topic = "tenantry.usage");
  ~StoragePublisher();
  void start();
  void stop();
  // Publishes every tenant whose bytes changed since the last publication; returns how many.
  log::Result<int> publish();

 private:
  log::EventLog& log_;
  store::RocksStore& store_;
  std::function<int64_t()> now_us_;
  std::chrono::milliseconds interval_;
  std::string usage_topic_;
  std::map<std::string, int64_t> published_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tenantry::projections
