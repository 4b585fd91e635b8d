// The stored Merkle trees: fed by the projection runner from a log the real
// FencedWriter wrote, they must give the verifier's roots, and the very proofs the
// in-memory tree gives for every index and every tree size, as the log grows.
#include <catch2/catch.hpp>

#include "app/log_options.h"
#include "audit/log_verifier.h"
#include "audit/merkle_store.h"
#include "connectors/log/embedded/embedded_log.h"
#include "connectors/log/fenced_writer.h"
#include "projections/projection_runner.h"
#include "test_support.h"

using namespace tenantry;

namespace {

constexpr int32_t kPartitions = 2;
const std::string kEvents = "tenantry.events";

struct Fixture {
  testing::ScratchDir dir;
  std::unique_ptr<log::EventLog> log;
  std::unique_ptr<store::RocksStore> store;
  std::vector<std::unique_ptr<log::FencedWriter>> writers;
  std::map<std::string, uint64_t> written;
  audit::MerkleTreeModel model;

  Fixture() {
    log::embedded::EmbeddedOptions options;
    options.path = (dir.path() / "log").string();
    auto opened = log::embedded::open_embedded_log(options);
    REQUIRE(opened.has_value());
    log = std::move(*opened);
    for (const auto& topic : app::tenantry_topics(kPartitions)) REQUIRE(log->create_topic(topic).has_value());
    for (int32_t p = 0; p < kPartitions; ++p) {
      auto writer = log::FencedWriter::claim(*log, kEvents, p, "merkle-store-test", 1);
      REQUIRE(writer.has_value());
      writers.push_back(std::move(*writer));
    }
    open_store();
  }

  void open_store() {
    store.reset();
    store::StoreOptions options;
    options.path = (dir.path() / "store").string();
    options.families = {audit::kMerkleFamily, projections::kOffsetsFamily};
    auto opened = store::RocksStore::open(options);
    REQUIRE(opened.has_value());
    store = std::move(*opened);
  }

  void write(int tenants, int per_tenant) {
    for (int round = 0; round < per_tenant; ++round) {
      for (int t = 0; t < tenants; ++t) {
        const std::string tenant = "tenant-" + std::to_string(t);
        log::WriterAppend append;
        log::EventDraft draft;
        const uint64_t sequence = ++written[tenant];
        draft.envelope.set_event_id("event-" + tenant + "-" + std::to_string(sequence));
        draft.envelope.set_tenant_id(tenant);
        draft.envelope.set_event_type("tenantry.v1.TestEvent");
        draft.envelope.set_payload("payload of " + tenant + " #" + std::to_string(sequence));
        append.events.push_back(std::move(draft));
        REQUIRE(writers[static_cast<size_t>(log::partition_for_key(tenant, kPartitions))]->append(std::move(append)));
      }
    }
  }

  void project() {
    projections::ProjectionRunner runner(*log, *store, model);
    REQUIRE(runner.catch_up().has_value());
  }
};

}  // namespace

TEST_CASE("stored trees give the verifier's roots and the in-memory tree's proofs for every size", "[audit][merkle]") {
  Fixture fixture;
  audit::MerkleTrees trees(*fixture.store);
  for (int growth = 0; growth < 3; ++growth) {
    // Uneven growth, so that later batches complete subtrees begun in earlier ones.
    fixture.write(5, 3 + 4 * growth);
    fixture.project();
    auto report = audit::verify_log(*fixture.log, {});
    REQUIRE(report.has_value());
    REQUIRE(report->verified());
    for (const auto& partition : report->partitions) {
      auto size = trees.size(partition.partition);
      REQUIRE(size.has_value());
      REQUIRE(*size == static_cast<uint64_t>(partition.events));
      auto root = trees.root(partition.partition, *size);
      REQUIRE(root.has_value());
      CHECK(*root == partition.root);
    }
  }

  for (int32_t p = 0; p < kPartitions; ++p) {
    auto leaves = audit::read_partition_leaves(*fixture.log, kEvents, p);
    REQUIRE(leaves.has_value());
    const uint64_t n = leaves->leaf_hashes.size();
    REQUIRE(n > 20);
    const std::span<const audit::Hash> all(leaves->leaf_hashes);
    for (uint64_t size = 1; size <= n; ++size) {
      const auto tree = all.first(size);
      const audit::Hash expected_root = audit::root_of(tree);
      auto root = trees.root(p, size);
      REQUIRE(root.has_value());
      REQUIRE(*root == expected_root);
      for (uint64_t index = 0; index < size; ++index) {
        auto proof = trees.inclusion_proof(p, index, size);
        REQUIRE(proof.has_value());
        REQUIRE(*proof == audit::inclusion_proof(tree, index));
        REQUIRE(audit::verify_inclusion(leaves->leaf_hashes[index], index, size, *proof, expected_root));
      }
      for (uint64_t old_size = 1; old_size <= size; ++old_size) {
        auto proof = trees.consistency_proof(p, old_size, size);
        REQUIRE(proof.has_value());
        REQUIRE(*proof == audit::consistency_proof(tree, old_size));
        REQUIRE(audit::verify_consistency(old_size, size, audit::root_of(all.first(old_size)), expected_root, *proof));
      }
    }
  }
}

TEST_CASE("stored trees locate an event by tenant and sequence", "[audit][merkle]") {
  Fixture fixture;
  fixture.write(4, 5);
  fixture.project();
  audit::MerkleTrees trees(*fixture.store);
  for (const auto& [tenant, count] : fixture.written) {
    const int32_t partition = log::partition_for_key(tenant, kPartitions);
    auto leaves = audit::read_partition_leaves(*fixture.log, kEvents, partition);
    REQUIRE(leaves.has_value());
    for (uint64_t sequence = 1; sequence <= count; ++sequence) {
      auto location = trees.locate(tenant, sequence);
      REQUIRE(location.has_value());
      REQUIRE(location->has_value());
      CHECK((*location)->partition == partition);
      REQUIRE((*location)->index < leaves->offsets.size());
      CHECK(leaves->offsets[(*location)->index] == (*location)->offset);
      auto leaf = trees.leaf(partition, (*location)->index);
      REQUIRE(leaf.has_value());
      CHECK(*leaf == leaves->leaf_hashes[(*location)->index]);
    }
    auto beyond = trees.locate(tenant, count + 1);
    REQUIRE(beyond.has_value());
    CHECK_FALSE(beyond->has_value());
  }
}

TEST_CASE("stored trees refuse sizes they do not have, and survive a reopen and a rebuild", "[audit][merkle]") {
  Fixture fixture;
  fixture.write(3, 4);
  fixture.project();
  audit::MerkleTrees trees(*fixture.store);
  auto size = trees.size(0);
  REQUIRE(size.has_value());
  REQUIRE(*size > 0);
  auto before = trees.root(0, *size);
  REQUIRE(before.has_value());

  auto too_big = trees.root(0, *size + 1);
  REQUIRE_FALSE(too_big.has_value());
  CHECK(too_big.error().code == log::ErrorCode::invalid_argument);
  CHECK_THAT(too_big.error().message, Catch::Contains(std::to_string(*size)));
  auto index_out = trees.inclusion_proof(0, *size, *size);
  REQUIRE_FALSE(index_out.has_value());
  CHECK(index_out.error().code == log::ErrorCode::invalid_argument);
  auto no_old = trees.consistency_proof(0, 0, *size);
  REQUIRE_FALSE(no_old.has_value());
  CHECK(no_old.error().code == log::ErrorCode::invalid_argument);
  auto backwards = trees.consistency_proof(0, *size, 1);
  REQUIRE_FALSE(backwards.has_value());
  auto empty_partition_size = trees.size(kPartitions + 5);
  REQUIRE(empty_partition_size.has_value());
  CHECK(*empty_partition_size == 0);

  fixture.open_store();
  audit::MerkleTrees reopened(*fixture.store);
  auto after_reopen = reopened.root(0, *size);
  REQUIRE(after_reopen.has_value());
  CHECK(*after_reopen == *before);

  // A second catch-up with nothing new changes nothing; a rebuild gives the same tree.
  fixture.project();
  CHECK(*reopened.size(0) == *size);
  projections::ProjectionRunner runner(*fixture.log, *fixture.store, fixture.model);
  REQUIRE(runner.rebuild().has_value());
  runner.stop();
  REQUIRE(runner.catch_up().has_value());
  CHECK(*reopened.size(0) == *size);
  CHECK(*reopened.root(0, *size) == *before);
}
