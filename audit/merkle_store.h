// The Merkle trees (merkle.h) of an event topic's partitions, kept in the store as a
// read model the projection runner feeds: each accepted event's leaf hash, and every
// perfect subtree's hash once it is complete. A root, an inclusion proof or a
// consistency proof for any tree size up to the stored one then takes O(log^2 n)
// point reads, never a walk of the partition.
//
// The leaves are the accepted events' stored bytes in offset order, as `audit verify`
// hashes them (log_verifier.h), so the stored roots equal the verifier's.
//
// Keys of the family (big-endian integers, so that keys sort by number):
//   'n' partition                          -> tree size
//   'h' partition level index              -> MTH of leaves [index << level, (index + 1) << level)
//   't' tenant '\0' sequence               -> partition, leaf index, offset
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "audit/merkle.h"
#include "connectors/store/rocks_store.h"
#include "projections/read_model.h"

namespace tenantry::audit {

inline constexpr const char* kMerkleFamily = "audit_merkle";

// The writer side: appends each accepted event as the next leaf of its partition.
class MerkleTreeModel : public projections::ReadModel {
 public:
  std::string name() const override { return kMerkleFamily; }
  log::Result<void> apply(const log::AcceptedRecord& event, store::StoreBatch& batch) override;
};

// Where an event is in its partition's tree.
struct LeafLocation {
  int32_t partition = 0;
  uint64_t index = 0;
  int64_t offset = 0;
};

// The reader side. Reads only what the model has committed; every tree size up to
// size() stays provable as the trees grow. Thread-safe (the store is).
class MerkleTrees {
 public:
  explicit MerkleTrees(store::RocksStore& store) : store_(store) {}

  log::Result<uint64_t> size(int32_t partition);
  // Errors: tree_size above size() is `invalid_argument`, naming both.
  log::Result<Hash> root(int32_t partition, uint64_t tree_size);
  log::Result<Hash> leaf(int32_t partition, uint64_t index);
  // PATH(index, D[tree_size]); requires index < tree_size <= size().
  log::Result<std::vector<Hash>> inclusion_proof(int32_t partition, uint64_t index, uint64_t tree_size);
  // PROOF(old_size, D[new_size]); requires 0 < old_size <= new_size <= size().
  log::Result<std::vector<Hash>> consistency_proof(int32_t partition, uint64_t old_size, uint64_t new_size);
  // nullopt when the model has no such event (not yet applied, or never accepted).
  log::Result<std::optional<LeafLocation>> locate(const std::string& tenant_id, uint64_t sequence);

 private:
  log::Result<Hash> range_root(int32_t partition, uint64_t begin, uint64_t end);
  store::RocksStore& store_;
};

}  // namespace tenantry::audit
