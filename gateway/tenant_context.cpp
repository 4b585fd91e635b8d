#include "gateway/tenant_context.h"

#include <mutex>

namespace tenantry::gateway {

log::Result<std::shared_ptr<const TenantContext>> load_tenant_context(projections::TenantDirectory& directory,
                                                                       const std::string& tenant_id) {
  auto entry = directory.get(tenant_id);
  if (!entry) return std::unexpected(entry.error());
  if (!*entry) return std::shared_ptr<const TenantContext>();
  auto context = std::make_shared<TenantContext>();
  context->tenant_id = (*entry)->tenant_id();
  context->slug = (*entry)->slug();
  context->status = (*entry)->status();
  context->suspension_reason = (*entry)->suspension_reason();
  context->plan = (*entry)->plan();
  context->version = (*entry)->version();
  context->settings = std::map<std::string, std::string>((*entry)->settings().begin(), (*entry)->settings().end());
  return std::shared_ptr<const TenantContext>(std::move(context));
}

log::Result<std::shared_ptr<const TenantContext>> TenantContextCache::get(const std::string& tenant_id) {
  {
    std::shared_lock lock(mutex_);
    if (auto found = entries_.find(tenant_id); found != entries_.end()) return found->second;
  }
  // Read before looking: an invalidation of this tenant after this point bumps its
  // stripe, and what is read below is then not kept.
  auto& generation_of_tenant = stripe(tenant_id);
  const uint64_t generation = generation_of_tenant.load(std::memory_order_acquire);
  auto context = load_tenant_context(directory_, tenant_id);
  if (!context || !*context) return context;
  std::unique_lock lock(mutex_);
  if (generation_of_tenant.load(std::memory_order_acquire) == generation) {
    if (entries_.size() >= max_entries_) {
      for (auto it = entries_.begin(); it != entries_.end() && entries_.size() > max_entries_ / 2;) it = entries_.erase(it);
    }
    entries_.emplace(tenant_id, *context);
  }
  return context;
}

void TenantContextCache::invalidate(std::string_view tenant_id) {
  std::unique_lock lock(mutex_);
  stripe(tenant_id).fetch_add(1, std::memory_order_acq_rel);
  entries_.erase(std::string(tenant_id));
}

uint64_t TenantContextCache::generation(std::string_view tenant_id) {
  return stripe(tenant_id).load(std::memory_order_acquire);
}

std::atomic<uint64_t>& TenantContextCache::stripe(std::string_view tenant_id) {
  return generations_[std::hash<std::string_view>{}(tenant_id) % kStripes];
}

}  // namespace tenantry::gateway
