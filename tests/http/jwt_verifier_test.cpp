// JWT verification against tokens minted independently with OpenSSL (jwt_test_support.h).
#include <catch2/catch.hpp>

#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "connectors/http/auth/jwt_verifier.h"
#include "http/jwt_test_support.h"
#include "test_support.h"

using namespace tenantry::http::auth;
namespace jwt = tenantry::testing::jwt;

namespace {

constexpr int64_t kNow_s = 1'700'000'000;
constexpr int64_t kNow_us = kNow_s * 1'000'000;
const std::string kSecret = "an-hs256-secret-of-at-least-32-bytes!";
const std::string kIssuer = "https://id.example.test";
const std::string kAudience = "tenantry";

// The claims of a token, valid by default; each test spoils one thing.
struct Claims {
  std::optional<std::string> sub = "user-1";
  std::optional<std::string> iss = kIssuer;
  std::optional<std::string> aud_json = "\"" + kAudience + "\"";
  std::optional<int64_t> exp_s = kNow_s + 600;
  std::optional<int64_t> nbf_s;
  std::optional<int64_t> iat_s = kNow_s - 10;
  std::optional<std::string> tenant_id = "acme";
  std::optional<std::string> roles_json = R"(["tenant_admin"])";
  std::string tenant_claim = "tenant_id";
  std::string roles_claim = "roles";

  std::string json() const {
    std::vector<std::string> members;
    if (sub) members.push_back(R"("sub":")" + *sub + "\"");
    if (iss) members.push_back(R"("iss":")" + *iss + "\"");
    if (aud_json) members.push_back(R"("aud":)" + *aud_json);
    if (exp_s) members.push_back(R"("exp":)" + std::to_string(*exp_s));
    if (nbf_s) members.push_back(R"("nbf":)" + std::to_string(*nbf_s));
    if (iat_s) members.push_back(R"("iat":)" + std::to_string(*iat_s));
    if (tenant_id) members.push_back("\"" + tenant_claim + R"(":")" + *tenant_id + "\"");
    if (roles_json) members.push_back("\"" + roles_claim + "\":" + *roles_json);
    std::string out = "{";
    for (size_t i = 0; i < members.size(); ++i) out += (i ? "," : "") + members[i];
    return out + "}";
  }
};

std::string header(const std::string& alg, std::optional<std::string> kid = std::nullopt) {
  std::string out = R"({"alg":")" + alg + R"(","typ":"JWT")";
  if (kid) out += R"(,"kid":")" + *kid + "\"";
  return out + "}";
}

std::string hs256_token(const Claims& claims = {}) { return jwt::hs256(kSecret, header("HS256"), claims.json()); }
std::string rs256_token(const Claims& claims = {}, std::optional<std::string> kid = "rsa-1") {
  return jwt::rs256(jwt::rsa_key(), header("RS256", kid), claims.json());
}
std::string es256_token(const Claims& claims = {}, std::optional<std::string> kid = "ec-1") {
  return jwt::es256(jwt::ec_key(), header("ES256", kid), claims.json());
}

// A scratch JWKS file holding one RSA and one EC key, and the options that use it.
struct JwksFixture {
  tenantry::testing::ScratchDir dir;
  std::string path = (dir.path() / "jwks.json").string();

  explicit JwksFixture(const std::string& keys_json = "") {
    std::ofstream(path) << R"({"keys":[)"
                        << (keys_json.empty()
                                ? jwt::rsa_jwk(jwt::rsa_key(), "rsa-1") + "," + jwt::ec_jwk(jwt::ec_key(), "ec-1")
                                : keys_json)
                        << "]}";
  }
};

JwtOptions base_options() {
  JwtOptions options;
  options.issuer = kIssuer;
  options.audience = kAudience;
  return options;
}

std::unique_ptr<JwtVerifier> make_verifier(JwtOptions options) {
  auto verifier = JwtVerifier::create(options);
  INFO((verifier ? "" : verifier.error().message));
  REQUIRE(verifier);
  return std::move(*verifier);
}

std::unique_ptr<JwtVerifier> hs256_verifier() {
  JwtOptions options = base_options();
  options.hs256_secret = kSecret;
  return make_verifier(options);
}

std::unique_ptr<JwtVerifier> jwks_verifier(const JwksFixture& jwks) {
  JwtOptions options = base_options();
  options.jwks_path = jwks.path;
  return make_verifier(options);
}

std::optional<AuthErrorCode> error_of(const AuthResult<Principal>& result) {
  if (result) return std::nullopt;
  return result.error().code;
}

// The same token with its payload swapped for other claims (signature kept).
std::string with_payload(const std::string& token, const std::string& claims_json) {
  const size_t first = token.find('.');
  const size_t second = token.find('.', first + 1);
  return token.substr(0, first + 1) + jwt::base64url(claims_json) + token.substr(second);
}

}  // namespace

TEST_CASE("valid HS256 token yields the principal", "[auth]") {
  auto verifier = hs256_verifier();
  Claims claims;
  claims.roles_json = R"(["tenant_admin","analyst"])";
  auto principal = verifier->verify(hs256_token(claims), kNow_us);
  REQUIRE(principal);
  CHECK(principal->subject == "user-1");
  CHECK(principal->tenant_id == "acme");
  CHECK_FALSE(principal->is_platform());
  CHECK(principal->roles == std::vector<Role>{Role::tenant_admin, Role::analyst});
  CHECK(principal->has(Role::analyst));
  CHECK_FALSE(principal->has(Role::platform_admin));
  CHECK(principal->credential == "jwt");
  CHECK(principal->key_id.empty());
  CHECK(principal->expires_at_us == (kNow_s + 600) * 1'000'000);
}

TEST_CASE("HS256 with another secret is rejected", "[auth]") {
  auto verifier = hs256_verifier();
  auto token = jwt::hs256("another-secret-that-is-also-32-bytes-long", header("HS256"), Claims{}.json());
  CHECK(error_of(verifier->verify(token, kNow_us)) == AuthErrorCode::invalid_token);
}

TEST_CASE("valid RS256 and ES256 tokens verify with JWKS keys", "[auth]") {
  JwksFixture jwks;
  auto verifier = jwks_verifier(jwks);

  auto rsa = verifier->verify(rs256_token(), kNow_us);
  REQUIRE(rsa);
  CHECK(rsa->key_id == "rsa-1");
  auto ec = verifier->verify(es256_token(), kNow_us);
  REQUIRE(ec);
  CHECK(ec->key_id == "ec-1");

  SECTION("without kid, the only key of the type is used") {
    CHECK(verifier->verify(rs256_token({}, std::nullopt), kNow_us));
    CHECK(verifier->verify(es256_token({}, std::nullopt), kNow_us));
  }
  SECTION("without kid and two keys of the type, no guess is made") {
    JwksFixture two(jwt::rsa_jwk(jwt::rsa_key(), "rsa-1") + "," + jwt::rsa_jwk(jwt::other_rsa_key(), "rsa-2"));
    auto ambiguous = jwks_verifier(two);
    CHECK(error_of(ambiguous->verify(rs256_token({}, std::nullopt), kNow_us)) == AuthErrorCode::unknown_key);
    CHECK(ambiguous->verify(rs256_token({}, "rsa-1"), kNow_us));
  }
}

TEST_CASE("expiry is required and honoured with leeway", "[auth]") {
  auto verifier = hs256_verifier();
  Claims claims;
  claims.exp_s = kNow_s - 31;  // beyond the 30 s leeway
  CHECK(error_of(verifier->verify(hs256_token(claims), kNow_us)) == AuthErrorCode::expired_token);
  claims.exp_s = kNow_s - 10;  // within the leeway
  CHECK(verifier->verify(hs256_token(claims), kNow_us));
  claims.exp_s = std::nullopt;
  CHECK(error_of(verifier->verify(hs256_token(claims), kNow_us)) == AuthErrorCode::invalid_token);

  JwtOptions strict = base_options();
  strict.hs256_secret = kSecret;
  strict.leeway_s = 0;
  claims.exp_s = kNow_s;  // exp is the first instant the token is no longer valid
  CHECK(error_of(make_verifier(strict)->verify(hs256_token(claims), kNow_us)) == AuthErrorCode::expired_token);
}

TEST_CASE("nbf and iat in the future are refused beyond the leeway", "[auth]") {
  auto verifier = hs256_verifier();
  Claims claims;
  claims.nbf_s = kNow_s + 60;
  CHECK(error_of(verifier->verify(hs256_token(claims), kNow_us)) == AuthErrorCode::token_not_yet_valid);
  claims.nbf_s = kNow_s + 20;
  CHECK(verifier->verify(hs256_token(claims), kNow_us));
  claims.nbf_s = std::nullopt;
  claims.iat_s = kNow_s + 60;
  CHECK(error_of(verifier->verify(hs256_token(claims), kNow_us)) == AuthErrorCode::token_not_yet_valid);
}

TEST_CASE("issuer is checked when configured", "[auth]") {
  auto verifier = hs256_verifier();
  Claims claims;
  claims.iss = "https://evil.example.test";
  CHECK(error_of(verifier->verify(hs256_token(claims), kNow_us)) == AuthErrorCode::wrong_issuer);
  claims.iss = std::nullopt;
  CHECK(error_of(verifier->verify(hs256_token(claims), kNow_us)) == AuthErrorCode::wrong_issuer);

  JwtOptions any_issuer = base_options();
  any_issuer.hs256_secret = kSecret;
  any_issuer.issuer.clear();
  CHECK(make_verifier(any_issuer)->verify(hs256_token(claims), kNow_us));
}

TEST_CASE("audience is checked as a string or an array", "[auth]") {
  auto verifier = hs256_verifier();
  Claims claims;
  claims.aud_json = R"("billing")";
  CHECK(error_of(verifier->verify(hs256_token(claims), kNow_us)) == AuthErrorCode::wrong_audience);
  claims.aud_json = R"(["billing","tenantry"])";
  CHECK(verifier->verify(hs256_token(claims), kNow_us));
  claims.aud_json = R"(["billing","reports"])";
  CHECK(error_of(verifier->verify(hs256_token(claims), kNow_us)) == AuthErrorCode::wrong_audience);
  claims.aud_json = R"([])";
  CHECK(error_of(verifier->verify(hs256_token(claims), kNow_us)) == AuthErrorCode::wrong_audience);
  claims.aud_json = std::nullopt;
  CHECK(error_of(verifier->verify(hs256_token(claims), kNow_us)) == AuthErrorCode::wrong_audience);
}

TEST_CASE("alg none is refused in any spelling", "[auth]") {
  JwksFixture jwks;
  JwtOptions options = base_options();
  options.hs256_secret = kSecret;
  options.jwks_path = jwks.path;
  auto verifier = make_verifier(options);
  for (const std::string alg : {"none", "None", "NONE", "nOnE"}) {
    INFO(alg);
    const std::string unsigned_token = jwt::signing_input(header(alg), Claims{}.json()) + ".";
    CHECK(error_of(verifier->verify(unsigned_token, kNow_us)) == AuthErrorCode::unsupported_algorithm);
    // A "signature" does not make it acceptable either.
    const std::string with_signature = unsigned_token + jwt::base64url("whatever");
    CHECK(error_of(verifier->verify(with_signature, kNow_us)) == AuthErrorCode::unsupported_algorithm);
  }
  const std::string other = jwt::hs256(kSecret, header("HS512"), Claims{}.json());
  CHECK(error_of(verifier->verify(other, kNow_us)) == AuthErrorCode::unsupported_algorithm);
}

TEST_CASE("a public key is never used as an HMAC secret", "[auth]") {
  // The classic forgery: the attacker knows the RSA public key (it is public) and signs
  // an HS256 token with its PEM bytes, hoping the verifier feeds the key to HMAC.
  JwksFixture jwks;
  auto verifier = jwks_verifier(jwks);
  const std::string pem = jwt::public_key_pem(jwt::rsa_key());
  Claims claims;
  claims.tenant_id = std::nullopt;
  claims.roles_json = R"(["platform_admin"])";
  for (const std::optional<std::string>& kid : {std::optional<std::string>("rsa-1"), std::optional<std::string>()}) {
    const std::string forged = jwt::hs256(pem, header("HS256", kid), claims.json());
    CHECK(error_of(verifier->verify(forged, kNow_us)) == AuthErrorCode::unsupported_algorithm);
  }
  // Control: the forged token is otherwise perfect, so the refusal above is the rule at
  // work and not some other flaw (a verifier whose secret really is those bytes takes it).
  JwtOptions pem_as_secret = base_options();
  pem_as_secret.hs256_secret = pem;
  CHECK(make_verifier(pem_as_secret)->verify(jwt::hs256(pem, header("HS256"), claims.json()), kNow_us));
}

TEST_CASE("alg must fit the key's type", "[auth]") {
  JwksFixture jwks;
  auto verifier = jwks_verifier(jwks);
  // Signed by the RSA key but naming the EC key, and the other way round.
  const std::string rs_on_ec = jwt::rs256(jwt::rsa_key(), header("RS256", "ec-1"), Claims{}.json());
  CHECK(error_of(verifier->verify(rs_on_ec, kNow_us)) == AuthErrorCode::unsupported_algorithm);
  const std::string es_on_rsa = jwt::es256(jwt::ec_key(), header("ES256", "rsa-1"), Claims{}.json());
  CHECK(error_of(verifier->verify(es_on_rsa, kNow_us)) == AuthErrorCode::unsupported_algorithm);
}

TEST_CASE("unknown kid and foreign keys are refused", "[auth]") {
  JwksFixture jwks;
  auto verifier = jwks_verifier(jwks);
  CHECK(error_of(verifier->verify(rs256_token({}, "rsa-9"), kNow_us)) == AuthErrorCode::unknown_key);
  const std::string foreign = jwt::rs256(jwt::other_rsa_key(), header("RS256", "rsa-1"), Claims{}.json());
  CHECK(error_of(verifier->verify(foreign, kNow_us)) == AuthErrorCode::invalid_token);
  // No JWKS at all: RS256 has no key.
  CHECK(error_of(hs256_verifier()->verify(rs256_token(), kNow_us)) == AuthErrorCode::unknown_key);
}

TEST_CASE("a tampered payload breaks every signature", "[auth]") {
  JwksFixture jwks;
  JwtOptions options = base_options();
  options.hs256_secret = kSecret;
  options.jwks_path = jwks.path;
  auto verifier = make_verifier(options);
  Claims escalated;
  escalated.tenant_id = std::nullopt;
  escalated.roles_json = R"(["platform_admin"])";
  for (const std::string& token : {hs256_token(), rs256_token(), es256_token()}) {
    REQUIRE(verifier->verify(token, kNow_us));
    CHECK(error_of(verifier->verify(with_payload(token, escalated.json()), kNow_us)) ==
          AuthErrorCode::invalid_token);
  }
  // A truncated ES256 signature (not 64 bytes) is refused, not mis-parsed.
  const std::string es = es256_token();
  CHECK(error_of(verifier->verify(es.substr(0, es.size() - 4), kNow_us)) == AuthErrorCode::invalid_token);
}

TEST_CASE("malformed tokens are invalid_token", "[auth]") {
  auto verifier = hs256_verifier();
  const std::string valid = hs256_token();
  const std::string not_json = jwt::base64url("not json");
  const std::string array = jwt::base64url(R"(["HS256"])");
  const std::vector<std::string> cases = {
      "",
      "abc",
      "a.b",
      valid + ".extra",
      ".." ,
      "@@@." + jwt::base64url(Claims{}.json()) + ".c2ln",            // header not base64url
      jwt::base64url(header("HS256")) + "=." + jwt::base64url(Claims{}.json()) + ".c2ln",  // padding
      not_json + "." + jwt::base64url(Claims{}.json()) + ".c2ln",    // header not JSON
      array + "." + jwt::base64url(Claims{}.json()) + ".c2ln",       // header not an object
      jwt::hs256(kSecret, header("HS256"), "not json"),              // payload not JSON
      jwt::hs256(kSecret, R"({"typ":"JWT"})", Claims{}.json()),      // no alg
      jwt::hs256(kSecret, R"({"alg":"HS256","crit":["exp"]})", Claims{}.json()),
      valid.substr(0, valid.rfind('.') + 1),                          // empty signature
      valid + "!",                                                    // signature not base64url
      valid.substr(0, 20) + std::string(9000, 'A') + valid.substr(20),  // over 8 KiB
  };
  for (const std::string& token : cases) {
    INFO(token.substr(0, 120));
    CHECK(error_of(verifier->verify(token, kNow_us)) == AuthErrorCode::invalid_token);
  }
}

TEST_CASE("roles: unknown names ignored, at least one known", "[auth]") {
  auto verifier = hs256_verifier();
  Claims claims;
  claims.roles_json = R"(["tenant_member","wizard","tenant_member",7,"auditor"])";
  auto principal = verifier->verify(hs256_token(claims), kNow_us);
  REQUIRE(principal);
  CHECK(principal->roles == std::vector<Role>{Role::tenant_member, Role::auditor});

  for (const char* roles : {R"(["wizard"])", R"([])", R"("tenant_admin")", R"({"a":1})"}) {
    INFO(roles);
    claims.roles_json = roles;
    CHECK(error_of(verifier->verify(hs256_token(claims), kNow_us)) == AuthErrorCode::invalid_token);
  }
  claims.roles_json = std::nullopt;
  CHECK(error_of(verifier->verify(hs256_token(claims), kNow_us)) == AuthErrorCode::invalid_token);
  CHECK(role_from_string("operator") == Role::operator_);
  CHECK(std::string(to_string(Role::operator_)) == "operator");
  CHECK_FALSE(role_from_string("Operator"));
}

TEST_CASE("the tenant claim binds tenant roles, platform roles bind none", "[auth]") {
  auto verifier = hs256_verifier();
  Claims platform;
  platform.tenant_id = std::nullopt;
  platform.roles_json = R"(["platform_admin","auditor"])";
  auto principal = verifier->verify(hs256_token(platform), kNow_us);
  REQUIRE(principal);
  CHECK(principal->is_platform());

  Claims tenant_role_without_tenant = platform;
  tenant_role_without_tenant.roles_json = R"(["tenant_admin"])";
  CHECK(error_of(verifier->verify(hs256_token(tenant_role_without_tenant), kNow_us)) ==
        AuthErrorCode::invalid_token);
  Claims platform_role_in_tenant;
  platform_role_in_tenant.roles_json = R"(["operator"])";
  CHECK(error_of(verifier->verify(hs256_token(platform_role_in_tenant), kNow_us)) ==
        AuthErrorCode::invalid_token);

  // Claim names come from the options.
  JwtOptions custom = base_options();
  custom.hs256_secret = kSecret;
  custom.tenant_claim = "https://tenantry.test/tenant";
  custom.roles_claim = "https://tenantry.test/roles";
  Claims named;
  named.tenant_claim = custom.tenant_claim;
  named.roles_claim = custom.roles_claim;
  named.tenant_id = "globex";
  auto custom_principal = make_verifier(custom)->verify(hs256_token(named), kNow_us);
  REQUIRE(custom_principal);
  CHECK(custom_principal->tenant_id == "globex");
}

TEST_CASE("configuration errors are reported by create", "[auth]") {
  JwtOptions nothing = base_options();
  CHECK(JwtVerifier::create(nothing).error().code == AuthErrorCode::invalid_configuration);

  JwtOptions short_secret = base_options();
  short_secret.hs256_secret = "too-short";
  CHECK(JwtVerifier::create(short_secret).error().code == AuthErrorCode::invalid_configuration);

  JwtOptions missing_file = base_options();
  missing_file.jwks_path = "/nonexistent/jwks.json";
  CHECK(JwtVerifier::create(missing_file).error().code == AuthErrorCode::invalid_configuration);

  // An EC point moved off the curve (x of one key, y of another).
  std::string ec = jwt::ec_jwk(jwt::ec_key(), "ec-1");
  const size_t y_at = ec.find(R"("y":")") + 5;
  ec.replace(y_at, 43, jwt::base64url(std::string(32, '\x01')));
  JwksFixture off_curve(ec);
  JwtOptions bad_point = base_options();
  bad_point.jwks_path = off_curve.path;
  CHECK(JwtVerifier::create(bad_point).error().code == AuthErrorCode::invalid_configuration);

  JwksFixture duplicate(jwt::rsa_jwk(jwt::rsa_key(), "k") + "," + jwt::ec_jwk(jwt::ec_key(), "k"));
  JwtOptions duplicate_kid = base_options();
  duplicate_kid.jwks_path = duplicate.path;
  CHECK(JwtVerifier::create(duplicate_kid).error().code == AuthErrorCode::invalid_configuration);
}
