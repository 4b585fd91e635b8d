// The tenant lifecycle over HTTP, end to end against `tenantry serve`: configuring,
// custom domains, the operation log, search and exports, clones, suspension as the
// tenant's own principals meet it, and deletion completed by the deletion saga.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "connectors/log/embedded/embedded_log.h"
#include "gateway/api_client.h"
#include "gateway/serve_fixture.h"
#include "http/jwt_test_support.h"
#include "test_support.h"
#include "tenantry/v1/audit.pb.h"

using namespace std::chrono_literals;
using tenantry::testing::data_of;
using tenantry::testing::error_type;
using tenantry::testing::eventually;
using tenantry::testing::first_field;
using tenantry::testing::Reply;

namespace {

const std::string kSecret = "lifecycle-test-secret-of-at-least-32-bytes";

std::string token(const std::string& subject, const std::string& role, const std::string& tenant = {}) {
  return tenantry::testing::jwt::bearer_hs256(kSecret, subject, "[\"" + role + "\"]", tenant);
}

const std::string kAcme = R"({"id":"t-acme","slug":"acme","displayName":"Acme","plan":"pro","isolationTier":"shared",
  "region":"eu-west-1","adminContact":{"name":"Ada","email":"ada@acme.example"},
  "settings":{"general.timezone":"Europe/Paris","secret.smtp_password":"hunter2-hunter2"}})";

using Api = tenantry::testing::ApiClient;

int version_of(const Reply& reply) { return data_of(reply)->getValue<int>("version"); }

}  // namespace

TEST_CASE("tenant lifecycle API: configure, domains, operations, exports, clones, suspension, deletion",
          "[gateway]") {
  const std::string engine = GENERATE(as<std::string>{}, "embedded", "kafka");
  INFO("engine " << engine);
  tenantry::testing::ServeFixture serve(engine, {"--jwt-hs256-secret", kSecret, "--saga-interval-ms", "50"});
  Api api{serve.port()};
  const std::string admin = token("ops-1", "platform_admin");
  const std::string operator_ = token("op-2", "operator");
  const std::string ada = token("ada", "tenant_admin", "t-acme");
  const std::string ann = token("ann", "tenant_member", "t-acme");

  REQUIRE(api.call("POST", "/v1/tenants", admin, kAcme).status == 201);
  auto acme = api.until("/v1/tenants/t-acme", admin, [](const Reply& r) { return r.status == 200; });
  // Defaults are filled on read; a secret shows only that it is set.
  auto settings = data_of(acme)->getObject("settings");
  CHECK(settings->getValue<std::string>("general.timezone") == "Europe/Paris");
  CHECK(settings->getValue<std::string>("general.currency") == "USD");
  CHECK(settings->getValue<std::string>("secret.smtp_password") == "(set)");
  CHECK(acme.text.find("hunter2") == std::string::npos);

  SECTION("the tenant's admin configures it; members and plan changes are refused; bad values name the field") {
    auto configured = api.call("PATCH", "/v1/tenant", ada,
                               R"({"displayName":"Acme Corp","settings":{"general.timezone":"Asia/Tokyo","custom.team":"blue"}})");
    INFO(configured.text);
    REQUIRE(configured.status == 200);
    CHECK(version_of(configured) == 2);
    auto member = api.call("PATCH", "/v1/tenant", ann, R"({"displayName":"Mine"})");
    CHECK(member.status == 403);
    CHECK(error_type(member) == "forbidden");
    auto plan = api.call("PATCH", "/v1/tenant", ada, R"({"plan":"enterprise"})");
    CHECK(plan.status == 400);
    CHECK(first_field(plan) == "plan");
    auto bad = api.call("PATCH", "/v1/tenants/t-acme", admin, R"({"settings":{"general.timezone":"not a zone"}})");
    CHECK(bad.status == 422);
    CHECK(first_field(bad) == "settings.general.timezone");
    auto wrong_type = api.call("PATCH", "/v1/tenants/t-acme", admin, R"({"settings":{"custom.team":7}})");
    CHECK(wrong_type.status == 400);
    CHECK(first_field(wrong_type) == "settings.custom.team");
    auto got = api.until("/v1/tenant", ann, [](const Reply& r) { return r.status == 200 && version_of(r) == 2; });
    CHECK(data_of(got)->getValue<std::string>("displayName") == "Acme Corp");
    CHECK(data_of(got)->getObject("settings")->getValue<std::string>("general.timezone") == "Asia/Tokyo");
    CHECK(data_of(got)->getObject("settings")->getValue<std::string>("custom.team") == "blue");
    // null unsets: the default applies again.
    REQUIRE(api.call("PATCH", "/v1/tenant", ada, R"({"settings":{"general.timezone":null}})").status == 200);
    got = api.until("/v1/tenant", ann, [](const Reply& r) { return r.status == 200 && version_of(r) == 3; });
    CHECK(data_of(got)->getObject("settings")->getValue<std::string>("general.timezone") == "UTC");

    // The operation log says who did what, from which command, in order.
    auto operations = api.call("GET", "/v1/tenants/t-acme/operations", admin);
    REQUIRE(operations.status == 200);
    auto list = data_of(operations)->getArray("operations");
    REQUIRE(list->size() == 3);
    CHECK(list->getObject(0)->getValue<std::string>("eventType") == "tenantry.v1.TenantRegistered");
    CHECK(list->getObject(0)->getObject("actor")->getValue<std::string>("id") == "ops-1");
    CHECK(list->getObject(1)->getValue<std::string>("eventType") == "tenantry.v1.TenantConfigured");
    CHECK(list->getObject(1)->getObject("actor")->getValue<std::string>("id") == "ada");
    CHECK(list->getObject(1)->getObject("actor")->getValue<std::string>("tenantId") == "t-acme");
    CHECK(api.call("GET", "/v1/tenant/operations", ann).status == 403);
    auto page = api.call("GET", "/v1/tenant/operations?limit=2", ada);
    REQUIRE(page.status == 200);
    CHECK(data_of(page)->getArray("operations")->size() == 2);
    const std::string cursor = data_of(page)->getValue<std::string>("nextCursor");
    REQUIRE_FALSE(cursor.empty());
    auto rest = api.call("GET", "/v1/tenant/operations?limit=2&cursor=" + cursor, ada);
    CHECK(data_of(rest)->getArray("operations")->size() == 1);
    CHECK(api.call("GET", "/v1/tenant/operations?limit=0", ada).status == 400);
  }

  SECTION("a custom domain: added by the tenant, verified by the platform, then it resolves the tenant") {
    auto added = api.call("POST", "/v1/tenant/domains", ada, R"({"domain":"app.acme-corp.test"})");
    INFO(added.text);
    REQUIRE(added.status == 201);
    auto got = api.until("/v1/tenant", ada, [](const Reply& r) {
      return r.status == 200 && data_of(r)->getArray("customDomains")->size() == 1;
    });
    auto domain = data_of(got)->getArray("customDomains")->getObject(0);
    CHECK_FALSE(domain->getValue<bool>("verified"));
    const std::string published = domain->getValue<std::string>("verificationToken");
    REQUIRE_FALSE(published.empty());
    // Unverified, the domain names no tenant.
    CHECK(api.call("GET", "/v1/tenant", admin, "", {{"Host", "app.acme-corp.test"}}).status == 400);
    // The tenant cannot verify its own domain: knowing the token proves nothing.
    CHECK(api.call("POST", "/v1/tenants/t-acme/domains/app.acme-corp.test/verify", ada,
                   R"({"token":")" + published + "\"}")
              .status == 403);
    auto wrong = api.call("POST", "/v1/tenants/t-acme/domains/app.acme-corp.test/verify", operator_, R"({"token":"nope"})");
    CHECK(wrong.status >= 400);
    CHECK(wrong.status < 500);
    REQUIRE(api.call("POST", "/v1/tenants/t-acme/domains/app.acme-corp.test/verify", operator_,
                     R"({"token":")" + published + "\"}")
                .status == 200);
    auto by_domain = api.until("/v1/tenant", admin, [](const Reply& r) { return r.status == 200; },
                               {{"Host", "app.acme-corp.test"}});
    CHECK(data_of(by_domain)->getValue<std::string>("id") == "t-acme");
    CHECK(api.call("POST", "/v1/tenant/domains", ada, R"({"domain":"not a domain"})").status == 422);
    REQUIRE(api.call("DELETE", "/v1/tenant/domains/app.acme-corp.test", ada).status == 200);
    api.until("/v1/tenant", ada, [](const Reply& r) {
      return r.status == 200 && data_of(r)->getArray("customDomains")->size() == 0;
    });
  }

  SECTION("search, CSV and NDJSON exports; clones from a tenant and from a template") {
    auto cloned = api.call("POST", "/v1/tenants/t-acme/clones", admin,
                           R"({"id":"t-acme2","slug":"acme-two","displayName":"Acme Two","adminContact":{"name":"Bo","email":"bo@acme.example"}})");
    INFO(cloned.text);
    REQUIRE(cloned.status == 201);
    auto from_template = api.call("POST", "/v1/templates/business/tenants", admin,
                                  R"({"id":"t-biz","slug":"biz-co","displayName":"Biz Co","region":"us-east-1","adminContact":{"name":"Cy","email":"cy@biz.example"}})");
    INFO(from_template.text);
    REQUIRE(from_template.status == 201);
    CHECK(api.call("POST", "/v1/templates/no-such/tenants", admin,
                   R"({"slug":"nope-co","displayName":"N","region":"us-east-1","adminContact":{"name":"N","email":"n@n.example"}})")
              .status == 404);
    CHECK(api.call("POST", "/v1/tenants/t-acme/clones", ada, R"({"slug":"mine-too"})").status == 403);
    auto copy = api.until("/v1/tenants/t-acme2", admin, [](const Reply& r) { return r.status == 200; });
    CHECK(data_of(copy)->getValue<std::string>("clonedFromTenant") == "t-acme");
    CHECK(data_of(copy)->getValue<std::string>("plan") == "pro");
    CHECK(data_of(copy)->getObject("settings")->getValue<std::string>("general.timezone") == "Europe/Paris");
    // Never another tenant's secrets.
    CHECK_FALSE(data_of(copy)->getObject("settings")->has("secret.smtp_password"));
    auto biz = api.until("/v1/tenants/t-biz", admin, [](const Reply& r) { return r.status == 200; });
    CHECK(data_of(biz)->getValue<std::string>("clonedFromTemplate") == "business");
    CHECK(data_of(biz)->getValue<std::string>("isolationTier") == "schema");

    auto found = api.call("GET", "/v1/tenants?q=acme", operator_);
    REQUIRE(found.status == 200);
    CHECK(data_of(found)->getArray("tenants")->size() == 2);
    CHECK(data_of(api.call("GET", "/v1/tenants?q=biz", operator_))->getArray("tenants")->size() == 1);

    auto csv = api.call("GET", "/v1/tenants?format=csv&plan=pro", operator_);
    REQUIRE(csv.status == 200);
    CHECK(csv.content_type.starts_with("text/csv"));
    CHECK(csv.text.find("t-acme,") != std::string::npos);
    CHECK(csv.text.find("t-acme2,") != std::string::npos);
    CHECK(csv.text.find("t-biz") == std::string::npos);
    CHECK(std::count(csv.text.begin(), csv.text.end(), '\n') == 3);  // header and two rows
    auto ndjson = api.call("GET", "/v1/tenants?format=ndjson", operator_);
    REQUIRE(ndjson.status == 200);
    CHECK(ndjson.content_type == "application/x-ndjson");
    CHECK(std::count(ndjson.text.begin(), ndjson.text.end(), '\n') == 3);
    CHECK(api.call("GET", "/v1/tenants?format=xml", operator_).status == 400);
    CHECK(api.call("GET", "/v1/tenants?format=csv", ann).status == 403);
  }

  SECTION("a suspended tenant's principals get 403 with the reason; platform roles still manage it") {
    api.until("/v1/tenant", ann, [](const Reply& r) { return r.status == 200; });  // cached as active
    REQUIRE(api.call("POST", "/v1/tenants/t-acme/suspend", admin, R"({"reason":"invoice 42 unpaid"})").status == 200);
    auto refused = api.until("/v1/tenant", ann, [](const Reply& r) { return r.status == 403; });
    CHECK(error_type(refused) == "tenant_suspended");
    CHECK(refused.text.find("invoice 42 unpaid") != std::string::npos);
    CHECK(api.call("GET", "/v1/tenants/t-acme", ada).status == 403);
    CHECK(api.call("PATCH", "/v1/tenant", ada, R"({"displayName":"x"})").status == 403);
    auto key = api.call("POST", "/v1/api-keys", ada, R"({"subject":"bot","tenantId":"t-acme","roles":["tenant_member"]})");
    CHECK(key.status == 403);
    CHECK(error_type(key) == "tenant_suspended");
    auto seen = api.call("GET", "/v1/tenants/t-acme", operator_);
    REQUIRE(seen.status == 200);
    CHECK(data_of(seen)->getValue<std::string>("status") == "suspended");
    REQUIRE(api.call("POST", "/v1/tenants/t-acme/reactivate", operator_).status == 200);
    api.until("/v1/tenant", ann, [](const Reply& r) { return r.status == 200; });
  }

  SECTION("deletion: cancellable in its grace period, completed by the saga once it ends; then 404") {
    auto requested = api.call("POST", "/v1/tenant/deletion", ada, R"({"gracePeriodDays":30})");
    INFO(requested.text);
    REQUIRE(requested.status == 202);
    auto pending = api.until("/v1/tenant", ann, [](const Reply& r) {
      return r.status == 200 && data_of(r)->getValue<std::string>("status") == "pending_deletion";
    });
    CHECK(data_of(pending)->has("deletionDueAtUs"));
    CHECK(api.call("POST", "/v1/tenant/deletion", ada, R"({"gracePeriodDays":91})").status == 400);
    REQUIRE(api.call("DELETE", "/v1/tenant/deletion", ada).status == 200);
    api.until("/v1/tenant", ann, [](const Reply& r) {
      return r.status == 200 && data_of(r)->getValue<std::string>("status") == "active";
    });
    REQUIRE(api.call("POST", "/v1/tenants/t-acme/deletion", admin, R"({"gracePeriodDays":0})").status == 202);
    auto gone = api.until("/v1/tenant", ann, [](const Reply& r) { return r.status == 404; });
    CHECK(error_type(gone) == "tenant_deleted");
    auto record = api.call("GET", "/v1/tenants/t-acme", admin);
    REQUIRE(record.status == 200);
    CHECK(data_of(record)->getValue<std::string>("status") == "deleted");
    auto operations = api.call("GET", "/v1/tenants/t-acme/operations", admin);
    auto list = data_of(operations)->getArray("operations");
    auto last = list->getObject(list->size() - 1);
    CHECK(last->getValue<std::string>("eventType") == "tenantry.v1.TenantDeleted");
    CHECK(last->getObject("actor")->getValue<std::string>("kind") == "saga");
    // Deleted is final.
    CHECK(api.call("POST", "/v1/tenants/t-acme/reactivate", admin).status == 409);
  }

  CHECK(serve.stop() == 0);
}

TEST_CASE("access audit: refused cross-tenant attempts and platform access land on the audit topic", "[gateway]") {
  tenantry::testing::ServeFixture serve("embedded", {"--jwt-hs256-secret", kSecret});
  Api api{serve.port()};
  const std::string admin = token("ops-1", "platform_admin");
  REQUIRE(api.call("POST", "/v1/tenants", admin, kAcme).status == 201);
  api.until("/v1/tenants/t-acme", admin, [](const Reply& r) { return r.status == 200; });
  const std::string intruder = token("eve", "tenant_admin", "t-globex");
  CHECK(api.call("GET", "/v1/tenants/t-acme", intruder).status == 403);
  CHECK(api.call("GET", "/v1/tenant", intruder, "", {{"X-Tenant-ID", "t-acme"}}).status == 403);
  CHECK(api.call("POST", "/v1/api-keys", intruder, R"({"subject":"e","tenantId":"t-acme","roles":["tenant_admin"]})")
            .status == 403);
  REQUIRE(serve.stop() == 0);

  // The server has stopped: its log is read here as an auditor's tool would.
  tenantry::log::embedded::EmbeddedOptions options;
  options.path = (serve.data_dir() / "log").string();
  auto log = tenantry::log::embedded::open_embedded_log(options);
  REQUIRE(log.has_value());
  auto partitions = (*log)->partition_count("tenantry.audit");
  REQUIRE(partitions.has_value());
  std::vector<tenantry::v1::AccessRecord> records;
  for (int32_t p = 0; p < *partitions; ++p) {
    auto reader = (*log)->open_reader("tenantry.audit", p, 0);
    REQUIRE(reader.has_value());
    for (;;) {
      auto batch = (*reader)->read(100, 0ms);
      REQUIRE(batch.has_value());
      if (batch->empty()) break;
      for (const auto& stored : *batch) {
        tenantry::v1::AccessRecord record;
        REQUIRE(record.ParseFromString(stored.value));
        CHECK(stored.key == record.target_tenant_id());
        records.push_back(record);
      }
    }
  }
  int denied = 0;
  int platform = 0;
  for (const auto& record : records) {
    if (record.outcome() == tenantry::v1::ACCESS_OUTCOME_DENIED) {
      ++denied;
      CHECK(record.subject() == "eve");
      CHECK(record.principal_tenant_id() == "t-globex");
      CHECK(record.target_tenant_id() == "t-acme");
      CHECK(record.reason() == "tenant_mismatch");
      CHECK((record.resolved_by() == "path_id" || record.resolved_by() == "header" || record.resolved_by() == "body"));
    } else if (record.outcome() == tenantry::v1::ACCESS_OUTCOME_PLATFORM_ACTING) {
      ++platform;
      CHECK(record.subject() == "ops-1");
      CHECK(record.principal_tenant_id().empty());
    }
  }
  CHECK(denied == 3);
  CHECK(platform >= 1);
}

TEST_CASE("slugs and custom domains are unique across the platform, also when requests race", "[gateway]") {
  const std::string engine = GENERATE(as<std::string>{}, "embedded", "kafka");
  INFO("engine " << engine);
  tenantry::testing::ServeFixture serve(engine, {"--jwt-hs256-secret", kSecret});
  Api api{serve.port()};
  const std::string admin = token("ops-1", "platform_admin");
  auto registration = [](const std::string& id, const std::string& slug) {
    return R"({"id":")" + id + R"(","slug":")" + slug +
           R"(","displayName":"D","plan":"pro","isolationTier":"shared","region":"eu-west-1","adminContact":{"name":"A","email":"a@example.com"}})";
  };

  // Eight requests for one slug at once, each for a tenant of its own.
  std::vector<int> statuses(8);
  std::vector<std::string> types(8);
  {
    std::vector<std::thread> racers;
    for (int i = 0; i < 8; ++i) {
      racers.emplace_back([&, i] {
        auto reply = api.call("POST", "/v1/tenants", admin, registration("t-race-" + std::to_string(i), "contested"));
        statuses[i] = reply.status;
        if (reply.status != 201) types[i] = error_type(reply) + " " + first_field(reply);
      });
    }
    for (auto& racer : racers) racer.join();
  }
  int winners = 0;
  for (int i = 0; i < 8; ++i) {
    INFO("racer " << i << ": " << statuses[i] << " " << types[i]);
    if (statuses[i] == 201) {
      ++winners;
    } else {
      CHECK(statuses[i] == 409);
      CHECK(types[i] == "already_exists slug");
    }
  }
  CHECK(winners == 1);
  // A refused registration gives nothing back wrongly: the slug stays the winner's,
  // and a free slug refused for another reason is free again.
  CHECK(api.call("POST", "/v1/tenants", admin, registration("t-late", "CONTESTED")).status >= 400);
  CHECK(api.call("POST", "/v1/tenants", admin, registration("t-race-0", "other-slug")).status ==
        (statuses[0] == 201 ? 409 : 201));

  // Domains: held by the first tenant that claims one, free again once it is removed.
  REQUIRE(api.call("POST", "/v1/tenants", admin, registration("t-one", "one-co")).status == 201);
  REQUIRE(api.call("POST", "/v1/tenants", admin, registration("t-two", "two-co")).status == 201);
  api.until("/v1/tenants/t-two", admin, [](const Reply& r) { return r.status == 200; });
  api.until("/v1/tenants/t-one", admin, [](const Reply& r) { return r.status == 200; });
  REQUIRE(api.call("POST", "/v1/tenants/t-one/domains", admin, R"({"domain":"shop.shared.test"})").status == 201);
  auto taken = api.call("POST", "/v1/tenants/t-two/domains", admin, R"({"domain":"shop.shared.test"})");
  CHECK(taken.status == 409);
  CHECK(first_field(taken) == "domain");
  REQUIRE(api.call("DELETE", "/v1/tenants/t-one/domains/shop.shared.test", admin).status == 200);
  CHECK(api.call("POST", "/v1/tenants/t-two/domains", admin, R"({"domain":"shop.shared.test"})").status == 201);
  CHECK(serve.stop() == 0);
}
