// The command processor end to end on both engines: commands in on the commands
// topic, events and replies out, idempotency, expected versions, and recovery from
// the log alone.
#include <catch2/catch.hpp>

#include "commands/command_processor.h"
#include "commands/tenant_aggregate.h"
#include "commands/tenant_commands.h"
#include "log/embedded_harness.h"
#include "log/kafka_harness.h"
#include "log/read_back.h"
#include "test_support.h"
#include "tenantry/v1/tenant.pb.h"

using namespace tenantry;
using namespace std::chrono_literals;

namespace {

constexpr int32_t kPartitions = 3;

v1::CommandEnvelope register_command(const std::string& tenant, const std::string& id, const std::string& slug) {
  auto command = testing::command_of(tenant, id, testing::registration_body(slug));
  command.mutable_actor()->set_kind("service");
  command.mutable_actor()->set_id("signup");
  return command;
}

v1::CommandEnvelope suspend_command(const std::string& tenant, const std::string& id,
                                    std::optional<uint64_t> expected_version) {
  v1::SuspendTenant body;
  body.set_reason("unpaid invoices");
  v1::CommandEnvelope command;
  command.set_command_id(id);
  command.set_tenant_id(tenant);
  command.set_command_type("tenantry.v1.SuspendTenant");
  command.set_payload(body.SerializeAsString());
  if (expected_version) command.set_expected_version(*expected_version);
  return command;
}

struct Fixture {
  explicit Fixture(log::EventLog& log) : log(log) {
    for (const char* topic : {"tenantry.commands", "tenantry.events", "tenantry.replies"}) {
      REQUIRE(log.create_topic({topic, kPartitions}).has_value());
    }
    open_store();
  }

  void open_store() {
    processor.reset();
    store.reset();
    auto opened = store::RocksStore::open({(dir.path() / ("store" + std::to_string(stores))).string(),
                                           commands::CommandProcessor::store_families()});
    REQUIRE(opened.has_value());
    store = std::move(*opened);
    commands::ProcessorOptions options;
    options.names = names;
    processor = std::make_unique<commands::CommandProcessor>(log, *store, aggregate, clock, options);
  }

  void send(const v1::CommandEnvelope& command) {
    log::AppendRequest request;
    request.records.push_back(log::Record{"tenantry.commands", command.tenant_id(), command.SerializeAsString(), {},
                                          std::nullopt});
    REQUIRE(log.append(std::move(request)).has_value());
  }

  std::vector<v1::CommandReply> replies_for(const std::string& tenant) {
    auto all = testing::read_back(log, "tenantry.replies", log::partition_for_key(tenant, kPartitions),
                                  log::TopicKind::fenced);
    CHECK(all.violations.empty());
    std::vector<v1::CommandReply> out;
    for (const auto& accepted : all.records) {
      if (accepted.record.header("tenantry-kind") != nullptr) continue;
      v1::CommandReply reply;
      REQUIRE(reply.ParseFromString(accepted.record.value));
      if (reply.tenant_id() == tenant) out.push_back(reply);
    }
    return out;
  }

  // Sends the command and processes until `new_replies` more replies for its tenant
  // are out (more than one when earlier records are still waiting); returns the last.
  v1::CommandReply process_one(const v1::CommandEnvelope& command, size_t new_replies = 1) {
    const size_t before = replies_for(command.tenant_id()).size();
    send(command);
    std::vector<v1::CommandReply> replies;
    REQUIRE(testing::eventually(30s, [&] {
      auto handled = processor->process_available(200ms);
      if (!handled) FAIL("processing failed: " << handled.error().message);
      replies = replies_for(command.tenant_id());
      return replies.size() >= before + new_replies;
    }));
    return replies.back();
  }

  std::vector<v1::EventEnvelope> events_of(const std::string& tenant) {
    auto all = testing::read_back(log, "tenantry.events", log::partition_for_key(tenant, kPartitions),
                                  log::TopicKind::events);
    CHECK(all.violations.empty());
    std::vector<v1::EventEnvelope> out;
    for (const auto& accepted : all.records) {
      if (accepted.envelope.tenant_id() == tenant) out.push_back(accepted.envelope);
    }
    return out;
  }

  log::EventLog& log;
  testing::ScratchDir dir;
  clock::ManualClock clock{1767225600000000};  // 2026-01-01T00:00:00Z
  commands::TenantAggregate aggregate;
  std::unique_ptr<store::RocksStore> store;
  std::unique_ptr<commands::CommandProcessor> processor;
  commands::NameRegistry* names = nullptr;  // set, then open_store(), to reserve names
  int stores = 0;
};

using testing::command_of;

}  // namespace

TEMPLATE_TEST_CASE("command processor: decides, appends events and replies, and is idempotent", "[commands]",
                   EmbeddedHarness, KafkaHarness) {
  TestType harness;
  Fixture fixture(harness.log());
  const std::string tenant = "t-acme";

  auto registered = fixture.process_one(register_command(tenant, "cmd-1", "acme"));
  CHECK(registered.status() == v1::CommandReply::STATUS_ACCEPTED);
  CHECK(registered.resulting_sequence() == 1);
  CHECK(registered.command_id() == "cmd-1");
  auto events = fixture.events_of(tenant);
  REQUIRE(events.size() == 1);
  CHECK(events[0].event_type() == "tenantry.v1.TenantRegistered");
  CHECK(events[0].command_id() == "cmd-1");
  CHECK(events[0].sequence() == 1);
  CHECK(events[0].actor().id() == "signup");
  CHECK(events[0].occurred_at_us() == fixture.clock.now_us());

  SECTION("a repeated command id returns the original reply and appends nothing") {
    auto again = fixture.process_one(register_command(tenant, "cmd-1", "acme"));
    CHECK(again.status() == v1::CommandReply::STATUS_ACCEPTED);
    CHECK(again.resulting_sequence() == 1);
    CHECK(again.replied_at_us() == registered.replied_at_us());
    CHECK(fixture.events_of(tenant).size() == 1);
  }
  SECTION("the same id with another body is a conflict") {
    auto conflict = fixture.process_one(register_command(tenant, "cmd-1", "acme-two"));
    CHECK(conflict.status() == v1::CommandReply::STATUS_CONFLICT);
    CHECK(conflict.error_type() == "idempotency_conflict");
    CHECK(fixture.events_of(tenant).size() == 1);
  }
  SECTION("an expected version that is not the tenant's is a conflict naming the current version") {
    auto conflict = fixture.process_one(suspend_command(tenant, "cmd-2", 5));
    CHECK(conflict.status() == v1::CommandReply::STATUS_CONFLICT);
    CHECK(conflict.error_type() == "version_conflict");
    CHECK(conflict.resulting_sequence() == 1);
    auto suspended = fixture.process_one(suspend_command(tenant, "cmd-3", 1));
    CHECK(suspended.status() == v1::CommandReply::STATUS_ACCEPTED);
    CHECK(suspended.resulting_sequence() == 2);
    auto events_now = fixture.events_of(tenant);
    REQUIRE(events_now.size() == 2);
    CHECK(events_now[1].previous_hash() == events_now[0].hash());
  }
  SECTION("a refused command gets the domain's error with the field at fault and appends nothing") {
    auto refused = fixture.process_one(register_command("t-bad", "cmd-9", "Not A Slug"));
    CHECK(refused.status() == v1::CommandReply::STATUS_REJECTED);
    CHECK(refused.error_type() == "validation_error");
    REQUIRE(refused.field_errors_size() >= 1);
    CHECK(refused.field_errors(0).field() == "slug");
    CHECK(fixture.events_of("t-bad").empty());
  }
  SECTION("a record that is not a command is answered, not fatal") {
    log::AppendRequest request;
    request.records.push_back(log::Record{"tenantry.commands", tenant, "\xff\xfe garbage", {}, std::nullopt});
    REQUIRE(harness.log().append(std::move(request)).has_value());
    auto next = fixture.process_one(suspend_command(tenant, "cmd-4", std::nullopt), 2);
    CHECK(next.status() == v1::CommandReply::STATUS_ACCEPTED);
    auto all = fixture.replies_for(tenant);
    REQUIRE(all.size() == 3);
    CHECK(all[1].error_type() == "malformed_command");
  }
}

TEMPLATE_TEST_CASE("command processor: a new processor with an empty cache rebuilds it from the log",
                   "[commands]", EmbeddedHarness, KafkaHarness) {
  TestType harness;
  Fixture fixture(harness.log());
  const std::string tenant = "t-globex";
  REQUIRE(fixture.process_one(register_command(tenant, "r-1", "globex")).status() ==
          v1::CommandReply::STATUS_ACCEPTED);
  REQUIRE(fixture.process_one(suspend_command(tenant, "s-1", 1)).status() == v1::CommandReply::STATUS_ACCEPTED);

  // A new node: a new store, nothing cached. It claims the partitions and catches up.
  ++fixture.stores;
  fixture.open_store();
  auto repeated = fixture.process_one(register_command(tenant, "r-1", "globex"));
  CHECK(repeated.status() == v1::CommandReply::STATUS_ACCEPTED);
  CHECK(repeated.resulting_sequence() == 1);
  auto conflict = fixture.process_one(register_command(tenant, "r-1", "other"));
  CHECK(conflict.error_type() == "idempotency_conflict");
  auto suspend_again = fixture.process_one(suspend_command(tenant, "s-2", std::nullopt));
  CHECK(suspend_again.status() == v1::CommandReply::STATUS_REJECTED);
  CHECK(suspend_again.error_type() == "invalid_transition");
  auto events = fixture.events_of(tenant);
  CHECK(events.size() == 2);
}

TEST_CASE("command processor: a state cache smaller than the tenants stays bounded and decides as without it",
          "[commands]") {
  EmbeddedHarness harness;
  Fixture fixture(harness.log());
  // Room for a few decoded states only, and the store written after every command:
  // most decisions read their tenant back from the store.
  commands::ProcessorOptions options;
  options.state_cache_bytes = 4096;
  options.max_unwritten_commands = 1;
  fixture.processor = std::make_unique<commands::CommandProcessor>(harness.log(), *fixture.store, fixture.aggregate,
                                                                   fixture.clock, options);
  constexpr int kTenants = 40;
  for (int i = 0; i < kTenants; ++i) {
    fixture.send(register_command("t-" + std::to_string(i), "r-" + std::to_string(i), "slug-" + std::to_string(i)));
  }
  for (int i = 0; i < kTenants; ++i) {
    fixture.send(suspend_command("t-" + std::to_string(i), "s-" + std::to_string(i), 1));
  }
  REQUIRE(testing::eventually(30s, [&] {
    auto handled = fixture.processor->process_available(200ms);
    if (!handled) FAIL("processing failed: " << handled.error().message);
    for (int i = 0; i < kTenants; ++i) {
      if (fixture.replies_for("t-" + std::to_string(i)).size() < 2) return false;
    }
    return true;
  }));
  CHECK(fixture.processor->memory().cached_state_bytes <= options.state_cache_bytes);
  for (int i = 0; i < kTenants; ++i) {
    auto replies = fixture.replies_for("t-" + std::to_string(i));
    REQUIRE(replies.size() == 2);
    CHECK(replies[1].status() == v1::CommandReply::STATUS_ACCEPTED);
    CHECK(replies[1].resulting_sequence() == 2);
  }
  // A tenant long evicted: its version and its replies come back from the store.
  auto stale = fixture.process_one(suspend_command("t-0", "s-again", 1));
  CHECK(stale.error_type() == "version_conflict");
  auto repeated = fixture.process_one(register_command("t-0", "r-0", "slug-0"));
  CHECK(repeated.status() == v1::CommandReply::STATUS_ACCEPTED);
  CHECK(repeated.resulting_sequence() == 1);
}

TEMPLATE_TEST_CASE("command processor: slugs and domains are unique across tenants for commands on the topic",
                   "[commands][names]", EmbeddedHarness, KafkaHarness) {
  TestType harness;
  Fixture fixture(harness.log());
  auto names = commands::NameRegistry::open(harness.log());
  REQUIRE(names.has_value());
  fixture.names = names->get();
  fixture.open_store();

  CHECK(fixture.process_one(register_command("t-a", "a-1", "shared")).status() == v1::CommandReply::STATUS_ACCEPTED);
  auto refused = fixture.process_one(register_command("t-b", "b-1", "shared"));
  CHECK(refused.status() == v1::CommandReply::STATUS_REJECTED);
  CHECK(refused.error_type() == "already_exists");
  REQUIRE(refused.field_errors_size() == 1);
  CHECK(refused.field_errors(0).field() == "slug");
  CHECK(fixture.events_of("t-b").empty());
  CHECK((*names)->holder(v1::NAME_KIND_SLUG, "shared") == "t-a");
  // The same tenant registering again keeps its slug (already_exists from its decider).
  CHECK(fixture.process_one(register_command("t-a", "a-2", "shared")).error_type() == "already_exists");
  CHECK((*names)->holder(v1::NAME_KIND_SLUG, "shared") == "t-a");

  // A registration refused for another reason gives its slug back.
  auto invalid = register_command("t-c", "c-1", "free-slug");
  v1::RegisterTenant body;
  REQUIRE(body.ParseFromString(invalid.payload()));
  body.set_display_name("");
  invalid.set_payload(body.SerializeAsString());
  CHECK(fixture.process_one(invalid).status() == v1::CommandReply::STATUS_REJECTED);
  // Releases are durable when the reply is out; this node reads them back shortly after.
  CHECK(testing::eventually(10s, [&] { return (*names)->holder(v1::NAME_KIND_SLUG, "free-slug").empty(); }));

  // Two registrations for one slug in one poll: the earlier claim wins.
  fixture.send(register_command("t-d", "d-1", "raced"));
  fixture.send(register_command("t-e", "e-1", "raced"));
  REQUIRE(testing::eventually(30s, [&] {
    REQUIRE(fixture.processor->process_available(200ms).has_value());
    return fixture.replies_for("t-d").size() == 1 && fixture.replies_for("t-e").size() == 1;
  }));
  const bool d_won = fixture.replies_for("t-d")[0].status() == v1::CommandReply::STATUS_ACCEPTED;
  const bool e_won = fixture.replies_for("t-e")[0].status() == v1::CommandReply::STATUS_ACCEPTED;
  CHECK(d_won != e_won);
  CHECK((*names)->holder(v1::NAME_KIND_SLUG, "raced") == (d_won ? "t-d" : "t-e"));

  // Domains: taken while t-a has it, free once its removal is durable.
  v1::AddCustomDomain add;
  add.set_domain("www.shared.test");
  CHECK(fixture.process_one(command_of("t-a", "a-3", add)).status() == v1::CommandReply::STATUS_ACCEPTED);
  const std::string winner = d_won ? "t-d" : "t-e";
  auto taken = fixture.process_one(command_of(winner, winner + "-2", add));
  CHECK(taken.error_type() == "already_exists");
  REQUIRE(taken.field_errors_size() == 1);
  CHECK(taken.field_errors(0).field() == "domain");
  v1::RemoveCustomDomain remove;
  remove.set_domain("www.shared.test");
  CHECK(fixture.process_one(command_of("t-a", "a-4", remove)).status() == v1::CommandReply::STATUS_ACCEPTED);
  CHECK(testing::eventually(10s, [&] { return (*names)->holder(v1::NAME_KIND_DOMAIN, "www.shared.test").empty(); }));
  CHECK(fixture.process_one(command_of(winner, winner + "-3", add)).status() == v1::CommandReply::STATUS_ACCEPTED);
  CHECK((*names)->holder(v1::NAME_KIND_DOMAIN, "www.shared.test") == winner);
}
