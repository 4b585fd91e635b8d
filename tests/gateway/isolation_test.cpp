// Isolation, as the issue states it: every tenant-scoped endpoint x every way a
// request can name a tenant x a principal of another tenant: all denied, and
// nothing about the other tenant changes or leaks.
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

const std::string kSecret = "isolation-test-secret-of-at-least-32-bytes";

std::string token(const std::string& subject, const std::string& role, const std::string& tenant = {}) {
  return tenantry::testing::jwt::bearer_hs256(kSecret, subject, "[\"" + role + "\"]", tenant);
}

struct Call {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;
  std::string body;
  std::string label;
};

std::pair<int, Poco::JSON::Object::Ptr> send(uint16_t port, const Call& call, const std::string& bearer) {
  auto reply = tenantry::testing::http_call(port, call.method, call.path, bearer, call.body, call.headers);
  return {reply.status, reply.body};
}

std::string registration(const std::string& id, const std::string& slug) {
  return R"({"id":")" + id + R"(","slug":")" + slug + R"(","displayName":")" + slug +
         R"(","plan":"pro","isolationTier":"shared","region":"eu-west-1","adminContact":{"name":"A","email":"a@example.com"}})";
}

// Every tenant-scoped endpoint, in every form a request can name tenant `id` (slug
// `slug`, verified custom domain `domain`): by id in the path, X-Tenant-ID, subdomain of
// the base domain, custom domain, and the /t/{slug} path prefix.
std::vector<Call> calls_targeting(const std::string& id, const std::string& slug, const std::string& domain) {
  struct Form {
    std::string prefix;
    std::map<std::string, std::string> headers;
    std::string label;
  };
  const std::vector<Form> forms = {
      {"/v1/tenants/" + id, {}, "by id"},
      {"/v1/tenant", {{"X-Tenant-ID", id}}, "by X-Tenant-ID"},
      {"/v1/tenant", {{"Host", slug + ".tenants.test"}}, "by subdomain"},
      {"/v1/tenant", {{"Host", domain}}, "by custom domain"},
      {"/t/" + slug + "/v1/tenant", {}, "by path prefix"},
  };
  struct Endpoint {
    std::string method;
    std::string suffix;
    std::string body;
  };
  const std::vector<Endpoint> endpoints = {
      {"GET", "", ""},
      {"PATCH", "", R"({"displayName":"pwned"})"},
      {"GET", "/operations", ""},
      {"POST", "/domains", R"({"domain":"evil.example.com"})"},
      {"DELETE", "/domains/" + domain, ""},
      {"POST", "/deletion", R"({"gracePeriodDays":0})"},
      {"DELETE", "/deletion", ""},
  };
  std::vector<Call> calls;
  for (const auto& form : forms) {
    for (const auto& endpoint : endpoints) {
      calls.push_back({endpoint.method, form.prefix + endpoint.suffix, form.headers, endpoint.body,
                       endpoint.method + " " + endpoint.suffix + " " + form.label});
    }
  }
  // Endpoints that exist only by id.
  calls.push_back({"POST", "/v1/tenants/" + id + "/suspend", {}, R"({"reason":"x"})", "POST suspend"});
  calls.push_back({"POST", "/v1/tenants/" + id + "/reactivate", {}, "", "POST reactivate"});
  calls.push_back({"POST", "/v1/tenants/" + id + "/domains/" + domain + "/verify", {}, R"({"token":"x"})", "POST verify"});
  calls.push_back({"POST", "/v1/tenants/" + id + "/clones", {},
                   R"({"slug":"stolen-copy","displayName":"S","adminContact":{"name":"E","email":"e@x.example"}})",
                   "POST clones"});
  return calls;
}

}  // namespace

TEST_CASE("isolation: a principal of one tenant reaches no other tenant by any route", "[gateway][isolation]") {
  const std::string engine = GENERATE(as<std::string>{}, "embedded", "kafka");
  INFO("engine " << engine);
  tenantry::testing::ServeFixture serve(engine, {"--jwt-hs256-secret", kSecret, "--base-domain", "tenants.test"});
  const uint16_t port = serve.port();

  const std::string admin = token("ops", "platform_admin");
  REQUIRE(send(port, {"POST", "/v1/tenants", {}, registration("t-acme", "acme"), ""}, admin).first == 201);
  REQUIRE(send(port, {"POST", "/v1/tenants", {}, registration("t-globex", "globex"), ""}, admin).first == 201);
  REQUIRE(tenantry::testing::eventually(20s, [&] {
    return send(port, {"GET", "/v1/tenants/t-acme", {}, "", ""}, admin).first == 200 &&
           send(port, {"GET", "/v1/tenants/t-globex", {}, "", ""}, admin).first == 200;
  }));
  // acme's verified custom domain, so the domain method is in the matrix too.
  const std::string domain = "portal.acme-corp.test";
  REQUIRE(send(port, {"POST", "/v1/tenants/t-acme/domains", {}, R"({"domain":")" + domain + "\"}", ""}, admin).first == 201);
  std::string published;
  REQUIRE(tenantry::testing::eventually(20s, [&] {
    auto [status, body] = send(port, {"GET", "/v1/tenants/t-acme", {}, "", ""}, admin);
    auto domains = body->getObject("data")->getArray("customDomains");
    if (status != 200 || domains->size() != 1) return false;
    published = domains->getObject(0)->getValue<std::string>("verificationToken");
    return true;
  }));
  REQUIRE(send(port, {"POST", "/v1/tenants/t-acme/domains/" + domain + "/verify", {}, R"({"token":")" + published + "\"}", ""},
               admin).first == 200);
  int acme_version = 0;
  REQUIRE(tenantry::testing::eventually(20s, [&] {
    auto [status, body] = send(port, {"GET", "/v1/tenant", {{"Host", domain}}, "", ""}, admin);
    if (status != 200) return false;
    acme_version = body->getObject("data")->getValue<int>("version");
    return true;
  }));

  const std::vector<std::pair<std::string, std::string>> outsiders = {
      {"globex tenant_admin", token("gus", "tenant_admin", "t-globex")},
      {"globex tenant_member", token("gina", "tenant_member", "t-globex")},
  };
  const auto matrix = calls_targeting("t-acme", "acme", domain);
  int denied = 0;
  for (const auto& [who, bearer] : outsiders) {
    for (const auto& call : matrix) {
      INFO(who << " -> " << call.label);
      auto [status, body] = send(port, call, bearer);
      CHECK(status == 403);
      CHECK(body->getObject("error")->getValue<std::string>("type") == "tenant_mismatch");
      CHECK((!body->has("data") || body->isNull("data")));
      denied += status == 403;
    }
    // A slug that does not exist is refused the same way: no oracle for names.
    auto [status, body] = send(port, {"GET", "/t/no-such-slug/v1/tenant", {}, "", ""}, bearer);
    CHECK(status == 403);
  }
  CHECK(denied == static_cast<int>(2 * matrix.size()));

  // API keys of acme: issued, listed or revoked by another tenant's principal, refused.
  auto issued = send(port, {"POST", "/v1/api-keys", {}, R"({"subject":"ci","tenantId":"t-acme","roles":["tenant_member"]})", ""},
                     admin);
  REQUIRE(issued.first == 201);
  const std::string acme_key = issued.second->getObject("data")->getValue<std::string>("keyId");
  const std::vector<Call> key_calls = {
      {"POST", "/v1/api-keys", {}, R"({"subject":"x","tenantId":"t-acme","roles":["tenant_admin"]})", "POST api-keys"},
      {"GET", "/v1/api-keys?tenantId=t-acme", {}, "", "GET api-keys"},
      {"DELETE", "/v1/api-keys/" + acme_key, {}, "", "DELETE api-keys/{id}"},
  };
  for (const auto& [who, bearer] : outsiders) {
    for (const auto& call : key_calls) {
      INFO(who << " -> " << call.label);
      auto [status, body] = send(port, call, bearer);
      CHECK(status == 403);
      CHECK((!body->has("data") || body->isNull("data")));
    }
  }
  auto listed = send(port, {"GET", "/v1/api-keys?tenantId=t-acme", {}, "", ""}, admin);
  REQUIRE(listed.first == 200);
  CHECK(listed.second->getObject("data")->getArray("keys")->size() == 1);
  CHECK(listed.second->getObject("data")->getArray("keys")->getObject(0)->getValue<std::string>("status") == "active");

  // The same routes work for the tenant's own principal, so the denials above are
  // the isolation rule and not broken routes.
  const std::string acme_member = token("ann", "tenant_member", "t-acme");
  int reads = 0;
  for (const auto& call : matrix) {
    if (call.method != "GET" || call.path.ends_with("/operations")) continue;
    INFO("own -> " << call.label);
    auto [status, body] = send(port, call, acme_member);
    CHECK(status == 200);
    CHECK(body->getObject("data")->getValue<std::string>("id") == "t-acme");
    ++reads;
  }
  CHECK(reads == 5);
  // Platform principals: an unknown name is a 404, two names that disagree a 400.
  CHECK(send(port, {"GET", "/t/no-such-slug/v1/tenant", {}, "", ""}, admin).first == 404);
  auto ambiguous = send(port, {"GET", "/t/globex/v1/tenant", {{"X-Tenant-ID", "t-acme"}}, "", ""}, admin);
  CHECK(ambiguous.first == 400);
  CHECK(ambiguous.second->getObject("error")->getValue<std::string>("type") == "ambiguous_tenant");

  // Nothing the outsiders tried changed the tenant.
  auto [status, acme] = send(port, {"GET", "/v1/tenants/t-acme", {}, "", ""}, admin);
  REQUIRE(status == 200);
  CHECK(acme->getObject("data")->getValue<std::string>("status") == "active");
  CHECK(acme->getObject("data")->getValue<int>("version") == acme_version);
  CHECK(acme->getObject("data")->getValue<std::string>("displayName") == "acme");
  CHECK(acme->getObject("data")->getArray("customDomains")->size() == 1);

  CHECK(serve.stop() == 0);
}
