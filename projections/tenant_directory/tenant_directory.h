// The tenant directory: one entry per tenant, secondary indexes for lookups, lists
// and search, and a per-tenant operation log, all built from the events topic.
//
// TenantDirectoryModel is the write side (a ReadModel the projection runner drives);
// TenantDirectory answers queries over the same store. Every list has a bound: pages
// hold at most kPageSizeMax entries and examine at most kScanBudgetKeys index keys,
// so no query loads the whole directory, whatever the number of tenants.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/store/rocks_store.h"
#include "projections/read_model.h"
#include "tenantry/v1/directory.pb.h"

namespace tenantry::projections {

inline constexpr const char* kTenantDirectoryFamily = "tenant_directory";

inline constexpr size_t kPageSizeDefault = 50;
inline constexpr size_t kPageSizeMax = 500;
// Index keys one page may examine. A selective filter can end a page early (fewer
// entries, with a cursor) instead of walking every tenant in one call.
inline constexpr size_t kScanBudgetKeys = 10'000;
// Tenants one slug or domain lookup considers. The write side cannot keep slugs and
// domains unique across tenants (each tenant decides alone), so a name may have
// several claimants; the lookup picks one by a fixed rule.
inline constexpr size_t kClaimantsMax = 64;

class TenantDirectoryModel final : public ReadModel {
 public:
  std::string name() const override { return kTenantDirectoryFamily; }
  log::Result<void> apply(const log::AcceptedRecord& event, store::StoreBatch& batch) override;
  void committed(const std::vector<log::AcceptedRecord>& events) override;

  // Told the id of each tenant whose entry a committed batch changed (set before the
  // runner starts; called from runner threads, so it must be thread-safe).
  void on_changed(std::function<void(std::string_view tenant_id)> listener) { listener_ = std::move(listener); }

  // The families to open the store with.
  static std::vector<std::string> store_families();

 private:
  std::function<void(std::string_view tenant_id)> listener_;
};

// Filters are ANDed; an unset filter matches everything. Results come in creation
// order (created_at_us, then tenant id) whichever filters are set.
struct ListQuery {
  std::optional<v1::TenantStatus> status;
  std::optional<std::string> plan;
  std::optional<v1::IsolationTier> isolation_tier;
  std::optional<std::string> region;
  std::optional<int64_t> created_from_us;    // inclusive
  std::optional<int64_t> created_before_us;  // exclusive
  size_t page_size = kPageSizeDefault;       // 1..kPageSizeMax
  std::string cursor;                        // empty: the first page
};

// A page may hold fewer than the page size even when more follow (the scan budget);
// only an empty next_cursor means there is nothing after it.
template <class T>
struct Page {
  std::vector<T> entries;
  std::string next_cursor;
};

enum class ExportFormat { csv, ndjson };

// Reads the store as the model leaves it. Not a snapshot: a page read while the
// runner writes may show some entries before and some after a batch.
class TenantDirectory {
 public:
  explicit TenantDirectory(store::RocksStore& store) : store_(store) {}

  log::Result<std::optional<v1::TenantDirectoryEntry>> get(std::string_view tenant_id);
  // Case-insensitive. Of several tenants claiming the slug: a tenant that is not
  // deleted first, then the earliest created.
  log::Result<std::optional<v1::TenantDirectoryEntry>> find_by_slug(std::string_view slug);
  // Case-insensitive, a trailing dot ignored. A verified claim wins (the earliest
  // verified); without one, the earliest added unverified claim. The entry's
  // custom_domains say whether the match is verified.
  log::Result<std::optional<v1::TenantDirectoryEntry>> find_by_domain(std::string_view domain);

  log::Result<Page<v1::TenantDirectoryEntry>> list(const ListQuery& query);
  // Tenants whose slug or display name starts with `prefix` (ASCII case-insensitive),
  // ordered by the matching text, each tenant once.
  log::Result<Page<v1::TenantDirectoryEntry>> search(std::string_view prefix, size_t limit = kPageSizeDefault,
                                                     std::string_view cursor = {});
  // Every entry `query` matches (its page size and cursor are ignored) as CSV (RFC 4180,
  // header first, formula-like cells neutralised) or NDJSON, handed to `sink` in chunks
  // of at most one page. Memory stays bounded by one page. `sink` returns false to stop
  // early. Returns the rows handed over.
  log::Result<uint64_t> export_rows(const ListQuery& query, ExportFormat format,
                                    const std::function<bool(std::string_view chunk)>& sink);
  // The tenant's operations in sequence order.
  log::Result<Page<v1::TenantOperation>> operations(std::string_view tenant_id, size_t limit = kPageSizeDefault,
                                                    std::string_view cursor = {});

 private:
  log::Result<std::optional<v1::TenantDirectoryEntry>> read_entry(std::string_view tenant_id);

  store::RocksStore& store_;
};

}  // namespace tenantry::projections
