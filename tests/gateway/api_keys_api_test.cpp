// /v1/api-keys end to end: `tenantry serve` on the embedded log, real sockets. Keys are
// issued with tokens (HS256, or RS256 from a JWKS URL) or with other keys, used,
// listed without secrets and revoked; tenant admins stay inside their tenant.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <map>

#include "gateway/api_client.h"
#include "gateway/serve_fixture.h"
#include "http/jwks_test_server.h"
#include "http/jwt_test_support.h"
#include "test_support.h"

using namespace std::chrono_literals;

namespace {

const std::string kSecret = "api-keys-test-secret-of-at-least-32-bytes";

std::string token(const std::string& subject, const std::string& role, const std::string& tenant = {}) {
  return tenantry::testing::jwt::bearer_hs256(kSecret, subject, "[\"" + role + "\"]", tenant);
}

// A credential: a Bearer token, or an API key presented in either accepted form.
struct Credential {
  std::string bearer;
  std::string api_key;
  bool key_in_authorization = true;  // "Authorization: ApiKey <key>", else "X-API-Key: <key>"
};
Credential bearer(const std::string& token) { return {token, "", true}; }
Credential api_key(const std::string& key, bool in_authorization = true) { return {"", key, in_authorization}; }

struct Reply : tenantry::testing::Reply {
  Poco::JSON::Object::Ptr data() const { return body->getObject("data"); }
  std::string error_type() const { return tenantry::testing::error_type(*this); }
  std::string first_field() const { return tenantry::testing::first_field(*this); }
};

struct Api {
  uint16_t port;
  Reply call(const std::string& method, const std::string& path, const Credential& who, const std::string& body = {}) {
    std::map<std::string, std::string> headers;
    if (!who.api_key.empty()) {
      if (who.key_in_authorization) headers["Authorization"] = "ApiKey " + who.api_key;
      else headers["X-API-Key"] = who.api_key;
    }
    return {tenantry::testing::http_call(port, method, path, who.bearer, body, headers)};
  }
};

std::string registration(const std::string& id, const std::string& slug) {
  return R"({"id":")" + id + R"(","slug":")" + slug + R"(","displayName":")" + slug +
         R"(","plan":"pro","isolationTier":"shared","region":"eu-west-1","adminContact":{"name":"A","email":"a@example.com"}})";
}

void register_tenants(Api& api, const Credential& admin, const std::vector<std::pair<std::string, std::string>>& tenants) {
  for (const auto& [id, slug] : tenants) {
    auto registered = api.call("POST", "/v1/tenants", admin, registration(id, slug));
    INFO(registered.text);
    REQUIRE(registered.status == 201);
  }
  // Keys for a tenant need the directory to know it.
  REQUIRE(tenantry::testing::eventually(20s, [&] {
    for (const auto& [id, slug] : tenants) {
      if (api.call("GET", "/v1/tenants/" + id, admin).status != 200) return false;
    }
    return true;
  }));
}

std::string key_request(const std::string& subject, const std::string& tenant, const std::string& roles_json) {
  return R"({"subject":")" + subject + "\"" + (tenant.empty() ? "" : R"(,"tenantId":")" + tenant + "\"") +
         R"(,"roles":)" + roles_json + "}";
}

}  // namespace

TEST_CASE("API keys: issue with a token, use, list without secrets, revoke", "[gateway][api_keys]") {
  tenantry::testing::ServeFixture serve("embedded", {"--jwt-hs256-secret", kSecret});
  Api api{serve.port()};
  const Credential admin = bearer(token("ops", "platform_admin"));
  register_tenants(api, admin, {{"t-acme", "acme"}, {"t-globex", "globex"}});

  auto issued = api.call("POST", "/v1/api-keys", admin, key_request("ci-bot", "t-acme", R"(["tenant_member"])"));
  INFO(issued.text);
  REQUIRE(issued.status == 201);
  CHECK(issued.headers["Cache-Control"] == "no-store");
  const std::string key = issued.data()->getValue<std::string>("key");
  const std::string key_id = issued.data()->getValue<std::string>("keyId");
  CHECK(key.starts_with("tnt_" + key_id + "_"));
  CHECK(issued.data()->getValue<std::string>("tenantId") == "t-acme");
  CHECK(issued.data()->getValue<std::string>("status") == "active");
  const std::string secret = key.substr(key.rfind('_') + 1);

  // The key works in both header forms, inside its tenant only.
  CHECK(api.call("GET", "/v1/tenants/t-acme", api_key(key)).status == 200);
  CHECK(api.call("GET", "/v1/tenants/t-acme", api_key(key, false)).status == 200);
  auto foreign = api.call("GET", "/v1/tenants/t-globex", api_key(key));
  CHECK(foreign.status == 403);
  CHECK(foreign.error_type() == "tenant_mismatch");
  CHECK(api.call("GET", "/v1/tenants", api_key(key)).status == 403);
  CHECK(api.call("POST", "/v1/api-keys", api_key(key), key_request("x", "t-acme", R"(["tenant_member"])")).status == 403);

  // Listed, never with the key, its salt or hash.
  auto listed = api.call("GET", "/v1/api-keys?tenantId=t-acme", admin);
  REQUIRE(listed.status == 200);
  auto keys = listed.data()->getArray("keys");
  REQUIRE(keys->size() == 1);
  auto entry = keys->getObject(0);
  CHECK(entry->getValue<std::string>("keyId") == key_id);
  CHECK(entry->getValue<std::string>("subject") == "ci-bot");
  CHECK(entry->getArray("roles")->getElement<std::string>(0) == "tenant_member");
  for (const char* hidden : {"key", "salt", "secretHash", "hash"}) CHECK(!entry->has(hidden));
  CHECK(listed.text.find(secret) == std::string::npos);
  CHECK(api.call("GET", "/v1/api-keys?tenantId=t-globex", admin).data()->getArray("keys")->size() == 0);
  CHECK(api.call("GET", "/v1/api-keys", bearer(token("aud", "auditor"))).status == 200);
  CHECK(api.call("GET", "/v1/api-keys?tenantId=t-acme", bearer(token("op", "operator"))).status == 200);
  CHECK(api.call("GET", "/v1/api-keys?tenantId=t-acme", bearer(token("an", "analyst"))).status == 403);

  // Revoked: idempotently, and the next request with the key is refused.
  auto revoked = api.call("DELETE", "/v1/api-keys/" + key_id, admin);
  REQUIRE(revoked.status == 200);
  CHECK(revoked.data()->getValue<std::string>("status") == "revoked");
  const int64_t revoked_at_us = revoked.data()->getValue<int64_t>("revokedAtUs");
  CHECK(revoked_at_us > 0);
  CHECK(revoked.text.find(secret) == std::string::npos);
  auto again = api.call("DELETE", "/v1/api-keys/" + key_id, admin);
  CHECK(again.status == 200);
  CHECK(again.data()->getValue<int64_t>("revokedAtUs") == revoked_at_us);
  auto refused = api.call("GET", "/v1/tenants/t-acme", api_key(key));
  CHECK(refused.status == 401);
  CHECK(refused.error_type() == "revoked_api_key");
  CHECK(api.call("GET", "/v1/api-keys?tenantId=t-acme", admin).data()->getArray("keys")->getObject(0)->getValue<std::string>(
            "status") == "revoked");

  CHECK(api.call("DELETE", "/v1/api-keys/0123456789abcdef01234567", admin).status == 404);
  auto malformed = api.call("DELETE", "/v1/api-keys/NOT-A-KEY", admin);
  CHECK(malformed.status == 400);
  CHECK(malformed.first_field() == "keyId");
  auto wrong = api.call("GET", "/v1/tenants/t-acme", api_key("tnt_" + key_id + "_" + std::string(64, '0')));
  CHECK(wrong.status == 401);
  CHECK(wrong.error_type() == "invalid_api_key");

  // A platform key issued by a platform key: keys can run the platform without tokens.
  auto platform = api.call("POST", "/v1/api-keys", admin, key_request("robot", "", R"(["platform_admin"])"));
  REQUIRE(platform.status == 201);
  const Credential robot = api_key(platform.data()->getValue<std::string>("key"));
  CHECK(api.call("POST", "/v1/api-keys", robot, key_request("robot-2", "", R"(["operator"])")).status == 201);
  CHECK(api.call("GET", "/v1/api-keys", robot).data()->getArray("keys")->size() == 2);

  CHECK(serve.stop() == 0);
}

TEST_CASE("API keys: a tenant_admin issues, lists and revokes inside its own tenant only", "[gateway][api_keys]") {
  tenantry::testing::ServeFixture serve("embedded", {"--jwt-hs256-secret", kSecret});
  Api api{serve.port()};
  const Credential admin = bearer(token("ops", "platform_admin"));
  register_tenants(api, admin, {{"t-acme", "acme"}, {"t-globex", "globex"}});
  const Credential acme_admin = bearer(token("ada", "tenant_admin", "t-acme"));
  const Credential acme_member = bearer(token("ann", "tenant_member", "t-acme"));

  auto platform_key = api.call("POST", "/v1/api-keys", acme_admin, key_request("x", "", R"(["auditor"])"));
  CHECK(platform_key.status == 403);
  CHECK(platform_key.first_field() == "tenantId");
  auto other_tenant = api.call("POST", "/v1/api-keys", acme_admin, key_request("x", "t-globex", R"(["tenant_member"])"));
  CHECK(other_tenant.status == 403);
  CHECK(other_tenant.error_type() == "tenant_mismatch");
  auto platform_role = api.call("POST", "/v1/api-keys", acme_admin, key_request("x", "t-acme", R"(["operator"])"));
  CHECK(platform_role.status == 400);
  CHECK(platform_role.first_field() == "roles");
  CHECK(api.call("POST", "/v1/api-keys", acme_member, key_request("x", "t-acme", R"(["tenant_member"])")).status == 403);
  CHECK(api.call("POST", "/v1/api-keys", bearer(token("op", "operator")), key_request("x", "t-acme", R"(["analyst"])"))
            .status == 403);

  auto own = api.call("POST", "/v1/api-keys", acme_admin, key_request("ci", "t-acme", R"(["tenant_admin","analyst"])"));
  INFO(own.text);
  REQUIRE(own.status == 201);
  const std::string own_id = own.data()->getValue<std::string>("keyId");
  // A tenant_admin key acts as its holder: issues within the tenant, and no further.
  const Credential acme_key = api_key(own.data()->getValue<std::string>("key"));
  auto by_key = api.call("POST", "/v1/api-keys", acme_key, key_request("ci-2", "t-acme", R"(["tenant_member"])"));
  REQUIRE(by_key.status == 201);
  CHECK(api.call("POST", "/v1/api-keys", acme_key, key_request("x", "t-globex", R"(["tenant_member"])")).status == 403);

  auto globex = api.call("POST", "/v1/api-keys", admin, key_request("g", "t-globex", R"(["tenant_member"])"));
  REQUIRE(globex.status == 201);
  const std::string globex_id = globex.data()->getValue<std::string>("keyId");
  const std::string globex_key = globex.data()->getValue<std::string>("key");

  auto listed = api.call("GET", "/v1/api-keys?tenantId=t-acme", acme_admin);
  REQUIRE(listed.status == 200);
  CHECK(listed.data()->getArray("keys")->size() == 2);
  auto foreign_list = api.call("GET", "/v1/api-keys?tenantId=t-globex", acme_admin);
  CHECK(foreign_list.status == 403);
  CHECK(foreign_list.error_type() == "tenant_mismatch");
  CHECK(api.call("GET", "/v1/api-keys", acme_admin).status == 403);
  CHECK(api.call("GET", "/v1/api-keys?tenantId=t-acme", acme_member).status == 403);

  auto foreign_revoke = api.call("DELETE", "/v1/api-keys/" + globex_id, acme_admin);
  CHECK(foreign_revoke.status == 403);
  CHECK(foreign_revoke.error_type() == "tenant_mismatch");
  CHECK(api.call("GET", "/v1/tenants/t-globex", api_key(globex_key)).status == 200);
  CHECK(api.call("DELETE", "/v1/api-keys/" + own_id, acme_member).status == 403);
  CHECK(api.call("DELETE", "/v1/api-keys/" + by_key.data()->getValue<std::string>("keyId"), acme_admin).status == 200);
  // Revoking its own key ends the key's access at once.
  CHECK(api.call("DELETE", "/v1/api-keys/" + own_id, acme_key).status == 200);
  CHECK(api.call("GET", "/v1/tenants/t-acme", acme_key).error_type() == "revoked_api_key");

  CHECK(serve.stop() == 0);
}

TEST_CASE("API keys: bad input gets a clear 4xx naming the field", "[gateway][api_keys]") {
  tenantry::testing::ServeFixture serve("embedded", {"--jwt-hs256-secret", kSecret});
  Api api{serve.port()};
  const Credential admin = bearer(token("ops", "platform_admin"));
  register_tenants(api, admin, {{"t-acme", "acme"}});

  const std::vector<std::tuple<std::string, int, std::string>> cases = {
      {R"({"subject":"x","roles":["auditor"],"colour":"red"})", 400, "colour"},
      {R"({"roles":["auditor"]})", 400, "subject"},
      {R"({"subject":"","roles":["auditor"]})", 400, "subject"},
      {R"({"subject":"x"})", 400, "roles"},
      {R"({"subject":"x","roles":"auditor"})", 400, "roles"},
      {R"({"subject":"x","roles":[]})", 400, "roles"},
      {R"({"subject":"x","roles":["root"]})", 400, "roles[0]"},
      {R"({"subject":"x","roles":["auditor",7]})", 400, "roles[1]"},
      {R"({"subject":"x","roles":["tenant_member"]})", 400, "roles"},
      {R"({"subject":"x","tenantId":"t-acme","roles":["platform_admin"]})", 400, "roles"},
      {R"({"subject":"x","tenantId":"has space","roles":["analyst"]})", 400, "tenantId"},
      {R"({"subject":"x","tenantId":"t-nowhere","roles":["analyst"]})", 422, "tenantId"},
      {R"({"subject":"x","roles":["auditor"],"expiresAtUs":1000})", 400, "expiresAtUs"},
      {R"({"subject":"x","roles":["auditor"],"expiresAtUs":"soon"})", 400, "expiresAtUs"},
  };
  for (const auto& [body, status, field] : cases) {
    INFO(body);
    auto reply = api.call("POST", "/v1/api-keys", admin, body);
    CHECK(reply.status == status);
    CHECK(reply.first_field() == field);
  }
  CHECK(api.call("POST", "/v1/api-keys", admin, "{\"subject\":").error_type() == "invalid_json");
  CHECK(api.call("GET", "/v1/api-keys?tenant=t-acme", admin).first_field() == "tenant");
  CHECK(api.call("GET", "/v1/api-keys?tenantId=a%20b", admin).first_field() == "tenantId");
  CHECK(api.call("GET", "/v1/api-keys", Credential{}).status == 401);
  // Nothing above was issued.
  CHECK(api.call("GET", "/v1/api-keys", admin).data()->getArray("keys")->size() == 0);
  CHECK(api.call("GET", "/v1/api-keys?tenantId=t-acme", admin).data()->getArray("keys")->size() == 0);

  // An expiry in the future is kept and shown.
  const int64_t later_us = (std::chrono::system_clock::now() + 1h).time_since_epoch() / 1us;
  auto expiring = api.call("POST", "/v1/api-keys", admin,
                           R"({"subject":"x","roles":["auditor"],"expiresAtUs":)" + std::to_string(later_us) + "}");
  REQUIRE(expiring.status == 201);
  CHECK(expiring.data()->getValue<int64_t>("expiresAtUs") == later_us);

  CHECK(serve.stop() == 0);
}

TEST_CASE("API keys: a bootstrap key turns the API on without any JWT key", "[gateway][api_keys]") {
  tenantry::testing::ScratchDir secrets;
  const auto path = secrets.path() / "admin.key";
  tenantry::testing::ServeFixture serve("embedded", {"--bootstrap-admin-key-file", path.string()});
  Api api{serve.port()};
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  std::string key;
  std::getline(std::ifstream(path), key);
  const Credential root = api_key(key);

  auto listed = api.call("GET", "/v1/api-keys", root);
  REQUIRE(listed.status == 200);
  REQUIRE(listed.data()->getArray("keys")->size() == 1);
  CHECK(listed.data()->getArray("keys")->getObject(0)->getArray("roles")->getElement<std::string>(0) == "platform_admin");
  CHECK(api.call("POST", "/v1/tenants", root, registration("t-acme", "acme")).status == 201);
  // No JWT key is configured, so no token is accepted.
  auto token_reply = api.call("GET", "/v1/api-keys", bearer(token("ops", "platform_admin")));
  CHECK(token_reply.status == 401);
  CHECK(token_reply.error_type() == "unsupported_algorithm");

  CHECK(serve.stop() == 0);
}

TEST_CASE("API keys: tokens verified with keys from a JWKS URL", "[gateway][api_keys][jwks_url]") {
  namespace jwt = tenantry::testing::jwt;
  tenantry::testing::JwksTestServer jwks;
  jwks.serve_keys(jwt::ec_jwk(jwt::ec_key(), "ec-1"));
  tenantry::testing::ServeFixture serve("embedded", {"--jwt-jwks-url", jwks.url()});
  Api api{serve.port()};
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
  const std::string claims = R"({"sub":"ops","exp":)" + std::to_string(now_s + 600) + R"(,"roles":["platform_admin"]})";
  const Credential admin = bearer(jwt::es256(jwt::ec_key(), R"({"alg":"ES256","kid":"ec-1"})", claims));
  CHECK(api.call("GET", "/v1/api-keys", admin).status == 200);
  CHECK(api.call("POST", "/v1/api-keys", admin, key_request("robot", "", R"(["auditor"])")).status == 201);
  CHECK(serve.stop() == 0);
}
