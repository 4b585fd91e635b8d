// The accepted-history rules' memory of a partition: each tenant's last accepted
// sequence and hash. Looked up once per event by every reader, so it is laid out for
// that: one 64-byte slot per tenant in an open-addressing table (linear probing, at
// most half full) with the hash inline, the tenant ids back to back in one string;
// a lookup by string_view allocates nothing, and only a new tenant allocates (when
// the table or the id string grows).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tenantry::log {

class ChainHeads {
 public:
  static constexpr size_t kMaxHashBytes = 32;  // a SHA-256

  struct Head {
    uint64_t sequence = 0;
    std::string_view hash;  // empty before a tenant's first event
  };

  // The tenant's head (false: none yet). The hash views the table: valid until the
  // next set().
  bool find(std::string_view tenant_id, Head& head) const;
  // Sets the tenant's head, adding the tenant if new. `hash` is at most 32 bytes (a
  // SHA-256, or empty); a longer one is a programming error and aborts.
  void set(std::string_view tenant_id, uint64_t sequence, std::string_view hash);
  size_t size() const { return size_; }

 private:
  struct alignas(64) Slot {
    uint64_t key_hash = 0;
    uint64_t sequence = 0;
    uint32_t key_at = 0;    // in ids_ (4 GiB of tenant ids per partition at most)
    uint32_t key_size = 0;
    bool used = false;
    uint8_t hash_size = 0;
    char hash[kMaxHashBytes] = {};
  };

  // The slot holding `tenant_id`, or the empty slot where it would go.
  size_t probe(std::string_view tenant_id, uint64_t key_hash) const;
  bool holds(const Slot& slot, std::string_view tenant_id, uint64_t key_hash) const;
  void grow();

  std::vector<Slot> slots_;  // a power of two, or empty
  std::string ids_;          // every tenant id, back to back
  size_t size_ = 0;
};

}  // namespace tenantry::log
