// API keys: issued once, stored only as a salted hash, verified in constant time,
// revocable.
//
// A presented key reads "tnt_<key_id>_<secret>": key_id is 24 lowercase hex characters
// (12 random bytes, the lookup handle, not secret), secret is 64 lowercase hex
// characters (32 bytes from OpenSSL's CSPRNG). Only the registry ever sees the secret,
// and only while issuing or verifying.
//
// Why SHA-256(salt || secret) and not a slow password hash: slow hashes (argon2, bcrypt)
// exist to make guessing low-entropy human passwords expensive. These secrets carry 256
// random bits, so guessing is infeasible at any hash speed, and a fast hash keeps every
// request's verification cheap. The per-key salt still makes equal inputs hash apart and
// rules out any precomputation over the store.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "connectors/http/auth/principal.h"

namespace tenantry::http::auth {

// What the store keeps about a key. Never the secret.
struct ApiKeyRecord {
  std::string key_id;
  std::string subject;
  std::string tenant_id;  // empty: a platform key
  std::vector<Role> roles;
  std::string salt;         // 16 random bytes
  std::string secret_hash;  // SHA-256(salt || secret), 32 bytes
  int64_t created_at_us = 0;
  int64_t expires_at_us = 0;  // 0: never
  int64_t revoked_at_us = 0;  // 0: not revoked
};

// Persistence for key records. One record per key_id; put() inserts or replaces.
// Implementations are thread-safe. Engines: InMemoryApiKeyStore below, and
// LogApiKeyStore (log_api_key_store.h) on the event log.
class ApiKeyStore {
 public:
  virtual ~ApiKeyStore() = default;
  virtual AuthResult<void> put(const ApiKeyRecord& record) = 0;
  virtual AuthResult<std::optional<ApiKeyRecord>> get(std::string_view key_id) = 0;
  // Every record whose tenant_id equals `tenant_id` (empty: the platform keys), in key_id order.
  virtual AuthResult<std::vector<ApiKeyRecord>> list(std::string_view tenant_id) = 0;
};

// For tests and single-node development: a map under a mutex, bounded.
class InMemoryApiKeyStore final : public ApiKeyStore {
 public:
  explicit InMemoryApiKeyStore(size_t max_records = 100'000) : max_records_(max_records) {}
  AuthResult<void> put(const ApiKeyRecord& record) override;
  AuthResult<std::optional<ApiKeyRecord>> get(std::string_view key_id) override;
  AuthResult<std::vector<ApiKeyRecord>> list(std::string_view tenant_id) override;

 private:
  const size_t max_records_;
  std::mutex mutex_;
  std::unordered_map<std::string, ApiKeyRecord> records_;
};

struct IssuedKey {
  std::string key_id;
  std::string secret_shown_once;  // the whole presented form; not retrievable later
};

// A key as listed: no salt, no hash, no secret.
struct ApiKeyInfo {
  std::string key_id;
  std::string subject;
  std::string tenant_id;
  std::vector<Role> roles;
  int64_t created_at_us = 0;
  int64_t expires_at_us = 0;
  int64_t revoked_at_us = 0;
};

class ApiKeyRegistry {
 public:
  static constexpr std::string_view kPrefix = "tnt_";
  static constexpr size_t kKeyIdBytes = 12;
  static constexpr size_t kSecretBytes = 32;
  static constexpr size_t kSaltBytes = 16;
  static constexpr size_t kMaxSubjectBytes = 256;
  static constexpr size_t kMaxTenantIdBytes = 256;

  // The store must outlive the registry.
  explicit ApiKeyRegistry(ApiKeyStore& store) : store_(store) {}

  // Roles must be non-empty and fit the tenant binding (tenant_admin/tenant_member need a
  // tenant, platform_admin/operator forbid one). expires_at_us 0: never expires.
  AuthResult<IssuedKey> issue(std::string_view subject, std::string_view tenant_id, std::vector<Role> roles,
                              int64_t now_us, int64_t expires_at_us = 0);
  // malformed_api_key, invalid_api_key (unknown id or wrong secret, indistinguishable),
  // revoked_api_key and expired_api_key (told only to holders of the right secret).
  AuthResult<Principal> verify(std::string_view presented, int64_t now_us) const;
  // Idempotent: revoking a revoked key keeps its first revocation time. not_found for
  // an unknown key id.
  AuthResult<void> revoke(std::string_view key_id, int64_t now_us);
  AuthResult<std::vector<ApiKeyInfo>> list(std::string_view tenant_id) const;
  // One key as listed, or nullopt for an unknown key id.
  AuthResult<std::optional<ApiKeyInfo>> find(std::string_view key_id) const;
  // Whether `key_id` has the form of a key id (24 lowercase hex characters).
  static bool well_formed_key_id(std::string_view key_id);

 private:
  ApiKeyStore& store_;
};

}  // namespace tenantry::http::auth
