// /v1/tenants end to end: `tenantry serve` on the embedded log, real sockets, HS256
// Bearer tokens; what each role may do, and what bad input meets.
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <regex>

#include "child_process.h"
#include "gateway/api_client.h"
#include "gateway/serve_fixture.h"
#include "http/jwt_test_support.h"
#include "test_support.h"

using tenantry::testing::ChildProcess;
using namespace std::chrono_literals;

namespace {

const std::string kSecret = "a-test-secret-that-is-at-least-32-bytes-long";

std::string token(const std::string& subject, const std::string& roles_json, const std::string& tenant = {},
                  int64_t expires_in_s = 3600, const std::string& secret = kSecret) {
  return tenantry::testing::jwt::bearer_hs256(secret, subject, roles_json, tenant, expires_in_s);
}

using tenantry::testing::error_type;
using tenantry::testing::first_field;
using tenantry::testing::Reply;

using Api = tenantry::testing::ApiClient;

const std::string kAcme = R"({"id":"t-acme","slug":"acme","displayName":"Acme","plan":"pro","isolationTier":"shared",
  "region":"eu-west-1","adminContact":{"name":"Ada","email":"ada@acme.example"},"settings":{"general.timezone":"Europe/Paris"}})";

}  // namespace

TEST_CASE("tenants API: register, read, suspend and reactivate, each role as it may", "[gateway]") {
  const std::string engine = GENERATE(as<std::string>{}, "embedded", "kafka");
  INFO("engine " << engine);
  tenantry::testing::ServeFixture serve(engine, {"--jwt-hs256-secret", kSecret});
  Api api{serve.port()};

  const std::string admin = token("ops-1", R"(["platform_admin"])");
  const std::string acme_member = token("ann", R"(["tenant_member"])", "t-acme");
  const std::string globex_admin = token("gus", R"(["tenant_admin"])", "t-globex");
  const std::string analyst = token("al", R"(["analyst"])");

  auto registered = api.call("POST", "/v1/tenants", admin, kAcme, {{"Idempotency-Key", "reg-acme"}});
  INFO(registered.body->getValue<std::string>("message"));
  REQUIRE(registered.status == 201);
  CHECK(registered.body->getValue<bool>("success"));
  CHECK(registered.body->getObject("data")->getValue<std::string>("tenantId") == "t-acme");
  CHECK(registered.body->getObject("data")->getValue<int>("version") == 1);
  CHECK(registered.body->getObject("meta")->has("requestId"));

  SECTION("the same Idempotency-Key gives the original answer; with another body it is a conflict") {
    auto again = api.call("POST", "/v1/tenants", admin, kAcme, {{"Idempotency-Key", "reg-acme"}});
    CHECK(again.status == 201);
    CHECK(again.body->getObject("data")->getValue<int>("version") == 1);
    std::string other = kAcme;
    other.replace(other.find("\"Acme\""), 6, "\"Acme2\"");
    auto conflict = api.call("POST", "/v1/tenants", admin, other, {{"Idempotency-Key", "reg-acme"}});
    CHECK(conflict.status == 409);
    CHECK(error_type(conflict) == "idempotency_conflict");
    auto duplicate = api.call("POST", "/v1/tenants", admin, kAcme);
    CHECK(duplicate.status == 409);
    CHECK(error_type(duplicate) == "already_exists");
  }

  SECTION("reads follow the roles and the tenant binding") {
    Reply got{0, nullptr};
    REQUIRE(tenantry::testing::eventually(20s, [&] {
      got = api.call("GET", "/v1/tenants/t-acme", admin);
      return got.status == 200;
    }));
    CHECK(got.body->getObject("data")->getValue<std::string>("slug") == "acme");
    CHECK(got.body->getObject("data")->getValue<std::string>("status") == "active");
    CHECK(api.call("GET", "/v1/tenants/t-acme", acme_member).status == 200);
    CHECK(api.call("GET", "/v1/tenants/t-acme", analyst).status == 200);
    auto foreign = api.call("GET", "/v1/tenants/t-acme", globex_admin);
    CHECK(foreign.status == 403);
    CHECK(error_type(foreign) == "tenant_mismatch");
    CHECK(api.call("GET", "/v1/tenants/t-none", admin).status == 404);
    CHECK(api.call("GET", "/v1/tenants", acme_member).status == 403);
    auto listed = api.call("GET", "/v1/tenants?status=active&limit=10", analyst);
    CHECK(listed.status == 200);
    CHECK(listed.body->getObject("data")->getArray("tenants")->size() == 1);
  }

  SECTION("suspend and reactivate, with expected versions") {
    auto member_try = api.call("POST", "/v1/tenants/t-acme/suspend", acme_member, R"({"reason":"x"})");
    CHECK(member_try.status == 403);
    CHECK(error_type(member_try) == "forbidden");
    auto stale = api.call("POST", "/v1/tenants/t-acme/suspend", admin, R"({"reason":"unpaid"})", {{"If-Match", "\"7\""}});
    CHECK(stale.status == 409);
    CHECK(error_type(stale) == "version_conflict");
    auto suspended = api.call("POST", "/v1/tenants/t-acme/suspend", admin, R"({"reason":"unpaid"})", {{"If-Match", "\"1\""}});
    CHECK(suspended.status == 200);
    CHECK(suspended.body->getObject("data")->getValue<int>("version") == 2);
    auto twice = api.call("POST", "/v1/tenants/t-acme/suspend", admin, R"({"reason":"unpaid"})");
    CHECK(twice.status == 409);
    CHECK(error_type(twice) == "invalid_transition");
    CHECK(api.call("POST", "/v1/tenants/t-acme/reactivate", admin).status == 200);
    REQUIRE(tenantry::testing::eventually(20s, [&] {
      auto got = api.call("GET", "/v1/tenants/t-acme", admin);
      return got.status == 200 && got.body->getObject("data")->getValue<int>("version") == 3;
    }));
  }

  SECTION("the OpenAPI document lists exactly the endpoints the server answers") {
    auto doc = api.call("GET", "/v1/openapi.json", "");
    REQUIRE(doc.status == 200);
    CHECK(doc.body->getValue<std::string>("openapi").starts_with("3."));
    auto paths = doc.body->getObject("paths");
    std::vector<std::pair<std::string, std::string>> expected = {
        {"/v1/tenants", "post"}, {"/v1/tenants", "get"}, {"/v1/templates/{name}/tenants", "post"},
        {"/v1/tenants/{id}/clones", "post"}, {"/v1/tenants/{id}/suspend", "post"},
        {"/v1/tenants/{id}/reactivate", "post"}, {"/v1/tenants/{id}/domains/{domain}/verify", "post"},
        {"/v1/api-keys", "post"}, {"/v1/api-keys", "get"}, {"/v1/api-keys/{id}", "delete"}};
    for (const std::string prefix : {"/v1/tenants/{id}", "/v1/tenant", "/t/{slug}/v1/tenant"}) {
      for (const auto& [suffix, method] : std::vector<std::pair<std::string, std::string>>{
               {"", "get"}, {"", "patch"}, {"/operations", "get"}, {"/domains", "post"},
               {"/domains/{domain}", "delete"}, {"/deletion", "post"}, {"/deletion", "delete"}}) {
        expected.emplace_back(prefix + suffix, method);
      }
    }
    for (const auto& [path, method] : expected) {
      INFO(method << " " << path);
      REQUIRE(paths->has(path));
      REQUIRE(paths->getObject(path)->has(method));
    }
    // Every operation the document lists, the server routes, and asks for credentials
    // (an unrouted one would be 404, a wrong method 405).
    size_t operations = 0;
    for (const auto& path : paths->getNames()) {
      for (const auto& method : paths->getObject(path)->getNames()) {
        INFO(method << " " << path);
        ++operations;
        CHECK(paths->getObject(path)->getObject(method)->has("x-roles"));
        std::string upper = method;
        for (auto& c : upper) c = static_cast<char>(std::toupper(c));
        CHECK(api.call(upper, std::regex_replace(path, std::regex("\\{[a-zA-Z]+\\}"), "acme"), "").status == 401);
      }
    }
    CHECK(operations >= expected.size());
  }

  SECTION("bad input gets a clear 4xx with the field at fault, and changes nothing") {
    CHECK(api.call("POST", "/v1/tenants", "", kAcme).status == 401);
    auto forged = api.call("POST", "/v1/tenants", token("ops-1", R"(["platform_admin"])", "", 3600, std::string(40, 'z')), kAcme);
    CHECK(forged.status == 401);
    auto expired = api.call("POST", "/v1/tenants", token("ops-1", R"(["platform_admin"])", "", -3600), kAcme);
    CHECK(expired.status == 401);
    CHECK(error_type(expired) == "expired_token");
    auto none = api.call("POST", "/v1/tenants",
                         tenantry::testing::jwt::base64url(R"({"alg":"none"})") + "." + tenantry::testing::jwt::base64url(R"({"sub":"x","exp":9999999999,"roles":["platform_admin"]})") + ".",
                         kAcme);
    CHECK(none.status == 401);
    auto malformed = api.call("POST", "/v1/tenants", admin, "{\"slug\": ");
    CHECK(malformed.status == 400);
    CHECK(error_type(malformed) == "invalid_json");
    auto unknown = api.call("POST", "/v1/tenants", admin, R"({"id":"t-x","slug":"xx-x","colour":"red"})");
    CHECK(unknown.status == 400);
    CHECK(error_type(unknown) == "unknown_field");
    CHECK(first_field(unknown) == "colour");
    auto wrong_type = api.call("POST", "/v1/tenants", admin, R"({"id":"t-x","slug":42})");
    CHECK(wrong_type.status == 400);
    CHECK(first_field(wrong_type) == "slug");
    std::string bad_slug = kAcme;
    bad_slug.replace(bad_slug.find("\"acme\""), 6, "\"Not A Slug\"");
    bad_slug.replace(bad_slug.find("t-acme"), 6, "t-bad1");
    auto invalid = api.call("POST", "/v1/tenants", admin, bad_slug);
    CHECK(invalid.status == 422);
    CHECK(first_field(invalid) == "slug");
    auto bad_key = api.call("POST", "/v1/tenants", admin, kAcme, {{"Idempotency-Key", "has space"}});
    CHECK(bad_key.status == 400);
    CHECK(api.call("GET", "/v1/tenants?status=bogus", admin).status == 400);
    CHECK(api.call("GET", "/v1/tenants?cursor=zz", admin).status == 400);
    CHECK(api.call("GET", "/v1/tenants/..%2f..%2fetc", admin).status == 400);
    REQUIRE(tenantry::testing::eventually(20s, [&] {
      auto got = api.call("GET", "/v1/tenants/t-acme", admin);
      return got.status == 200 && got.body->getObject("data")->getValue<int>("version") == 1;
    }));
    CHECK(api.call("GET", "/v1/tenants/t-bad1", admin).status == 404);
  }

  CHECK(serve.stop() == 0);
}
