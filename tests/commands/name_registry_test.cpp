// Platform-wide names: the names topic's order decides every race, on every node.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "commands/name_registry.h"
#include "log/embedded_harness.h"

using tenantry::commands::ClaimOutcome;
using tenantry::commands::NameRegistry;
using tenantry::v1::NAME_KIND_DOMAIN;
using tenantry::v1::NAME_KIND_SLUG;

TEST_CASE("name registry: claims, releases, case, and what a second node sees", "[commands][names]") {
  EmbeddedHarness harness;
  auto first = NameRegistry::open(harness.log());
  REQUIRE(first.has_value());
  auto& a = **first;

  CHECK(a.claim(NAME_KIND_SLUG, "acme", "t-1", "test", 1).value() == ClaimOutcome::claimed);
  CHECK(a.claim(NAME_KIND_SLUG, "acme", "t-1", "test", 2).value() == ClaimOutcome::already_held);
  CHECK(a.claim(NAME_KIND_SLUG, "ACME", "t-2", "test", 3).value() == ClaimOutcome::taken);
  // Slugs and domains are separate namespaces.
  CHECK(a.claim(NAME_KIND_DOMAIN, "acme", "t-2", "test", 4).value() == ClaimOutcome::claimed);
  CHECK(a.claim(NAME_KIND_DOMAIN, "App.Acme.test.", "t-1", "test", 5).value() == ClaimOutcome::claimed);
  CHECK(a.holder(NAME_KIND_DOMAIN, "app.acme.test") == "t-1");
  // Only the holder frees a name.
  REQUIRE(a.release(NAME_KIND_SLUG, "acme", "t-2", "test", 6).has_value());
  CHECK(a.holder(NAME_KIND_SLUG, "acme") == "t-1");
  REQUIRE(a.release(NAME_KIND_SLUG, "acme", "t-1", "test", 7).has_value());
  CHECK(a.holder(NAME_KIND_SLUG, "acme").empty());
  CHECK(a.claim(NAME_KIND_SLUG, "acme", "t-2", "test", 8).value() == ClaimOutcome::claimed);

  // Another node (or this one restarted) replays the same answers from the topic.
  auto second = NameRegistry::open(harness.log());
  REQUIRE(second.has_value());
  CHECK((*second)->holder(NAME_KIND_SLUG, "acme") == "t-2");
  CHECK((*second)->holder(NAME_KIND_DOMAIN, "acme") == "t-2");
  CHECK((*second)->holder(NAME_KIND_DOMAIN, "app.acme.test") == "t-1");
  CHECK((*second)->size() == a.size());
  // And follows what the first writes after it started.
  CHECK(a.claim(NAME_KIND_SLUG, "globex", "t-3", "test", 9).value() == ClaimOutcome::claimed);
  CHECK((*second)->claim(NAME_KIND_SLUG, "globex", "t-4", "test", 10).value() == ClaimOutcome::taken);
}

TEST_CASE("name registry: of many racing claims on one name across two nodes, exactly one holds it",
          "[commands][names]") {
  EmbeddedHarness harness;
  auto node_a = NameRegistry::open(harness.log());
  auto node_b = NameRegistry::open(harness.log());
  REQUIRE(node_a.has_value());
  REQUIRE(node_b.has_value());
  for (int round = 0; round < 20; ++round) {
    const std::string name = "contested-" + std::to_string(round);
    std::atomic<int> held{0};
    std::atomic<int> failed{0};
    std::vector<std::thread> racers;
    for (int i = 0; i < 6; ++i) {
      racers.emplace_back([&, i] {
        auto& node = i % 2 == 0 ? **node_a : **node_b;
        auto outcome = node.claim(NAME_KIND_SLUG, name, "t-" + std::to_string(i), "race", i);
        if (!outcome) ++failed;
        else if (*outcome == ClaimOutcome::claimed) ++held;
      });
    }
    for (auto& racer : racers) racer.join();
    INFO("round " << round);
    CHECK(failed == 0);
    CHECK(held == 1);
    CHECK((*node_a)->holder(NAME_KIND_SLUG, name) == (*node_b)->holder(NAME_KIND_SLUG, name));
  }
}

TEST_CASE("name registry: twin claims by one tenant: one took the name, the other finds it already held",
          "[commands][names]") {
  EmbeddedHarness harness;
  auto node_a = NameRegistry::open(harness.log());
  auto node_b = NameRegistry::open(harness.log());
  REQUIRE(node_a.has_value());
  REQUIRE(node_b.has_value());
  for (int round = 0; round < 10; ++round) {
    const std::string name = "twin-" + std::to_string(round);
    ClaimOutcome first{}, second{};
    std::thread a([&] { first = (*node_a)->claim(NAME_KIND_SLUG, name, "t-same", "twin", 1).value(); });
    std::thread b([&] { second = (*node_b)->claim(NAME_KIND_SLUG, name, "t-same", "twin", 2).value(); });
    a.join();
    b.join();
    INFO("round " << round);
    // Whoever took it may give it back on refusal; the other must not.
    CHECK(((first == ClaimOutcome::claimed) + (second == ClaimOutcome::claimed)) == 1);
    CHECK(((first == ClaimOutcome::already_held) + (second == ClaimOutcome::already_held)) == 1);
  }
}
