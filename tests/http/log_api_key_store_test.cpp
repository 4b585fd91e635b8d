// The log-backed API key store on the embedded engine: durable across restarts, shared
// by every store on the same log, and never holding a secret.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <string>

#include "connectors/http/auth/api_keys.h"
#include "connectors/http/auth/log_api_key_store.h"
#include "connectors/log/embedded/embedded_log.h"
#include "tenantry/v1/credentials.pb.h"
#include "test_support.h"

using namespace tenantry::http::auth;
using namespace std::chrono_literals;

namespace {

constexpr int64_t kNow_us = 1'700'000'000'000'000;
const std::string kTopic = "tenantry.api-keys";

std::unique_ptr<tenantry::log::EventLog> open_log(const std::filesystem::path& dir) {
  tenantry::log::embedded::EmbeddedOptions options;
  options.path = (dir / "log").string();
  auto opened = tenantry::log::embedded::open_embedded_log(options);
  REQUIRE(opened.has_value());
  return std::move(*opened);
}

std::unique_ptr<LogApiKeyStore> open_store(tenantry::log::EventLog& log, size_t max_records = 100'000) {
  LogApiKeyStoreOptions options;
  options.max_records = max_records;
  auto store = LogApiKeyStore::open(log, options);
  INFO((store ? "" : store.error().message));
  REQUIRE(store.has_value());
  return std::move(*store);
}

std::optional<AuthErrorCode> error_of(const AuthResult<Principal>& result) {
  if (result) return std::nullopt;
  return result.error().code;
}

std::vector<tenantry::log::StoredRecord> topic_records(tenantry::log::EventLog& log) {
  auto end = log.end_offset(kTopic, 0);
  REQUIRE(end);
  auto reader = log.open_reader(kTopic, 0, 0);
  REQUIRE(reader);
  std::vector<tenantry::log::StoredRecord> out;
  while (static_cast<int64_t>(out.size()) < *end) {
    auto batch = (*reader)->read(100, 1s);
    REQUIRE(batch);
    for (auto& record : *batch) out.push_back(std::move(record));
  }
  return out;
}

}  // namespace

TEST_CASE("log key store: issued and revoked keys survive a restart", "[auth][api_keys_log]") {
  tenantry::testing::ScratchDir dir;
  IssuedKey member, admin;
  {
    auto log = open_log(dir.path());
    auto store = open_store(*log);
    ApiKeyRegistry registry(*store);
    auto issued_member = registry.issue("ci-bot", "acme", {Role::tenant_member}, kNow_us);
    auto issued_admin = registry.issue("ops", "", {Role::platform_admin}, kNow_us, kNow_us + 3'600'000'000);
    REQUIRE(issued_member);
    REQUIRE(issued_admin);
    member = *issued_member;
    admin = *issued_admin;
    // In effect on this node as soon as put() returned.
    REQUIRE(registry.verify(member.secret_shown_once, kNow_us + 1));
    REQUIRE(registry.revoke(member.key_id, kNow_us + 2));
    CHECK(error_of(registry.verify(member.secret_shown_once, kNow_us + 3)) == AuthErrorCode::revoked_api_key);
    store.reset();
    log.reset();
  }
  auto log = open_log(dir.path());
  auto store = open_store(*log);
  ApiKeyRegistry registry(*store);
  CHECK(store->record_count() == 2);
  CHECK(error_of(registry.verify(member.secret_shown_once, kNow_us + 4)) == AuthErrorCode::revoked_api_key);
  auto principal = registry.verify(admin.secret_shown_once, kNow_us + 4);
  REQUIRE(principal);
  CHECK(principal->subject == "ops");
  CHECK(principal->is_platform());
  CHECK(principal->has(Role::platform_admin));
  CHECK(principal->expires_at_us == kNow_us + 3'600'000'000);

  auto acme = registry.list("acme");
  REQUIRE(acme);
  REQUIRE(acme->size() == 1);
  CHECK((*acme)[0].key_id == member.key_id);
  CHECK((*acme)[0].revoked_at_us == kNow_us + 2);
  auto platform = registry.list("");
  REQUIRE(platform);
  REQUIRE(platform->size() == 1);
  CHECK((*platform)[0].key_id == admin.key_id);
  CHECK(registry.list("globex")->empty());
  // The revocation replaced the record, so revoking again keeps its first time.
  REQUIRE(registry.revoke(member.key_id, kNow_us + 10));
  CHECK((*registry.find(member.key_id))->revoked_at_us == kNow_us + 2);
  CHECK(store->skipped_records() == 0);
}

TEST_CASE("log key store: a second store on the same log sees keys issued and revoked by the first",
          "[auth][api_keys_log]") {
  tenantry::testing::ScratchDir dir;
  auto log = open_log(dir.path());
  auto first_store = open_store(*log);
  auto second_store = open_store(*log);
  ApiKeyRegistry first(*first_store);
  ApiKeyRegistry second(*second_store);

  auto issued = first.issue("ci-bot", "acme", {Role::tenant_admin, Role::analyst}, kNow_us);
  REQUIRE(issued);
  REQUIRE(tenantry::testing::eventually(10s, [&] { return second_store->applied_offset() >= 1; }));
  auto principal = second.verify(issued->secret_shown_once, kNow_us + 1);
  REQUIRE(principal);
  CHECK(principal->tenant_id == "acme");
  CHECK(principal->has(Role::tenant_admin));
  CHECK(principal->has(Role::analyst));

  // Revoked through the second node: there at once, on the first once its reader has it.
  REQUIRE(second.revoke(issued->key_id, kNow_us + 2));
  CHECK(error_of(second.verify(issued->secret_shown_once, kNow_us + 3)) == AuthErrorCode::revoked_api_key);
  REQUIRE(tenantry::testing::eventually(10s, [&] { return first_store->applied_offset() >= 2; }));
  CHECK(error_of(first.verify(issued->secret_shown_once, kNow_us + 3)) == AuthErrorCode::revoked_api_key);
  CHECK(first.list("acme")->size() == 1);
}

TEST_CASE("log key store: the topic holds a salted hash, never the secret", "[auth][api_keys_log]") {
  tenantry::testing::ScratchDir dir;
  auto log = open_log(dir.path());
  auto store = open_store(*log);
  ApiKeyRegistry registry(*store);
  auto issued = registry.issue("ci-bot", "acme", {Role::tenant_member}, kNow_us);
  REQUIRE(issued);
  const std::string secret_hex = issued->secret_shown_once.substr(issued->secret_shown_once.rfind('_') + 1);
  auto records = topic_records(*log);
  REQUIRE(records.size() == 1);
  CHECK(records[0].key == issued->key_id);
  CHECK(records[0].value.find(secret_hex) == std::string::npos);
  CHECK(records[0].value.find(secret_hex.substr(0, 16)) == std::string::npos);
  tenantry::v1::ApiKeyRecord wire;
  REQUIRE(wire.ParseFromString(records[0].value));
  CHECK(wire.key_id() == issued->key_id);
  CHECK(wire.tenant_id() == "acme");
  CHECK(wire.roles_size() == 1);
  CHECK(wire.roles(0) == "tenant_member");
  CHECK(wire.salt().size() == 16);
  CHECK(wire.secret_hash().size() == 32);
}

TEST_CASE("log key store: records that are not valid keys are skipped, never applied", "[auth][api_keys_log]") {
  tenantry::testing::ScratchDir dir;
  auto log = open_log(dir.path());
  IssuedKey good;
  {
    auto store = open_store(*log);
    ApiKeyRegistry registry(*store);
    auto issued = registry.issue("ci-bot", "acme", {Role::tenant_member}, kNow_us);
    REQUIRE(issued);
    good = *issued;
  }
  auto record_of = [&](const std::string& key, const std::string& value) {
    return tenantry::log::Record{kTopic, key, value, {}, 0};
  };
  // A record under another key, a platform role bound to a tenant (an escalation a
  // forged record might try), and bytes that are no record at all.
  tenantry::v1::ApiKeyRecord forged;
  forged.set_key_id("0123456789abcdef01234567");
  forged.set_subject("mallory");
  forged.set_tenant_id("acme");
  forged.add_roles("platform_admin");
  forged.set_salt(std::string(16, 's'));
  forged.set_secret_hash(std::string(32, 'h'));
  tenantry::v1::ApiKeyRecord misfiled = forged;
  misfiled.set_tenant_id("");
  tenantry::log::AppendRequest request;
  request.records = {record_of("ffffffffffffffffffffffff", misfiled.SerializeAsString()),
                     record_of(forged.key_id(), forged.SerializeAsString()), record_of("x", "\xff\xff not protobuf")};
  REQUIRE(log->append(std::move(request)));

  auto store = open_store(*log);
  ApiKeyRegistry registry(*store);
  CHECK(store->skipped_records() == 3);
  CHECK(store->record_count() == 1);
  CHECK(registry.verify(good.secret_shown_once, kNow_us + 1));
  CHECK(!registry.find("0123456789abcdef01234567")->has_value());
}

TEST_CASE("log key store: bounded, a new key beyond the bound is refused before it is written",
          "[auth][api_keys_log]") {
  tenantry::testing::ScratchDir dir;
  auto log = open_log(dir.path());
  auto store = open_store(*log, 2);
  ApiKeyRegistry registry(*store);
  auto first = registry.issue("a", "acme", {Role::tenant_member}, kNow_us);
  REQUIRE(first);
  REQUIRE(registry.issue("b", "acme", {Role::tenant_member}, kNow_us));
  auto third = registry.issue("c", "acme", {Role::tenant_member}, kNow_us);
  REQUIRE(!third);
  CHECK(third.error().code == AuthErrorCode::storage);
  CHECK(*log->end_offset(kTopic, 0) == 2);
  // Replacing a held key is not a new key: revocation still works when full.
  CHECK(registry.revoke(first->key_id, kNow_us + 1));
}
