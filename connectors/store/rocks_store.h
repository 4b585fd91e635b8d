// A RocksDB instance with named families (column families). Writes go through a
// StoreBatch that sees its own writes, so a read model can read-modify-write several
// keys and commit them, with its input offsets, in one atomic write. A writer that
// never reads back what it wrote in the same batch can take an unindexed batch, which
// skips the index that seeing its own writes takes.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/log/event_log.h"

namespace tenantry::store {

using log::Result;

class RocksStore;

class StoreBatch {
 public:
  ~StoreBatch();
  StoreBatch(StoreBatch&&) noexcept;
  void put(std::string_view family, std::string_view key, std::string_view value);
  void erase(std::string_view family, std::string_view key);
  // The value as this batch would leave it: its own writes first, then the store. An
  // unindexed batch reads the store alone (its writes are not seen).
  Result<std::optional<std::string>> get(std::string_view family, std::string_view key);
  size_t operations() const;

 private:
  friend class RocksStore;
  struct Impl;
  explicit StoreBatch(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct StoreOptions {
  std::string path;
  std::vector<std::string> families;  // created when missing
  size_t block_cache_bytes = 32u << 20;
};

class RocksStore {
 public:
  static Result<std::unique_ptr<RocksStore>> open(const StoreOptions& options);
  ~RocksStore();

  StoreBatch batch();
  // A batch whose get() does not see its own writes (see StoreBatch::get).
  StoreBatch unindexed_batch();
  // Atomic; `sync` fsyncs the write-ahead log before returning.
  Result<void> write(StoreBatch& batch, bool sync);
  Result<std::optional<std::string>> get(const std::string& family, std::string_view key);
  // Calls `visit(key, value)` for keys starting with `prefix`, from `start` (inclusive;
  // empty: the prefix itself) in key order, until it returns false or `limit` keys.
  Result<void> scan(const std::string& family, std::string_view prefix, std::string_view start, size_t limit,
                    const std::function<bool(std::string_view key, std::string_view value)>& visit);
  // Removes every key of the family (for a rebuild), durably.
  Result<void> clear(const std::string& family);

 struct Impl;  // public so StoreBatch's implementation can reach the database

 private:
  explicit RocksStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tenantry::store
