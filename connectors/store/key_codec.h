// Integers in store keys and values: big-endian, so that keys sort by number; signed
// values with the sign bit flipped, so that negative ones sort first.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tenantry::store {

// Appends the low `bytes` bytes of `value`, most significant first.
void put_be(std::string& out, uint64_t value, int bytes = 8);
// Reads `bytes` bytes at `at` (the caller checks the length).
uint64_t get_be(std::string_view in, size_t at, int bytes = 8);
inline uint64_t sortable(int64_t value) { return static_cast<uint64_t>(value) ^ (uint64_t{1} << 63); }
inline int64_t unsortable(uint64_t value) { return static_cast<int64_t>(value ^ (uint64_t{1} << 63)); }

}  // namespace tenantry::store
