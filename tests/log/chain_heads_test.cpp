// The rules' per-tenant chain heads: a flat table must remember what a map would,
// through growth, for ids of any length (the empty one included).
#include <catch2/catch.hpp>

#include <map>
#include <random>

#include "connectors/log/chain_heads.h"

using tenantry::log::ChainHeads;

TEST_CASE("chain heads remember every tenant's last sequence and hash, as a map would", "[history]") {
  const uint64_t seed = 5;
  std::mt19937_64 random(seed);
  ChainHeads heads;
  std::map<std::string, std::pair<uint64_t, std::string>> expected;
  std::vector<std::string> ids = {""};
  for (int t = 0; t < 5000; ++t) {
    std::string id = "tenant-" + std::to_string(t);
    if (t % 7 == 0) id += std::string(40, 'x');  // longer than any inline buffer
    if (t % 11 == 0) id.push_back('\0');
    ids.push_back(std::move(id));
  }
  for (int i = 0; i < 40000; ++i) {
    const std::string& id = ids[random() % (1 + std::min<size_t>(ids.size() - 1, static_cast<size_t>(i / 4)))];
    std::string hash = random() % 10 == 0 ? std::string() : std::string(32, static_cast<char>(random()));
    const uint64_t sequence = random();
    heads.set(id, sequence, hash);
    expected[id] = {sequence, hash};
    if (i % 997 == 0) {
      INFO("seed " << seed << " step " << i);
      REQUIRE(heads.size() == expected.size());
      for (const auto& [tenant, head] : expected) {
        ChainHeads::Head found;
        REQUIRE(heads.find(tenant, found));
        CHECK(found.sequence == head.first);
        CHECK(found.hash == head.second);
      }
    }
  }
  ChainHeads::Head none;
  CHECK_FALSE(heads.find("nobody", none));
  CHECK_FALSE(ChainHeads().find("", none));
}
