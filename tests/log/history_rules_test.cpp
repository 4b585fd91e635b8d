// The accepted-history rules as a table: given these records, in this order, these
// verdicts.
#include <catch2/catch.hpp>

#include <map>
#include <random>

#include "connectors/log/envelope_codec.h"
#include "connectors/log/history_rules.h"
#include "tenantry/v1/log.pb.h"

using namespace tenantry::log;

namespace {

int64_t next_offset = 0;

StoredRecord claim(uint64_t epoch) {
  tenantry::v1::WriterClaim c;
  c.set_epoch(epoch);
  c.set_writer_id("w" + std::to_string(epoch));
  StoredRecord r;
  r.topic = "events";
  r.offset = next_offset++;
  r.value = c.SerializeAsString();
  r.headers = {{"tenantry-kind", "claim"}};
  return r;
}

struct Chain {
  std::map<std::string, std::pair<uint64_t, std::string>> heads;
};

// A sealed event continuing `chain` for `tenant` (or deliberately not, via overrides).
StoredRecord event(Chain& chain, const std::string& tenant, uint64_t epoch,
                   std::optional<uint64_t> sequence = std::nullopt, bool advance = true) {
  auto& [last_sequence, last_hash] = chain.heads[tenant];
  tenantry::v1::EventEnvelope e;
  e.set_tenant_id(tenant);
  e.set_event_type("tenantry.v1.TestEvent");
  e.set_sequence(sequence.value_or(last_sequence + 1));
  e.set_previous_hash(last_hash);
  e.set_writer_epoch(epoch);
  e.set_payload("p" + std::to_string(next_offset));
  StoredRecord r;
  r.topic = "events";
  r.offset = next_offset++;
  r.key = tenant;
  r.value = seal_envelope(e);
  if (advance) {
    last_sequence = e.sequence();
    last_hash = e.hash();
  }
  return r;
}

}  // namespace

TEST_CASE("claims: a higher epoch takes effect, an equal or lower one is stale", "[history]") {
  PartitionHistory history(TopicKind::events);
  CHECK(history.apply(claim(1)).verdict == Verdict::claim);
  CHECK(history.apply(claim(1)).verdict == Verdict::stale_claim);
  CHECK(history.apply(claim(3)).verdict == Verdict::claim);
  CHECK(history.apply(claim(2)).verdict == Verdict::stale_claim);
  CHECK(history.epoch() == 3);
}

TEST_CASE("events: epochs, sequences and hashes decide what is accepted", "[history]") {
  PartitionHistory history(TopicKind::events);
  Chain chain;
  REQUIRE(history.apply(claim(1)).verdict == Verdict::claim);

  SECTION("a chained run is accepted") {
    for (int i = 0; i < 3; ++i) CHECK(history.apply(event(chain, "acme", 1)).verdict == Verdict::accepted);
    CHECK(history.head("acme")->sequence == 3);
  }
  SECTION("a record of an older epoch after a newer claim is fenced") {
    CHECK(history.apply(event(chain, "acme", 1)).verdict == Verdict::accepted);
    REQUIRE(history.apply(claim(2)).verdict == Verdict::claim);
    Chain zombie = chain;
    CHECK(history.apply(event(zombie, "acme", 1)).verdict == Verdict::fenced);
    CHECK(history.apply(event(chain, "acme", 2)).verdict == Verdict::accepted);
    CHECK(history.head("acme")->sequence == 2);
  }
  SECTION("an epoch nobody claimed is a violation") {
    auto outcome = history.apply(event(chain, "acme", 5, std::nullopt, false));
    REQUIRE(outcome.verdict == Verdict::violation);
    CHECK(outcome.violation->kind == ViolationKind::unclaimed_epoch);
  }
  SECTION("a gap in the sequence is a violation and does not move the head") {
    CHECK(history.apply(event(chain, "acme", 1)).verdict == Verdict::accepted);
    auto outcome = history.apply(event(chain, "acme", 1, 5, false));
    REQUIRE(outcome.verdict == Verdict::violation);
    CHECK(outcome.violation->kind == ViolationKind::sequence_gap);
    CHECK(outcome.violation->sequence == 5);
    CHECK(outcome.violation->tenant_id == "acme");
    CHECK(history.apply(event(chain, "acme", 1)).verdict == Verdict::accepted);
    CHECK(history.head("acme")->sequence == 2);
  }
  SECTION("a repeated sequence (a replayed event) is a violation") {
    auto first = event(chain, "acme", 1);
    CHECK(history.apply(first).verdict == Verdict::accepted);
    first.offset = next_offset++;
    CHECK(history.apply(first).violation->kind == ViolationKind::sequence_gap);
  }
  SECTION("a first event that does not start at 1 is a violation, and leaves no head") {
    auto outcome = history.apply(event(chain, "acme", 1, 2, false));
    CHECK(outcome.violation->kind == ViolationKind::sequence_gap);
    CHECK_FALSE(history.head("acme").has_value());
  }
  SECTION("a broken previous hash is a violation") {
    CHECK(history.apply(event(chain, "acme", 1)).verdict == Verdict::accepted);
    chain.heads["acme"].second = std::string(32, 'x');
    auto outcome = history.apply(event(chain, "acme", 1, std::nullopt, false));
    CHECK(outcome.violation->kind == ViolationKind::previous_hash_mismatch);
  }
  SECTION("an envelope under another tenant's key is a violation") {
    auto record = event(chain, "acme", 1, std::nullopt, false);
    record.key = "globex";
    CHECK(history.apply(record).violation->kind == ViolationKind::tenant_mismatch);
  }
  SECTION("an event without an epoch is a violation") {
    auto outcome = history.apply(event(chain, "acme", 0, std::nullopt, false));
    CHECK(outcome.violation->kind == ViolationKind::missing_epoch);
  }
  SECTION("a header epoch that disagrees with the envelope is a violation") {
    auto record = event(chain, "acme", 1, std::nullopt, false);
    record.headers.push_back({"tenantry-epoch", "2"});
    CHECK(history.apply(record).violation->kind == ViolationKind::epoch_mismatch);
  }
  SECTION("tenants chain independently") {
    CHECK(history.apply(event(chain, "acme", 1)).verdict == Verdict::accepted);
    CHECK(history.apply(event(chain, "globex", 1)).verdict == Verdict::accepted);
    CHECK(history.apply(event(chain, "acme", 1)).verdict == Verdict::accepted);
    CHECK(history.head("acme")->sequence == 2);
    CHECK(history.head("globex")->sequence == 1);
  }
}

TEST_CASE("fenced topics: the epoch header decides, unstamped records pass", "[history]") {
  PartitionHistory history(TopicKind::fenced);
  StoredRecord plain;
  plain.value = "command from a client";
  CHECK(history.apply(plain).verdict == Verdict::accepted);
  REQUIRE(history.apply(claim(2)).verdict == Verdict::claim);
  StoredRecord stamped;
  stamped.headers = {{"tenantry-epoch", "2"}};
  CHECK(history.apply(stamped).verdict == Verdict::accepted);
  stamped.headers = {{"tenantry-epoch", "1"}};
  CHECK(history.apply(stamped).verdict == Verdict::fenced);
  stamped.headers = {{"tenantry-epoch", "3"}};
  CHECK(history.apply(stamped).violation->kind == ViolationKind::unclaimed_epoch);
  stamped.headers = {{"tenantry-epoch", "two"}};
  CHECK(history.apply(stamped).violation->kind == ViolationKind::corrupt_record);
}

TEST_CASE("events of a type this reader does not know are accepted and kept as they are", "[history]") {
  PartitionHistory history(TopicKind::events);
  REQUIRE(history.apply(claim(1)).verdict == Verdict::claim);
  tenantry::v1::EventEnvelope e;
  e.set_tenant_id("acme");
  e.set_sequence(1);
  e.set_writer_epoch(1);
  e.set_event_type("tenantry.v99.SomethingFromTheFuture");
  e.set_schema_version(42);
  e.set_payload(std::string("\x08\x96\x01\xfa\x07\x02hi", 8));
  StoredRecord r;
  r.topic = "events";
  r.offset = next_offset++;
  r.key = "acme";
  r.value = seal_envelope(e);
  auto outcome = history.apply(r);
  REQUIRE(outcome.verdict == Verdict::accepted);
  CHECK(outcome.envelope.event_type() == "tenantry.v99.SomethingFromTheFuture");
  CHECK(outcome.envelope.payload() == e.payload());
}

TEST_CASE("check() reaches apply()'s verdicts, fields and heads, without building envelopes", "[history]") {
  // A random mix of claims, chained events, zombies' events and every kind of
  // violation, through one history by apply() and another by check().
  const uint64_t seed = 99;
  std::mt19937_64 random(seed);
  PartitionHistory applied(TopicKind::events);
  PartitionHistory checked(TopicKind::events);
  Chain chain;
  uint64_t epoch = 0;
  const std::vector<std::string> tenants = {"acme", "globex", "initech", "tenant-000123-0badc0de", ""};
  RuleOutcome by_apply;
  RuleOutcome by_check;
  for (int i = 0; i < 3000; ++i) {
    StoredRecord record;
    const std::string& tenant = tenants[random() % tenants.size()];
    switch (random() % 12) {
      case 0: record = claim(random() % 4 == 0 ? epoch : ++epoch); break;
      case 1: {  // a zombie, or an epoch nobody claimed
        Chain other = chain;
        record = event(other, tenant, random() % 2 == 0 ? epoch - 1 : epoch + 1, std::nullopt, false);
        break;
      }
      case 2: record = event(chain, tenant, epoch, 1 + random() % 5, false); break;  // a gap
      case 3: {
        record = event(chain, tenant, epoch, std::nullopt, false);
        record.value[random() % record.value.size()] ^= static_cast<char>(1 << (random() % 8));
        break;
      }
      case 4: {
        record = event(chain, tenant, epoch, std::nullopt, false);
        record.value.resize(random() % record.value.size());
        break;
      }
      case 5: {
        record = event(chain, tenant, epoch, std::nullopt, false);
        record.key = "someone-else";
        break;
      }
      case 6: {
        record = event(chain, tenant, epoch, std::nullopt, false);
        record.headers.push_back({"tenantry-epoch", random() % 2 == 0 ? "x" : std::to_string(epoch + 1)});
        break;
      }
      default: record = event(chain, tenant, epoch); break;
    }
    applied.apply(record, by_apply);
    checked.check(record, by_check);
    INFO("seed " << seed << " record " << i);
    REQUIRE(by_check.verdict == by_apply.verdict);
    REQUIRE(by_check.violation.has_value() == by_apply.violation.has_value());
    if (by_apply.violation) {
      CHECK(by_check.violation->describe() == by_apply.violation->describe());
    }
    if (by_apply.verdict == Verdict::accepted) {
      CHECK(by_check.fields.tenant_id == by_apply.envelope.tenant_id());
      CHECK(by_check.fields.sequence == by_apply.envelope.sequence());
      CHECK(by_check.fields.writer_epoch == by_apply.envelope.writer_epoch());
      CHECK(by_check.fields.previous_hash == by_apply.envelope.previous_hash());
      CHECK(by_check.fields.hash == by_apply.envelope.hash());
    }
  }
  CHECK(checked.epoch() == applied.epoch());
  CHECK(checked.tenants() == applied.tenants());
  for (const auto& tenant : tenants) {
    const auto a = applied.head(tenant);
    const auto c = checked.head(tenant);
    REQUIRE(a.has_value() == c.has_value());
    if (a) {
      CHECK(c->sequence == a->sequence);
      CHECK(c->hash == a->hash);
    }
  }
}
