// A Merkle tree in the manner of RFC 9162 (Certificate Transparency 2.0) section 2.1,
// identical to RFC 6962's: SHA-256, leaf hash = H(0x00 || leaf), interior node =
// H(0x01 || left || right), and MTH(D[n]) splits at k, the largest power of two
// smaller than n. Pure functions over leaf hashes; no I/O.
//
// Sizes and indexes are 0-based leaf counts and positions (RFC 9162's m and n).
#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tenantry::audit {

inline constexpr size_t kHashBytes = 32;
using Hash = std::array<unsigned char, kHashBytes>;

Hash leaf_hash(std::string_view leaf);
Hash node_hash(const Hash& left, const Hash& right);
// MTH({}) = SHA-256 of the empty string.
Hash empty_root();

std::string to_hex(const Hash& hash);
// Exactly 64 hex digits (either case); nullopt otherwise.
std::optional<Hash> hash_from_hex(std::string_view hex);

// MTH over leaf hashes. Recursion depth is log2(n); the work is n - 1 node hashes.
Hash root_of(std::span<const Hash> leaf_hashes);

// PATH(index, D[n]) (RFC 9162 2.1.3.1), n = leaf_hashes.size(); requires index < n.
std::vector<Hash> inclusion_proof(std::span<const Hash> leaf_hashes, uint64_t index);
// PROOF(old_size, D[n]) (RFC 9162 2.1.4.1); requires 0 < old_size <= n (empty when
// old_size == n).
std::vector<Hash> consistency_proof(std::span<const Hash> leaf_hashes, uint64_t old_size);

// The same proofs for a tree whose leaves are not at hand: the leaf ranges [begin,
// end) whose MTHs are the proof's nodes, in proof order. Every range the recursion
// yields starts at a multiple of the largest power of two not above its length, so
// its MTH is the fold of a few stored perfect subtrees (perfect_cover).
struct LeafRange {
  uint64_t begin = 0;
  uint64_t end = 0;
  friend bool operator==(const LeafRange&, const LeafRange&) = default;
};
std::vector<LeafRange> inclusion_ranges(uint64_t index, uint64_t tree_size);
std::vector<LeafRange> consistency_ranges(uint64_t old_size, uint64_t new_size);

// A perfect subtree: the leaves [index << level, (index + 1) << level).
struct PerfectNode {
  unsigned level = 0;
  uint64_t index = 0;
  friend bool operator==(const PerfectNode&, const PerfectNode&) = default;
};
// The perfect subtrees that make up an aligned range, left to right: its length's
// binary digits, highest first. MTH(range) = fold_cover(their hashes).
std::vector<PerfectNode> perfect_cover(LeafRange range);
// node_hash(c0, node_hash(c1, ... node_hash(c(m-2), c(m-1)))); MTH({}) for none.
Hash fold_cover(std::span<const Hash> cover);

// Why a proof did not verify. Verification never throws and never says "verified"
// for anything but a proof that reproduces the given root(s) exactly.
struct ProofError {
  std::string message;
};
using Verified = std::expected<void, ProofError>;

// RFC 9162 2.1.3.2.
Verified verify_inclusion(const Hash& leaf, uint64_t index, uint64_t tree_size,
                          std::span<const Hash> proof, const Hash& root);
// RFC 9162 2.1.4.2, plus the trivial cases: old_size == new_size needs an empty
// proof and equal roots; old_size == 0 needs an empty proof and old_root == MTH({}).
Verified verify_consistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                            const Hash& new_root, std::span<const Hash> proof);

// The root of a growing tree in O(log n) memory: the roots of the perfect subtrees
// that n's binary digits decompose the leaves into (a "compact range" from 0).
// Verifying a partition of any length with it holds 64 hashes at most.
class MerkleAccumulator {
 public:
  void append(const Hash& leaf);
  uint64_t size() const { return size_; }
  Hash root() const;

 private:
  std::vector<Hash> peaks_;  // perfect subtree roots, largest (leftmost) first
  uint64_t size_ = 0;
};

}  // namespace tenantry::audit
