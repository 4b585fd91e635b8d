// What the gateway needs to know about a tenant on every request (status, plan,
// settings), cached in memory and dropped when an event changes the tenant.
//
// Filled from the tenant directory on a miss; invalidated by the directory's
// projection after each committed batch (TenantDirectoryModel's listener), so a
// suspension takes effect on the next request once the directory has it. A lookup
// racing an invalidation of its tenant never caches what it read before the
// invalidation (a generation counter per stripe of tenants decides), so a stale entry
// cannot outlive the event that changed it.
//
// Bounded: at most `max_entries`; beyond that an arbitrary half is dropped (cheap,
// and a dropped entry costs one directory read). An idle tenant costs one entry of
// a few hundred bytes (see docs/performance.md).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "projections/tenant_directory/tenant_directory.h"

namespace tenantry::gateway {

struct TenantContext {
  std::string tenant_id;
  std::string slug;
  v1::TenantStatus status = v1::TENANT_STATUS_UNSPECIFIED;
  std::string suspension_reason;
  std::string plan;
  uint64_t version = 0;
  std::map<std::string, std::string> settings;  // as stored; secret values empty
};

// The tenant's context as the directory has it now; nullptr for a tenant it does not know.
log::Result<std::shared_ptr<const TenantContext>> load_tenant_context(projections::TenantDirectory& directory,
                                                                       const std::string& tenant_id);

class TenantContextCache {
 public:
  explicit TenantContextCache(projections::TenantDirectory& directory, size_t max_entries = 200'000)
      : directory_(directory), max_entries_(max_entries) {}

  // The tenant's context; nullptr for a tenant the directory does not know.
  log::Result<std::shared_ptr<const TenantContext>> get(const std::string& tenant_id);
  // Drops the tenant's entry; safe from any thread.
  void invalidate(std::string_view tenant_id);
  // Moves whenever `tenant_id` (or a tenant sharing its stripe) is invalidated: a copy
  // taken by get() after reading this is current while it reads the same.
  uint64_t generation(std::string_view tenant_id);

 private:
  projections::TenantDirectory& directory_;
  const size_t max_entries_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const TenantContext>> entries_;
  // Invalidations counted per stripe of tenants (by hash), so a fill is dropped only
  // when its own tenant's stripe moved, not on every event of the platform.
  static constexpr size_t kStripes = 1024;
  std::atomic<uint64_t>& stripe(std::string_view tenant_id);
  std::array<std::atomic<uint64_t>, kStripes> generations_{};
};

}  // namespace tenantry::gateway
