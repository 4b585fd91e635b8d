#include "audit/merkle_store.h"

#include <cstring>

#include "connectors/store/key_codec.h"

namespace tenantry::audit {

namespace {

using store::get_be;
using store::put_be;

std::string size_key(int32_t partition) {
  std::string key(1, 'n');
  put_be(key, static_cast<uint32_t>(partition), 4);
  return key;
}

std::string node_key(int32_t partition, unsigned level, uint64_t index) {
  std::string key(1, 'h');
  put_be(key, static_cast<uint32_t>(partition), 4);
  key.push_back(static_cast<char>(level));
  put_be(key, index, 8);
  return key;
}

std::string location_key(const std::string& tenant_id, uint64_t sequence) {
  std::string key(1, 't');
  key += tenant_id;
  key.push_back('\0');
  put_be(key, sequence, 8);
  return key;
}

std::string encode_location(const LeafLocation& location) {
  std::string value;
  put_be(value, static_cast<uint32_t>(location.partition), 4);
  put_be(value, location.index, 8);
  put_be(value, static_cast<uint64_t>(location.offset), 8);
  return value;
}

std::string_view bytes_of(const Hash& hash) { return {reinterpret_cast<const char*>(hash.data()), hash.size()}; }

log::Error corrupt(const std::string& what) {
  return log::Error{log::ErrorCode::io, "corrupt Merkle store: " + what};
}

log::Result<uint64_t> decode_size(const std::optional<std::string>& stored) {
  if (!stored) return 0;
  if (stored->size() != 8) return std::unexpected(corrupt("tree size"));
  return get_be(*stored, 0, 8);
}

log::Result<Hash> decode_hash(const std::optional<std::string>& stored, int32_t partition, unsigned level,
                              uint64_t index) {
  if (!stored || stored->size() != kHashBytes) {
    return std::unexpected(corrupt((stored ? "bad node " : "missing node ") + std::to_string(partition) + "/" +
                                   std::to_string(level) + "/" + std::to_string(index)));
  }
  Hash hash;
  std::memcpy(hash.data(), stored->data(), kHashBytes);
  return hash;
}

}  // namespace

log::Result<void> MerkleTreeModel::apply(const log::AcceptedRecord& event, store::StoreBatch& batch) {
  const int32_t partition = event.record.partition;
  auto stored_size = batch.get(kMerkleFamily, size_key(partition));
  if (!stored_size) return std::unexpected(stored_size.error());
  auto size = decode_size(*stored_size);
  if (!size) return std::unexpected(size.error());
  const uint64_t index = *size;

  // The leaf, then each perfect subtree this leaf completes: the trailing 1 bits of
  // the new size, as in MerkleAccumulator.
  Hash node = leaf_hash(event.record.value);
  batch.put(kMerkleFamily, node_key(partition, 0, index), bytes_of(node));
  uint64_t position = index;
  for (unsigned level = 0; (position & 1) == 1; ++level, position >>= 1) {
    auto left = batch.get(kMerkleFamily, node_key(partition, level, position - 1));
    if (!left) return std::unexpected(left.error());
    auto left_hash = decode_hash(*left, partition, level, position - 1);
    if (!left_hash) return std::unexpected(left_hash.error());
    node = node_hash(*left_hash, node);
    batch.put(kMerkleFamily, node_key(partition, level + 1, position >> 1), bytes_of(node));
  }
  std::string new_size;
  put_be(new_size, index + 1, 8);
  batch.put(kMerkleFamily, size_key(partition), new_size);
  batch.put(kMerkleFamily, location_key(event.envelope.tenant_id(), event.envelope.sequence()),
            encode_location({partition, index, event.record.offset}));
  return {};
}

log::Result<uint64_t> MerkleTrees::size(int32_t partition) {
  auto stored = store_.get(kMerkleFamily, size_key(partition));
  if (!stored) return std::unexpected(stored.error());
  return decode_size(*stored);
}

log::Result<Hash> MerkleTrees::range_root(int32_t partition, uint64_t begin, uint64_t end) {
  std::vector<Hash> cover;
  for (const PerfectNode& node : perfect_cover({begin, end})) {
    auto stored = store_.get(kMerkleFamily, node_key(partition, node.level, node.index));
    if (!stored) return std::unexpected(stored.error());
    auto hash = decode_hash(*stored, partition, node.level, node.index);
    if (!hash) return std::unexpected(hash.error());
    cover.push_back(*hash);
  }
  return fold_cover(cover);
}

namespace {

log::Result<void> check_size(MerkleTrees& trees, int32_t partition, uint64_t tree_size) {
  auto size = trees.size(partition);
  if (!size) return std::unexpected(size.error());
  if (tree_size > *size) {
    return log::fail(log::ErrorCode::invalid_argument,
                     "tree size " + std::to_string(tree_size) + " is above partition " + std::to_string(partition) +
                         "'s " + std::to_string(*size) + " events");
  }
  return {};
}

}  // namespace

log::Result<Hash> MerkleTrees::root(int32_t partition, uint64_t tree_size) {
  if (auto checked = check_size(*this, partition, tree_size); !checked) return std::unexpected(checked.error());
  return range_root(partition, 0, tree_size);
}

log::Result<Hash> MerkleTrees::leaf(int32_t partition, uint64_t index) {
  if (auto checked = check_size(*this, partition, index + 1); !checked) return std::unexpected(checked.error());
  return range_root(partition, index, index + 1);
}

log::Result<std::vector<Hash>> MerkleTrees::inclusion_proof(int32_t partition, uint64_t index, uint64_t tree_size) {
  if (index >= tree_size) {
    return log::fail(log::ErrorCode::invalid_argument, "leaf index " + std::to_string(index) +
                                                           " is not below tree size " + std::to_string(tree_size));
  }
  if (auto checked = check_size(*this, partition, tree_size); !checked) return std::unexpected(checked.error());
  std::vector<Hash> proof;
  for (const LeafRange& range : inclusion_ranges(index, tree_size)) {
    auto hash = range_root(partition, range.begin, range.end);
    if (!hash) return std::unexpected(hash.error());
    proof.push_back(*hash);
  }
  return proof;
}

log::Result<std::vector<Hash>> MerkleTrees::consistency_proof(int32_t partition, uint64_t old_size,
                                                              uint64_t new_size) {
  if (old_size == 0 || old_size > new_size) {
    return log::fail(log::ErrorCode::invalid_argument, "a consistency proof needs 0 < old size <= new size (got " +
                                                           std::to_string(old_size) + " and " +
                                                           std::to_string(new_size) + ")");
  }
  if (auto checked = check_size(*this, partition, new_size); !checked) return std::unexpected(checked.error());
  std::vector<Hash> proof;
  for (const LeafRange& range : consistency_ranges(old_size, new_size)) {
    auto hash = range_root(partition, range.begin, range.end);
    if (!hash) return std::unexpected(hash.error());
    proof.push_back(*hash);
  }
  return proof;
}

log::Result<std::optional<LeafLocation>> MerkleTrees::locate(const std::string& tenant_id, uint64_t sequence) {
  auto stored = store_.get(kMerkleFamily, location_key(tenant_id, sequence));
  if (!stored) return std::unexpected(stored.error());
  if (!*stored) return std::optional<LeafLocation>();
  if ((*stored)->size() != 20) return std::unexpected(corrupt("leaf location"));
  const std::string& value = **stored;
  return std::optional<LeafLocation>(LeafLocation{static_cast<int32_t>(get_be(value, 0, 4)), get_be(value, 4, 8),
                                                  static_cast<int64_t>(get_be(value, 12, 8))});
}

}  // namespace tenantry::audit
