// API keys: issue, verify, revoke, list, against the in-memory store.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "connectors/http/auth/api_keys.h"

using namespace tenantry::http::auth;

namespace {

constexpr int64_t kNow_us = 1'700'000'000'000'000;

std::optional<AuthErrorCode> error_of(const AuthResult<Principal>& result) {
  if (result) return std::nullopt;
  return result.error().code;
}

std::string hex_to_bytes(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(char(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

// The secret part of a presented key: everything after the second underscore.
std::string secret_hex_of(const std::string& presented) { return presented.substr(presented.rfind('_') + 1); }

}  // namespace

TEST_CASE("an issued key verifies to its principal", "[auth]") {
  InMemoryApiKeyStore store;
  ApiKeyRegistry registry(store);
  auto issued = registry.issue("ci-bot", "acme", {Role::tenant_member, Role::analyst}, kNow_us);
  REQUIRE(issued);
  CHECK(issued->secret_shown_once.starts_with("tnt_" + issued->key_id + "_"));
  CHECK(issued->secret_shown_once.size() == 4 + 24 + 1 + 64);

  auto principal = registry.verify(issued->secret_shown_once, kNow_us + 1);
  REQUIRE(principal);
  CHECK(principal->subject == "ci-bot");
  CHECK(principal->tenant_id == "acme");
  CHECK(principal->has(Role::tenant_member));
  CHECK(principal->has(Role::analyst));
  CHECK(principal->credential == "api_key");
  CHECK(principal->key_id == issued->key_id);
  CHECK(principal->expires_at_us == 0);

  auto second = registry.issue("ci-bot", "acme", {Role::tenant_member}, kNow_us);
  REQUIRE(second);
  CHECK(second->key_id != issued->key_id);
  CHECK(secret_hex_of(second->secret_shown_once) != secret_hex_of(issued->secret_shown_once));
}

TEST_CASE("the store holds a salted hash, never the secret", "[auth]") {
  InMemoryApiKeyStore store;
  ApiKeyRegistry registry(store);
  auto issued = registry.issue("ci-bot", "acme", {Role::tenant_admin}, kNow_us);
  REQUIRE(issued);
  auto record = store.get(issued->key_id);
  REQUIRE(record);
  REQUIRE(*record);
  const std::string secret_hex = secret_hex_of(issued->secret_shown_once);
  const std::string secret_raw = hex_to_bytes(secret_hex);
  CHECK((*record)->secret_hash.size() == 32);
  CHECK((*record)->salt.size() == 16);
  for (const std::string* field : {&(*record)->key_id, &(*record)->subject, &(*record)->tenant_id,
                                   &(*record)->salt, &(*record)->secret_hash}) {
    CHECK(field->find(secret_hex) == std::string::npos);
    CHECK(field->find(secret_raw) == std::string::npos);
    CHECK(field->find(secret_hex.substr(0, 16)) == std::string::npos);
  }
}

TEST_CASE("wrong secrets and unknown keys get one answer", "[auth]") {
  InMemoryApiKeyStore store;
  ApiKeyRegistry registry(store);
  auto issued = registry.issue("ci-bot", "acme", {Role::tenant_member}, kNow_us);
  REQUIRE(issued);
  std::string wrong = issued->secret_shown_once;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  CHECK(error_of(registry.verify(wrong, kNow_us)) == AuthErrorCode::invalid_api_key);

  std::string unknown = issued->secret_shown_once;
  unknown[4] = unknown[4] == '0' ? '1' : '0';  // first key id character
  CHECK(error_of(registry.verify(unknown, kNow_us)) == AuthErrorCode::invalid_api_key);
}

TEST_CASE("malformed keys are told apart from wrong ones", "[auth]") {
  InMemoryApiKeyStore store;
  ApiKeyRegistry registry(store);
  auto issued = registry.issue("ci-bot", "acme", {Role::tenant_member}, kNow_us);
  REQUIRE(issued);
  const std::string good = issued->secret_shown_once;
  std::string upper = good;
  for (char& c : upper) c = char(std::toupper(static_cast<unsigned char>(c)));
  std::string no_separator = good;
  no_separator[4 + 24] = 'a';
  const std::vector<std::string> cases = {
      "",
      "tnt_",
      good.substr(0, good.size() - 1),          // too short
      good + "0",                               // too long
      "xyz_" + good.substr(4),                  // other prefix
      upper,                                    // hex is lowercase only
      no_separator,
      good.substr(0, good.size() - 1) + "g",    // not hex
      "Bearer " + good,
  };
  for (const std::string& presented : cases) {
    INFO(presented);
    CHECK(error_of(registry.verify(presented, kNow_us)) == AuthErrorCode::malformed_api_key);
  }
}

TEST_CASE("a revoked key stops verifying, and revoking is idempotent", "[auth]") {
  InMemoryApiKeyStore store;
  ApiKeyRegistry registry(store);
  auto issued = registry.issue("ci-bot", "acme", {Role::tenant_member}, kNow_us);
  REQUIRE(issued);
  REQUIRE(registry.revoke(issued->key_id, kNow_us + 10));
  CHECK(error_of(registry.verify(issued->secret_shown_once, kNow_us + 20)) == AuthErrorCode::revoked_api_key);
  REQUIRE(registry.revoke(issued->key_id, kNow_us + 30));
  auto listed = registry.list("acme");
  REQUIRE(listed);
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().revoked_at_us == kNow_us + 10);
  CHECK(registry.revoke("000000000000000000000000", kNow_us).error().code == AuthErrorCode::not_found);
  // A wrong secret for a revoked key still says only "invalid": revocation is not news
  // for someone who does not hold the key.
  std::string wrong = issued->secret_shown_once;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  CHECK(error_of(registry.verify(wrong, kNow_us + 20)) == AuthErrorCode::invalid_api_key);
}

TEST_CASE("keys with an expiry stop at it", "[auth]") {
  InMemoryApiKeyStore store;
  ApiKeyRegistry registry(store);
  auto issued = registry.issue("ci-bot", "", {Role::operator_}, kNow_us, kNow_us + 1000);
  REQUIRE(issued);
  CHECK(registry.verify(issued->secret_shown_once, kNow_us + 999));
  CHECK(error_of(registry.verify(issued->secret_shown_once, kNow_us + 1000)) == AuthErrorCode::expired_api_key);
  CHECK(registry.issue("ci-bot", "", {Role::operator_}, kNow_us, kNow_us).error().code ==
        AuthErrorCode::invalid_argument);
}

TEST_CASE("issue validates subject, roles and the tenant binding", "[auth]") {
  InMemoryApiKeyStore store;
  ApiKeyRegistry registry(store);
  CHECK(registry.issue("", "acme", {Role::tenant_member}, kNow_us).error().code == AuthErrorCode::invalid_argument);
  CHECK(registry.issue("bot", "acme", {}, kNow_us).error().code == AuthErrorCode::invalid_argument);
  CHECK(registry.issue("bot", "", {Role::tenant_admin}, kNow_us).error().code == AuthErrorCode::invalid_argument);
  CHECK(registry.issue("bot", "acme", {Role::platform_admin}, kNow_us).error().code ==
        AuthErrorCode::invalid_argument);
  auto platform = registry.issue("ops", "", {Role::platform_admin, Role::auditor}, kNow_us);
  REQUIRE(platform);
  auto principal = registry.verify(platform->secret_shown_once, kNow_us);
  REQUIRE(principal);
  CHECK(principal->is_platform());

  InMemoryApiKeyStore tiny(1);
  ApiKeyRegistry bounded(tiny);
  REQUIRE(bounded.issue("bot", "acme", {Role::tenant_member}, kNow_us));
  CHECK(bounded.issue("bot", "acme", {Role::tenant_member}, kNow_us).error().code == AuthErrorCode::storage);
}

TEST_CASE("list shows a tenant's keys without hashes or secrets", "[auth]") {
  InMemoryApiKeyStore store;
  ApiKeyRegistry registry(store);
  auto a = registry.issue("bot-a", "acme", {Role::tenant_member}, kNow_us);
  auto b = registry.issue("bot-b", "acme", {Role::tenant_admin}, kNow_us);
  auto other = registry.issue("bot-c", "globex", {Role::tenant_member}, kNow_us);
  REQUIRE((a && b && other));
  auto listed = registry.list("acme");
  REQUIRE(listed);
  REQUIRE(listed->size() == 2);
  for (const ApiKeyInfo& info : *listed) {
    CHECK(info.tenant_id == "acme");
    CHECK((info.key_id == a->key_id || info.key_id == b->key_id));
    CHECK(info.created_at_us == kNow_us);
  }
  // ApiKeyInfo has no field for a salt, hash or secret: the type is the guarantee.
  static_assert(sizeof(ApiKeyInfo) < sizeof(ApiKeyRecord));
  auto platform = registry.list("");
  REQUIRE(platform);
  CHECK(platform->empty());
}
