#include "audit/merkle.h"

#include <bit>

#include "connectors/log/sha256.h"

namespace tenantry::audit {

namespace {

constexpr unsigned char kLeafPrefix = 0x00;
constexpr unsigned char kNodePrefix = 0x01;

// k: the largest power of two smaller than n (n >= 2).
uint64_t split_point(uint64_t n) { return std::bit_floor(n - 1); }

// PATH(index, D[begin:end]) as the ranges whose MTHs are its nodes.
void path(uint64_t begin, uint64_t end, uint64_t index, std::vector<LeafRange>& out) {
  const uint64_t n = end - begin;
  if (n <= 1) return;
  const uint64_t k = split_point(n);
  if (index < k) {
    path(begin, begin + k, index, out);
    out.push_back({begin + k, end});
  } else {
    path(begin + k, end, index - k, out);
    out.push_back({begin, begin + k});
  }
}

// SUBPROOF(m, D[begin:end], b) of RFC 9162 2.1.4.1, as ranges.
void subproof(uint64_t begin, uint64_t end, uint64_t m, bool complete, std::vector<LeafRange>& out) {
  const uint64_t n = end - begin;
  if (m == n) {
    if (!complete) out.push_back({begin, end});
    return;
  }
  const uint64_t k = split_point(n);
  if (m <= k) {
    subproof(begin, begin + k, m, complete, out);
    out.push_back({begin + k, end});
  } else {
    subproof(begin + k, end, m - k, false, out);
    out.push_back({begin, begin + k});
  }
}

std::vector<Hash> roots_of(std::span<const Hash> leaves, const std::vector<LeafRange>& ranges) {
  std::vector<Hash> out;
  out.reserve(ranges.size());
  for (const auto& range : ranges) out.push_back(root_of(leaves.subspan(range.begin, range.end - range.begin)));
  return out;
}

ProofError refused(std::string message) { return ProofError{std::move(message)}; }


// SHA-256 of the prefix byte and the parts (connectors/log/sha256: the same digest
// as the envelope hash, without EVP's per-call dispatch).
Hash digest(unsigned char prefix, std::string_view first, std::string_view second) {
  const char prefix_byte = static_cast<char>(prefix);
  return log::sha256_of({std::string_view(&prefix_byte, 1), first, second});
}

std::string_view bytes_of(const Hash& hash) {
  return {reinterpret_cast<const char*>(hash.data()), hash.size()};
}

}  // namespace

Hash leaf_hash(std::string_view leaf) { return digest(kLeafPrefix, leaf, {}); }

Hash node_hash(const Hash& left, const Hash& right) {
  return digest(kNodePrefix, bytes_of(left), bytes_of(right));
}

Hash empty_root() { return log::sha256_of({}); }

std::string to_hex(const Hash& hash) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text(2 * kHashBytes, '0');
  for (size_t i = 0; i < kHashBytes; ++i) {
    text[2 * i] = kDigits[hash[i] >> 4];
    text[2 * i + 1] = kDigits[hash[i] & 0x0F];
  }
  return text;
}

std::optional<Hash> hash_from_hex(std::string_view hex) {
  if (hex.size() != 2 * kHashBytes) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Hash out;
  for (size_t i = 0; i < kHashBytes; ++i) {
    const int high = nibble(hex[2 * i]);
    const int low = nibble(hex[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    out[i] = static_cast<unsigned char>(high << 4 | low);
  }
  return out;
}

Hash root_of(std::span<const Hash> leaf_hashes) {
  const uint64_t n = leaf_hashes.size();
  if (n == 0) return empty_root();
  if (n == 1) return leaf_hashes[0];
  const uint64_t k = split_point(n);
  return node_hash(root_of(leaf_hashes.first(k)), root_of(leaf_hashes.subspan(k)));
}

std::vector<LeafRange> inclusion_ranges(uint64_t index, uint64_t tree_size) {
  std::vector<LeafRange> out;
  if (index < tree_size) path(0, tree_size, index, out);
  return out;
}

std::vector<LeafRange> consistency_ranges(uint64_t old_size, uint64_t new_size) {
  std::vector<LeafRange> out;
  if (old_size != 0 && old_size <= new_size) subproof(0, new_size, old_size, true, out);
  return out;
}

std::vector<PerfectNode> perfect_cover(LeafRange range) {
  std::vector<PerfectNode> out;
  uint64_t begin = range.begin;
  uint64_t left = range.end - range.begin;
  // The RFC's split takes the largest power of two below n off the left until what
  // is left is a power of two itself: n's binary digits, highest first.
  while (left != 0) {
    const uint64_t size = std::has_single_bit(left) ? left : split_point(left);
    const auto level = static_cast<unsigned>(std::countr_zero(size));
    out.push_back({level, begin >> level});
    begin += size;
    left -= size;
  }
  return out;
}

Hash fold_cover(std::span<const Hash> cover) {
  if (cover.empty()) return empty_root();
  Hash root = cover.back();
  for (size_t i = cover.size() - 1; i-- > 0;) root = node_hash(cover[i], root);
  return root;
}

std::vector<Hash> inclusion_proof(std::span<const Hash> leaf_hashes, uint64_t index) {
  return roots_of(leaf_hashes, inclusion_ranges(index, leaf_hashes.size()));
}

std::vector<Hash> consistency_proof(std::span<const Hash> leaf_hashes, uint64_t old_size) {
  return roots_of(leaf_hashes, consistency_ranges(old_size, leaf_hashes.size()));
}

Verified verify_inclusion(const Hash& leaf, uint64_t index, uint64_t tree_size,
                          std::span<const Hash> proof, const Hash& root) {
  if (index >= tree_size) {
    return std::unexpected(refused("leaf index " + std::to_string(index) + " is not below tree size " +
                                   std::to_string(tree_size)));
  }
  uint64_t fn = index;
  uint64_t sn = tree_size - 1;
  Hash r = leaf;
  for (const Hash& p : proof) {
    if (sn == 0) return std::unexpected(refused("proof is longer than a tree of this size allows"));
    if ((fn & 1) == 1 || fn == sn) {
      r = node_hash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return std::unexpected(refused("proof is shorter than a tree of this size needs"));
  if (r != root) return std::unexpected(refused("proof does not lead to the root (leaf, index or tree size differ)"));
  return {};
}

Verified verify_consistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                            const Hash& new_root, std::span<const Hash> proof) {
  if (old_size > new_size) {
    return std::unexpected(refused("old tree size " + std::to_string(old_size) + " is above new tree size " +
                                   std::to_string(new_size)));
  }
  if (old_size == new_size) {
    if (!proof.empty()) return std::unexpected(refused("trees of equal size need an empty proof"));
    if (old_root != new_root) return std::unexpected(refused("trees of equal size have different roots"));
    return {};
  }
  if (old_size == 0) {
    if (!proof.empty()) return std::unexpected(refused("the empty tree needs an empty proof"));
    if (old_root != empty_root()) return std::unexpected(refused("old root is not the empty tree's root"));
    return {};
  }
  if (proof.empty()) return std::unexpected(refused("empty consistency proof between different sizes"));
  std::vector<Hash> path(proof.begin(), proof.end());
  // An old tree that is a perfect subtree of the new one is itself the first node.
  if (std::has_single_bit(old_size)) path.insert(path.begin(), old_root);
  uint64_t fn = old_size - 1;
  uint64_t sn = new_size - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0];
  Hash sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return std::unexpected(refused("proof is longer than these tree sizes allow"));
    if ((fn & 1) == 1 || fn == sn) {
      fr = node_hash(c, fr);
      sr = node_hash(c, sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = node_hash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return std::unexpected(refused("proof is shorter than these tree sizes need"));
  if (fr != old_root) return std::unexpected(refused("proof does not reproduce the old root"));
  if (sr != new_root) return std::unexpected(refused("proof does not reproduce the new root"));
  return {};
}

void MerkleAccumulator::append(const Hash& leaf) {
  peaks_.push_back(leaf);
  // Each trailing 1 bit of the old size is a perfect subtree of the same height as
  // the one just completed: merge them, as binary addition carries.
  for (uint64_t carry = size_; (carry & 1) == 1; carry >>= 1) {
    Hash right = peaks_.back();
    peaks_.pop_back();
    peaks_.back() = node_hash(peaks_.back(), right);
  }
  ++size_;
}

Hash MerkleAccumulator::root() const {
  return fold_cover(peaks_);
}

}  // namespace tenantry::audit
