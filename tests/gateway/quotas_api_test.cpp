// Rate limits and quotas end to end: `tenantry serve`, real sockets, the tenant's
// quota.* settings set by the platform and applied at once; the issue's GCRA known
// answers over HTTP; refused requests consume nothing; the gateway meters itself.
#include <catch2/catch.hpp>

#include "gateway/api_client.h"
#include "gateway/serve_fixture.h"
#include "http/jwt_test_support.h"
#include "test_support.h"

using namespace std::chrono_literals;
using tenantry::testing::ApiClient;
using tenantry::testing::Reply;

namespace {

const std::string kSecret = "quotas-api-test-secret-of-at-least-32-bytes";

std::string token(const std::string& subject, const std::string& role, const std::string& tenant = {}) {
  return tenantry::testing::jwt::bearer_hs256(kSecret, subject, "[\"" + role + "\"]", tenant);
}

std::string registration(const std::string& id, const std::string& plan = "free") {
  return R"({"id":")" + id + R"(","slug":")" + id + R"(","displayName":")" + id + R"(","plan":")" + plan +
         R"(","isolationTier":"shared","region":"eu-west-1","adminContact":{"name":"A","email":"a@example.com"}})";
}

std::string header(const Reply& reply, const std::string& name) {
  for (const auto& [key, value] : reply.headers) {
    if (Poco::icompare(key, name) == 0) return value;
  }
  return "";
}

// Sets quota settings as the platform, and waits until the tenant's own reads carry them.
void set_quotas(ApiClient& api, const std::string& admin, const std::string& tenant, const std::string& settings_json,
                const std::string& marker_key, const std::string& marker_value) {
  auto configured = api.call("PATCH", "/v1/tenants/" + tenant, admin, R"({"settings":)" + settings_json + "}");
  INFO(configured.text);
  REQUIRE(configured.status == 200);
  api.until("/v1/tenants/" + tenant, admin, [&](const Reply& r) {
    return r.status == 200 &&
           tenantry::testing::data_of(r)->getObject("settings")->optValue<std::string>(marker_key, "") == marker_value;
  });
}

}  // namespace

TEST_CASE("quotas API: GCRA limits per tenant, the issue's known answers, raised at once", "[gateway][quotas][serve]") {
  tenantry::testing::ServeFixture serve("embedded", {"--jwt-hs256-secret", kSecret, "--meter-flush-ms", "100"});
  ApiClient api{serve.port()};
  const std::string admin = token("root", "platform_admin");
  for (const std::string id : {"acme", "globex", "umbrella"}) {
    REQUIRE(api.call("POST", "/v1/tenants", admin, registration(id)).status == 201);
  }
  const std::string acme = token("acme-user", "tenant_member", "acme");
  const std::string umbrella_admin = token("umbrella-admin", "tenant_admin", "umbrella");
  const std::string globex = token("globex-user", "tenant_member", "globex");
  api.until("/v1/tenants/umbrella", admin, [](const Reply& r) { return r.status == 200; });

  // A tenant's own admins cannot raise their own quotas.
  auto self_raise = api.call("PATCH", "/v1/tenant", umbrella_admin, R"({"settings":{"quota.requests_per_minute":"100000"}})");
  CHECK(self_raise.status == 400);
  CHECK(tenantry::testing::first_field(self_raise) == "settings.quota.requests_per_minute");

  // GCRA, burst 15 at 30 per 60 s: the first request on a fresh key (acme and globex
  // have made no request of their own yet).
  set_quotas(api, admin, "globex", R"({"quota.requests_per_minute":"30","quota.burst":"15"})", "quota.burst", "15");
  auto first = api.call("GET", "/v1/tenant", globex);
  REQUIRE(first.status == 200);
  CHECK(header(first, "RateLimit-Limit") == "16");
  CHECK(header(first, "RateLimit-Remaining") == "15");
  CHECK(header(first, "RateLimit-Reset") == "2");
  CHECK(header(first, "Retry-After").empty());

  // A limit of 10 per 60 s and a burst of 12 requests: 10 allowed, 2 answered 429.
  set_quotas(api, admin, "acme", R"({"quota.requests_per_minute":"10","quota.burst":"9"})", "quota.burst", "9");
  int allowed = 0, refused = 0;
  Reply last;
  for (int i = 0; i < 12; ++i) {
    last = api.call("GET", "/v1/tenant", acme);
    if (last.status == 200) ++allowed;
    if (last.status == 429) ++refused;
  }
  CHECK(allowed == 10);
  CHECK(refused == 2);
  REQUIRE(last.status == 429);
  CHECK(tenantry::testing::error_type(last) == "rate_limited");
  CHECK(tenantry::testing::first_field(last) == "requests_per_minute");
  CHECK(header(last, "RateLimit-Remaining") == "0");
  const int retry_after = std::stoi(header(last, "Retry-After"));
  CHECK(retry_after >= 1);
  CHECK(retry_after <= 6);
  // Another tenant is not slowed by acme's limit.
  CHECK(api.call("GET", "/v1/tenant", globex).status == 200);

  // Raised: at once, within the same window; what was used still counts.
  set_quotas(api, admin, "acme", R"({"quota.requests_per_minute":"20","quota.burst":"19"})", "quota.burst", "19");
  auto raised = api.call("GET", "/v1/tenant", acme);
  REQUIRE(raised.status == 200);
  CHECK(header(raised, "RateLimit-Limit") == "20");
  CHECK(std::stoi(header(raised, "RateLimit-Remaining")) <= 9);

  // The gateway metered acme's admitted calls, not the refused ones.
  auto metered = api.until("/v1/tenants/acme/usage?meter=api_calls", admin, [&](const Reply& r) {
    return r.status == 200 && tenantry::testing::data_of(r)->getValue<double>("total") >= allowed + 1;
  });
  CHECK(tenantry::testing::data_of(metered)->getValue<double>("total") < 12 + 1 + 2);
  auto bytes = api.call("GET", "/v1/tenants/acme/usage?meter=api_response_bytes", admin);
  CHECK(tenantry::testing::data_of(bytes)->getValue<double>("total") > 0);
}

TEST_CASE("quotas API: calls per day, refused calls consume nothing, soft limits let through",
          "[gateway][quotas][serve]") {
  tenantry::testing::ServeFixture serve("embedded", {"--jwt-hs256-secret", kSecret, "--meter-flush-ms", "100"});
  ApiClient api{serve.port()};
  const std::string admin = token("root", "platform_admin");
  REQUIRE(api.call("POST", "/v1/tenants", admin, registration("initech", "pro")).status == 201);
  api.until("/v1/tenants/initech", admin, [](const Reply& r) { return r.status == 200; });
  const std::string user = token("initech-user", "tenant_member", "initech");
  set_quotas(api, admin, "initech", R"({"quota.api_calls_per_day":"5"})", "quota.api_calls_per_day", "5");

  int allowed = 0;
  Reply refusal;
  for (int i = 0; i < 8; ++i) {
    auto reply = api.call("GET", "/v1/tenant", user);
    if (reply.status == 200) ++allowed;
    else refusal = reply;
  }
  CHECK(allowed == 5);
  REQUIRE(refusal.status == 429);
  CHECK(tenantry::testing::error_type(refusal) == "quota_exceeded");
  CHECK(tenantry::testing::first_field(refusal) == "api_calls_per_day");
  // The three refusals used nothing: raised to 7, exactly two more pass.
  set_quotas(api, admin, "initech", R"({"quota.api_calls_per_day":"7"})", "quota.api_calls_per_day", "7");
  int more = 0;
  for (int i = 0; i < 4; ++i) more += api.call("GET", "/v1/tenant", user).status == 200 ? 1 : 0;
  CHECK(more == 2);

  // A soft rate limit: over the rate, still answered.
  set_quotas(api, admin, "initech",
             R"({"quota.api_calls_per_day":"unlimited","quota.requests_per_minute":"2","quota.burst":"0","quota.rate_limit_mode":"soft"})",
             "quota.rate_limit_mode", "soft");
  for (int i = 0; i < 5; ++i) CHECK(api.call("GET", "/v1/tenant", user).status == 200);
  // Platform staff are not the tenant's usage and are never limited by it.
  for (int i = 0; i < 5; ++i) CHECK(api.call("GET", "/v1/tenants/initech", admin).status == 200);
}

TEST_CASE("quotas API: each tenant's stored bytes reach the storage_bytes meter", "[gateway][quotas][serve]") {
  tenantry::testing::ServeFixture serve("embedded", {"--jwt-hs256-secret", kSecret, "--storage-meter-interval-s", "1"});
  ApiClient api{serve.port()};
  const std::string admin = token("root", "platform_admin");
  REQUIRE(api.call("POST", "/v1/tenants", admin, registration("stark", "pro")).status == 201);
  REQUIRE(api.call("POST", "/v1/tenants", admin, registration("wayne", "pro")).status == 201);
  auto first = api.until("/v1/tenants/stark/usage?meter=storage_bytes&window=month", admin, [](const Reply& r) {
    return r.status == 200 && tenantry::testing::data_of(r)->getValue<double>("total") > 0;
  });
  const double registered = tenantry::testing::data_of(first)->getValue<double>("total");
  // More events, more bytes; the other tenant's are its own.
  REQUIRE(api.call("POST", "/v1/tenants/stark/suspend", admin, R"({"reason":"storage test"})").status == 200);
  api.until("/v1/tenants/stark/usage?meter=storage_bytes&window=month", admin, [&](const Reply& r) {
    return r.status == 200 && tenantry::testing::data_of(r)->getValue<double>("total") > registered;
  });
  auto other = api.until("/v1/tenants/wayne/usage?meter=storage_bytes&window=month", admin, [](const Reply& r) {
    return r.status == 200 && tenantry::testing::data_of(r)->getValue<double>("total") > 0;
  });
  CHECK(tenantry::testing::data_of(other)->getValue<double>("total") < registered * 1.5);

  // At its storage quota a tenant still reads, and its writes are refused.
  set_quotas(api, admin, "wayne", R"({"quota.storage_bytes":"100"})", "quota.storage_bytes", "100");
  const std::string wayne_admin = token("wayne-admin", "tenant_admin", "wayne");
  CHECK(api.call("GET", "/v1/tenant", wayne_admin).status == 200);
  auto write = api.call("PATCH", "/v1/tenant", wayne_admin, R"({"displayName":"Wayne Enterprises"})");
  CHECK(write.status == 507);
  CHECK(tenantry::testing::error_type(write) == "storage_quota_exceeded");
  CHECK(tenantry::testing::first_field(write) == "storage_bytes");
  // Raised, the write goes through.
  set_quotas(api, admin, "wayne", R"({"quota.storage_bytes":"unlimited"})", "quota.storage_bytes", "unlimited");
  CHECK(api.call("PATCH", "/v1/tenant", wayne_admin, R"({"displayName":"Wayne Enterprises"})").status == 200);
}
