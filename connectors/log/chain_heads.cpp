#include "connectors/log/chain_heads.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>

namespace tenantry::log {

namespace {
constexpr size_t kInitialSlots = 64;
uint64_t hash_of(std::string_view tenant_id) { return std::hash<std::string_view>{}(tenant_id); }
}  // namespace

bool ChainHeads::holds(const Slot& slot, std::string_view tenant_id, uint64_t key_hash) const {
  return slot.key_hash == key_hash && slot.key_size == tenant_id.size() &&
         std::memcmp(ids_.data() + slot.key_at, tenant_id.data(), tenant_id.size()) == 0;
}

size_t ChainHeads::probe(std::string_view tenant_id, uint64_t key_hash) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = key_hash & mask;; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (!slot.used || holds(slot, tenant_id, key_hash)) return i;
  }
}

bool ChainHeads::find(std::string_view tenant_id, Head& head) const {
  if (size_ == 0) return false;
  const Slot& slot = slots_[probe(tenant_id, hash_of(tenant_id))];
  if (!slot.used) return false;
  head.sequence = slot.sequence;
  head.hash = std::string_view(slot.hash, slot.hash_size);
  return true;
}

void ChainHeads::set(std::string_view tenant_id, uint64_t sequence, std::string_view hash) {
  if (hash.size() > kMaxHashBytes) {
    // Heads come from verified hash trailers and from sealing: always a SHA-256.
    std::fprintf(stderr, "ChainHeads::set: a chain hash of %zu bytes\n", hash.size());
    std::abort();
  }
  if (2 * (size_ + 1) > slots_.size()) grow();
  const uint64_t key_hash = hash_of(tenant_id);
  Slot& slot = slots_[probe(tenant_id, key_hash)];
  if (!slot.used) {
    slot.used = true;
    slot.key_hash = key_hash;
    slot.key_at = static_cast<uint32_t>(ids_.size());
    slot.key_size = static_cast<uint32_t>(tenant_id.size());
    ids_.append(tenant_id);
    ++size_;
  }
  slot.sequence = sequence;
  slot.hash_size = static_cast<uint8_t>(hash.size());
  std::memcpy(slot.hash, hash.data(), hash.size());
}

void ChainHeads::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.empty() ? kInitialSlots : 2 * old.size(), Slot{});
  const size_t mask = slots_.size() - 1;
  for (const Slot& slot : old) {
    if (!slot.used) continue;
    size_t i = slot.key_hash & mask;
    while (slots_[i].used) i = (i + 1) & mask;
    slots_[i] = slot;
  }
}

}  // namespace tenantry::log
