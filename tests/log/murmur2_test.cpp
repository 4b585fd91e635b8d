#include <catch2/catch.hpp>

#include "connectors/log/event_log.h"

using tenantry::log::murmur2;
using tenantry::log::partition_for_key;

TEST_CASE("murmur2 matches Kafka's Java client (UtilsTest vectors)", "[partitioning]") {
  const std::vector<std::pair<std::string, int32_t>> cases = {
      {"21", -973932308},
      {"foobar", -790332482},
      {"a-little-bit-long-string", -985981536},
      {"a-little-bit-longer-string", -1486304829},
      {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
      {"abc", 479470107},
  };
  for (const auto& [key, expected] : cases) {
    INFO(key);
    CHECK(static_cast<int32_t>(murmur2(key)) == expected);
  }
}

TEST_CASE("partition is the positive hash modulo the partition count", "[partitioning]") {
  CHECK(partition_for_key("foobar", 50) == 16);
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "tenant-" + std::to_string(i);
    const int32_t p = partition_for_key(key, 7);
    CHECK(p >= 0);
    CHECK(p < 7);
    CHECK(p == static_cast<int32_t>((murmur2(key) & 0x7fffffff) % 7));
  }
}
