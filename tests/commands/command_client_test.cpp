// Publishing commands and awaiting their replies, with the processor on its own
// thread, on both engines.
#include <catch2/catch.hpp>

#include "commands/command_client.h"
#include "commands/command_processor.h"
#include "commands/tenant_aggregate.h"
#include "log/embedded_harness.h"
#include "log/kafka_harness.h"
#include "test_support.h"
#include "tenantry/v1/tenant.pb.h"

using namespace tenantry;
using namespace std::chrono_literals;

namespace {

v1::CommandEnvelope registration(const std::string& tenant, const std::string& id) {
  v1::RegisterTenant body;
  body.set_slug("slug-" + tenant);
  body.set_display_name("Tenant " + tenant);
  body.set_plan("basic");
  body.set_isolation_tier(v1::ISOLATION_TIER_SHARED);
  body.set_region("eu-west-1");
  body.mutable_admin_contact()->set_name("Ops");
  body.mutable_admin_contact()->set_email("ops@example.com");
  v1::CommandEnvelope command;
  command.set_command_id(id);
  command.set_tenant_id(tenant);
  command.set_command_type("tenantry.v1.RegisterTenant");
  command.set_payload(body.SerializeAsString());
  return command;
}

}  // namespace

TEMPLATE_TEST_CASE("command client: every submitted command gets its own reply", "[commands]", EmbeddedHarness,
                   KafkaHarness) {
  TestType harness;
  auto& log = harness.log();
  for (const char* topic : {"tenantry.commands", "tenantry.events", "tenantry.replies"}) {
    REQUIRE(log.create_topic({topic, 4}).has_value());
  }
  testing::ScratchDir dir;
  auto store = store::RocksStore::open({(dir.path() / "state").string(), commands::CommandProcessor::store_families()});
  REQUIRE(store.has_value());
  clock::ManualClock clock(1767225600000000);
  commands::TenantAggregate aggregate;
  auto client = commands::CommandClient::start(log);
  REQUIRE(client.has_value());

  SECTION("with the processor running, many commands in flight at once") {
    commands::CommandProcessor processor(log, **store, aggregate, clock);
    REQUIRE(processor.start().has_value());
    std::vector<std::future<log::Result<v1::CommandReply>>> futures;
    for (int i = 0; i < 60; ++i) {
      futures.push_back((*client)->submit(registration("t" + std::to_string(i % 20), "c" + std::to_string(i))));
    }
    int accepted = 0;
    int refused = 0;
    for (size_t i = 0; i < futures.size(); ++i) {
      const auto waited_from = std::chrono::steady_clock::now();
      const auto status = futures[i].wait_for(std::chrono::seconds(60));
      INFO("waited " << std::chrono::duration<double>(std::chrono::steady_clock::now() - waited_from).count() << " s");
      REQUIRE(status == std::future_status::ready);
      auto reply = futures[i].get();
      REQUIRE(reply.has_value());
      CHECK(reply->command_id() == "c" + std::to_string(i));
      CHECK(reply->tenant_id() == "t" + std::to_string(i % 20));
      if (reply->status() == v1::CommandReply::STATUS_ACCEPTED) ++accepted;
      if (reply->error_type() == "already_exists") ++refused;
    }
    CHECK(accepted == 20);  // the first registration of each tenant
    CHECK(refused == 40);
    auto again = (*client)->execute(registration("t0", "c0"), 30s);
    REQUIRE(again.has_value());
    CHECK(again->status() == v1::CommandReply::STATUS_ACCEPTED);  // the original reply
    processor.stop();
    CHECK_FALSE(processor.failure().has_value());
  }
  SECTION("with no processor, waiting ends with a timeout, not a hang") {
    auto reply = (*client)->execute(registration("t1", "lonely"), 300ms);
    REQUIRE_FALSE(reply.has_value());
    CHECK(reply.error().code == log::ErrorCode::timeout);
  }
}
