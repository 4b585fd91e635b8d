#include "connectors/store/rocks_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/write_batch_with_index.h>

#include <map>
#include <optional>

namespace tenantry::store {

namespace {
std::unexpected<log::Error> io(const rocksdb::Status& status, const std::string& what) {
  return log::fail(log::ErrorCode::io, what + ": " + status.ToString());
}
}  // namespace

struct RocksStore::Impl {
  rocksdb::DB* db = nullptr;
  std::map<std::string, rocksdb::ColumnFamilyHandle*, std::less<>> families;

  Result<rocksdb::ColumnFamilyHandle*> family(std::string_view name) const {
    auto it = families.find(name);
    if (it == families.end()) return log::fail(log::ErrorCode::invalid_argument, "unknown store family " + std::string(name));
    return it->second;
  }

  ~Impl() {
    if (db == nullptr) return;
    for (auto& [name, handle] : families) db->DestroyColumnFamilyHandle(handle);
    db->Close();
    delete db;
  }
};

struct StoreBatch::Impl {
  const RocksStore::Impl* store;
  // Indexed (sees its own writes) or plain: exactly one is used.
  std::optional<rocksdb::WriteBatchWithIndex> indexed;
  rocksdb::WriteBatch plain;
  // Writes to a family this store does not have are refused at write time, not lost.
  std::string bad_family;

  rocksdb::WriteBatchBase& writes() {
    if (indexed) return *indexed;
    return plain;
  }
  rocksdb::WriteBatch* batch() { return indexed ? indexed->GetWriteBatch() : &plain; }
};

StoreBatch::StoreBatch(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StoreBatch::~StoreBatch() = default;
StoreBatch::StoreBatch(StoreBatch&&) noexcept = default;

void StoreBatch::put(std::string_view family, std::string_view key, std::string_view value) {
  auto handle = impl_->store->family(family);
  if (!handle) {
    impl_->bad_family = std::string(family);
    return;
  }
  impl_->writes().Put(*handle, rocksdb::Slice(key.data(), key.size()), rocksdb::Slice(value.data(), value.size()));
}

void StoreBatch::erase(std::string_view family, std::string_view key) {
  auto handle = impl_->store->family(family);
  if (!handle) {
    impl_->bad_family = std::string(family);
    return;
  }
  impl_->writes().Delete(*handle, rocksdb::Slice(key.data(), key.size()));
}

Result<std::optional<std::string>> StoreBatch::get(std::string_view family, std::string_view key) {
  auto handle = impl_->store->family(family);
  if (!handle) return std::unexpected(handle.error());
  std::string value;
  const rocksdb::Slice slice(key.data(), key.size());
  auto status = impl_->indexed
                    ? impl_->indexed->GetFromBatchAndDB(impl_->store->db, rocksdb::ReadOptions(), *handle, slice, &value)
                    : impl_->store->db->Get(rocksdb::ReadOptions(), *handle, slice, &value);
  if (status.IsNotFound()) return std::optional<std::string>{};
  if (!status.ok()) return io(status, "reading " + std::string(family));
  return std::optional<std::string>(std::move(value));
}

size_t StoreBatch::operations() const { return static_cast<size_t>(impl_->batch()->Count()); }

RocksStore::RocksStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RocksStore::~RocksStore() = default;

Result<std::unique_ptr<RocksStore>> RocksStore::open(const StoreOptions& options) {
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  // Whole-key bloom filters, in the tables and in the memtables: most point reads here
  // look for a key that is not there (a new command id, a new usage event id), and a
  // filter answers those without searching the memtable or an SST's index.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  db_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  db_options.memtable_whole_key_filtering = true;
  db_options.memtable_prefix_bloom_size_ratio = 0.02;

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions(db_options)}};
  for (const auto& name : options.families) descriptors.push_back({name, rocksdb::ColumnFamilyOptions(db_options)});
  // Families a newer build created must be opened too, or RocksDB refuses to open.
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(db_options, options.path, &existing).ok()) {
    for (const auto& name : existing) {
      bool known = false;
      for (const auto& d : descriptors) known = known || d.name == name;
      if (!known) descriptors.push_back({name, rocksdb::ColumnFamilyOptions(db_options)});
    }
  }
  auto impl = std::make_unique<Impl>();
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  auto status = rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &impl->db);
  if (!status.ok()) return io(status, "opening store at " + options.path);
  for (size_t i = 0; i < handles.size(); ++i) impl->families.emplace(descriptors[i].name, handles[i]);
  return std::unique_ptr<RocksStore>(new RocksStore(std::move(impl)));
}

StoreBatch RocksStore::batch() {
  auto impl = std::make_unique<StoreBatch::Impl>();
  impl->store = impl_.get();
  impl->indexed.emplace(rocksdb::BytewiseComparator(), 0, true);
  return StoreBatch(std::move(impl));
}

StoreBatch RocksStore::unindexed_batch() {
  auto impl = std::make_unique<StoreBatch::Impl>();
  impl->store = impl_.get();
  return StoreBatch(std::move(impl));
}

Result<void> RocksStore::write(StoreBatch& batch, bool sync) {
  if (!batch.impl_->bad_family.empty()) {
    return log::fail(log::ErrorCode::invalid_argument, "batch writes to unknown family " + batch.impl_->bad_family);
  }
  rocksdb::WriteOptions options;
  options.sync = sync;
  auto status = impl_->db->Write(options, batch.impl_->batch());
  if (!status.ok()) return io(status, "writing store batch");
  return {};
}

Result<std::optional<std::string>> RocksStore::get(const std::string& family, std::string_view key) {
  auto handle = impl_->family(family);
  if (!handle) return std::unexpected(handle.error());
  std::string value;
  auto status = impl_->db->Get(rocksdb::ReadOptions(), *handle, rocksdb::Slice(key.data(), key.size()), &value);
  if (status.IsNotFound()) return std::optional<std::string>{};
  if (!status.ok()) return io(status, "reading " + family);
  return std::optional<std::string>(std::move(value));
}

Result<void> RocksStore::scan(const std::string& family, std::string_view prefix, std::string_view start, size_t limit,
                              const std::function<bool(std::string_view, std::string_view)>& visit) {
  auto handle = impl_->family(family);
  if (!handle) return std::unexpected(handle.error());
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), *handle));
  const std::string_view from = start.empty() ? prefix : start;
  size_t seen = 0;
  for (it->Seek(rocksdb::Slice(from.data(), from.size())); it->Valid() && seen < limit; it->Next(), ++seen) {
    const auto key = it->key().ToStringView();
    if (!key.starts_with(prefix)) break;
    if (!visit(key, it->value().ToStringView())) break;
  }
  if (!it->status().ok()) return io(it->status(), "scanning " + family);
  return {};
}

Result<void> RocksStore::clear(const std::string& family) {
  auto handle = impl_->family(family);
  if (!handle) return std::unexpected(handle.error());
  // Point deletes: a range delete needs an upper bound, and keys are arbitrary bytes.
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), *handle));
  for (it->SeekToFirst(); it->Valid(); it->Next()) batch.Delete(*handle, it->key());
  if (!it->status().ok()) return io(it->status(), "clearing " + family);
  rocksdb::WriteOptions options;
  options.sync = true;
  auto status = impl_->db->Write(options, &batch);
  if (!status.ok()) return io(status, "clearing " + family);
  return {};
}

}  // namespace tenantry::store
