// JWKS from a URL: fetched at create, on a kid not yet known (rate-limited) and in the
// background; bounded in size and time; a failed refresh keeps the last good keys.
// Served by a local Poco HTTP server the test controls (jwks_test_server.h).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "connectors/http/auth/jwt_verifier.h"
#include "http/jwks_test_server.h"
#include "http/jwt_test_support.h"
#include "test_support.h"

using namespace tenantry::http::auth;
using namespace std::chrono_literals;
using tenantry::testing::JwksTestServer;
namespace jwt = tenantry::testing::jwt;

namespace {

constexpr int64_t kNow_s = 1'700'000'000;
constexpr int64_t kNow_us = kNow_s * 1'000'000;

std::string claims() {
  return R"({"sub":"user-1","exp":)" + std::to_string(kNow_s + 3600) + R"(,"roles":["platform_admin"]})";
}
std::string rs256(EVP_PKEY* key, const std::string& kid) {
  return jwt::rs256(key, R"({"alg":"RS256","typ":"JWT","kid":")" + kid + "\"}", claims());
}
std::string es256(EVP_PKEY* key, const std::string& kid) {
  return jwt::es256(key, R"({"alg":"ES256","typ":"JWT","kid":")" + kid + "\"}", claims());
}

JwtOptions url_options(const std::string& url) {
  JwtOptions options;
  options.jwks_url = url;
  options.jwks_fetch_timeout_ms = 2000;
  return options;
}

std::optional<AuthErrorCode> error_of(const AuthResult<Principal>& result) {
  if (result) return std::nullopt;
  return result.error().code;
}

// Failure reasons reported by the verifier's refreshes.
struct FailureLog {
  std::mutex mutex;
  std::vector<std::string> reasons;
  void attach(JwtOptions& options) {
    options.on_jwks_refresh_failure = [this](const std::string& reason) {
      std::lock_guard lock(mutex);
      reasons.push_back(reason);
    };
  }
  std::vector<std::string> snapshot() {
    std::lock_guard lock(mutex);
    return reasons;
  }
};

}  // namespace

TEST_CASE("JWKS URL: tokens signed by served keys verify", "[auth][jwks_url]") {
  JwksTestServer server;
  server.serve_keys(jwt::rsa_jwk(jwt::rsa_key(), "rsa-1") + "," + jwt::ec_jwk(jwt::ec_key(), "ec-1"));
  auto verifier = JwtVerifier::create(url_options(server.url()));
  INFO((verifier ? "" : verifier.error().message));
  REQUIRE(verifier);
  CHECK(server.fetches() == 1);

  auto rsa = (*verifier)->verify(rs256(jwt::rsa_key(), "rsa-1"), kNow_us);
  REQUIRE(rsa);
  CHECK(rsa->subject == "user-1");
  CHECK(rsa->key_id == "rsa-1");
  auto ec = (*verifier)->verify(es256(jwt::ec_key(), "ec-1"), kNow_us);
  REQUIRE(ec);
  CHECK(ec->key_id == "ec-1");
  // A key the document does not hold signs nothing, whatever kid it claims.
  CHECK(error_of((*verifier)->verify(rs256(jwt::other_rsa_key(), "rsa-1"), kNow_us)) == AuthErrorCode::invalid_token);
}

TEST_CASE("JWKS URL: a rotated-in kid is fetched on first sight, unknown kids at most once per interval",
          "[auth][jwks_url]") {
  JwksTestServer server;
  server.serve_keys(jwt::rsa_jwk(jwt::rsa_key(), "rsa-1"));
  auto verifier = JwtVerifier::create(url_options(server.url()));
  REQUIRE(verifier);
  REQUIRE(server.fetches() == 1);

  // The issuer publishes its next key and starts signing with it.
  server.serve_keys(jwt::rsa_jwk(jwt::rsa_key(), "rsa-1") + "," + jwt::rsa_jwk(jwt::other_rsa_key(), "rsa-2"));
  auto rotated = (*verifier)->verify(rs256(jwt::other_rsa_key(), "rsa-2"), kNow_us);
  INFO((rotated ? "" : rotated.error().message));
  REQUIRE(rotated);
  CHECK(rotated->key_id == "rsa-2");
  CHECK(server.fetches() == 2);
  CHECK((*verifier)->verify(rs256(jwt::rsa_key(), "rsa-1"), kNow_us));

  // Made-up kids cost the sender nothing, so they may not make the verifier fetch more
  // than once per interval (30 s by default, on the verify clock).
  CHECK(error_of((*verifier)->verify(rs256(jwt::rsa_key(), "made-up"), kNow_us + 1'000'000)) ==
        AuthErrorCode::unknown_key);
  CHECK(error_of((*verifier)->verify(rs256(jwt::rsa_key(), "made-up-2"), kNow_us + 29'000'000)) ==
        AuthErrorCode::unknown_key);
  CHECK(server.fetches() == 2);
  CHECK(error_of((*verifier)->verify(rs256(jwt::rsa_key(), "made-up"), kNow_us + 31'000'000)) ==
        AuthErrorCode::unknown_key);
  CHECK(server.fetches() == 3);
  // A token without kid never triggers a fetch.
  CHECK(error_of((*verifier)->verify(jwt::rs256(jwt::rsa_key(), R"({"alg":"RS256"})", claims()), kNow_us + 90'000'000)) ==
        AuthErrorCode::unknown_key);
  CHECK(server.fetches() == 3);
}

TEST_CASE("JWKS URL: a failed refresh keeps the last good keys and is reported", "[auth][jwks_url]") {
  JwksTestServer server;
  server.serve_keys(jwt::rsa_jwk(jwt::rsa_key(), "rsa-1"));
  JwtOptions options = url_options(server.url());
  FailureLog failures;
  failures.attach(options);
  auto verifier = JwtVerifier::create(options);
  REQUIRE(verifier);
  const std::string good = rs256(jwt::rsa_key(), "rsa-1");

  const std::vector<std::pair<JwksTestServer::Answer, std::string>> broken = {
      {{500, "oops"}, "answered 500"},
      {{200, "not json"}, "not a JSON object"},
      {{200, R"({"keys":[]})"}, "no usable key"},
      {{200, R"({"keys":[{"kty":"RSA","kid":"x"}]})"}, "without n or e"},
      {{200, std::string(JwtVerifier::kMaxJwksFileBytes + 1, ' ')}, "larger than"},
  };
  int64_t now_us = kNow_us;
  for (const auto& [answer, reason] : broken) {
    INFO("expected reason: " << reason);
    server.serve(answer);
    const int before = server.fetches();
    // A kid the verifier does not know makes it fetch (once per 30 s of the verify clock).
    CHECK(error_of((*verifier)->verify(rs256(jwt::rsa_key(), "rsa-new"), now_us)) == AuthErrorCode::unknown_key);
    CHECK(server.fetches() == before + 1);
    auto reasons = failures.snapshot();
    REQUIRE(!reasons.empty());
    CHECK_THAT(reasons.back(), Catch::Contains(reason));
    CHECK((*verifier)->verify(good, now_us));
    now_us += 31'000'000;
  }
}

TEST_CASE("JWKS URL: refreshed in the background every jwks_refresh_s", "[auth][jwks_url]") {
  JwksTestServer server;
  server.serve_keys(jwt::rsa_jwk(jwt::rsa_key(), "rsa-1"));
  JwtOptions options = url_options(server.url());
  options.jwks_refresh_s = 1;
  options.jwks_unknown_kid_interval_s = 3600;
  auto verifier = JwtVerifier::create(options);
  REQUIRE(verifier);
  // Spend the unknown-kid fetch now, so what follows can only come from the background.
  CHECK(error_of((*verifier)->verify(rs256(jwt::other_rsa_key(), "rsa-2"), kNow_us)) == AuthErrorCode::unknown_key);
  const int after_create = server.fetches();

  // Rotation completed: the old key is withdrawn.
  server.serve_keys(jwt::rsa_jwk(jwt::other_rsa_key(), "rsa-2"));
  REQUIRE(server.wait_for_fetches(after_create + 1, 10s));
  REQUIRE(tenantry::testing::eventually(10s, [&] {
    return (*verifier)->verify(rs256(jwt::other_rsa_key(), "rsa-2"), kNow_us).has_value();
  }));
  CHECK(error_of((*verifier)->verify(rs256(jwt::rsa_key(), "rsa-1"), kNow_us)) == AuthErrorCode::unknown_key);
}

TEST_CASE("JWKS URL: create refuses what it cannot fetch or use, saying why", "[auth][jwks_url]") {
  auto refusal = [](const JwtOptions& options) {
    auto created = JwtVerifier::create(options);
    REQUIRE(!created);
    CHECK(created.error().code == AuthErrorCode::invalid_configuration);
    return created.error().message;
  };

  SECTION("nothing listens at the URL") {
    std::string url;
    {
      JwksTestServer gone;
      url = gone.url();
    }
    const std::string message = refusal(url_options(url));
    CHECK_THAT(message, Catch::Contains(url));
  }
  SECTION("plain http beyond loopback, other schemes, no host") {
    CHECK_THAT(refusal(url_options("http://id.example.test/jwks.json")), Catch::Contains("https"));
    CHECK_THAT(refusal(url_options("ftp://127.0.0.1/jwks.json")), Catch::Contains("scheme"));
    CHECK_THAT(refusal(url_options("https:///jwks.json")), Catch::Contains("host"));
  }
  SECTION("a file and a URL at once, or bounds out of range") {
    JwksTestServer server;
    server.serve_keys(jwt::rsa_jwk(jwt::rsa_key(), "rsa-1"));
    JwtOptions both = url_options(server.url());
    both.jwks_path = "/etc/hostname";
    CHECK_THAT(refusal(both), Catch::Contains("exclusive"));
    JwtOptions fast = url_options(server.url());
    fast.jwks_refresh_s = 0;
    CHECK_THAT(refusal(fast), Catch::Contains("refresh"));
    CHECK(server.fetches() == 0);
  }
  SECTION("a refusal, a malformed or an oversized document") {
    JwksTestServer server;
    const std::vector<std::pair<JwksTestServer::Answer, std::string>> cases = {
        {{404, "{}"}, "answered 404"},
        {{200, "[1,2]"}, "not a JSON object"},
        {{200, R"({"keys":{}})"}, "\"keys\" array"},
        {{200, R"({"keys":[{"kty":"EC","kid":"e","crv":"P-256","x":"AA","y":"AA"}]})"}, "EC x or y"},
        {{200, std::string(JwtVerifier::kMaxJwksFileBytes + 1, ' ')}, "larger than"},
        {{200, std::string(JwtVerifier::kMaxJwksFileBytes + 1, ' '), true}, "larger than"},
    };
    for (const auto& [answer, reason] : cases) {
      INFO("expected reason: " << reason);
      server.serve(answer);
      CHECK_THAT(refusal(url_options(server.url())), Catch::Contains(reason));
    }
  }
  SECTION("a server slower than the timeout") {
    JwksTestServer server;
    server.serve({200, R"({"keys":[]})", false, 1500ms});
    JwtOptions options = url_options(server.url());
    options.jwks_fetch_timeout_ms = 200;
    const auto started = std::chrono::steady_clock::now();
    CHECK_THAT(refusal(options), Catch::Contains("in time"));
    CHECK(std::chrono::steady_clock::now() - started < 1200ms);
  }
}
