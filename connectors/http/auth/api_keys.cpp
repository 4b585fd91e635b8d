#include "connectors/http/auth/api_keys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>

namespace tenantry::http::auth {
namespace {

constexpr size_t kSha256Bytes = 32;
constexpr size_t kKeyIdHexChars = ApiKeyRegistry::kKeyIdBytes * 2;
constexpr size_t kSecretHexChars = ApiKeyRegistry::kSecretBytes * 2;
constexpr size_t kPresentedChars = ApiKeyRegistry::kPrefix.size() + kKeyIdHexChars + 1 + kSecretHexChars;

AuthResult<std::string> random_bytes(size_t count) {
  std::string out(count, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(count)) != 1) {
    return auth_fail(AuthErrorCode::internal, "the CSPRNG failed");
  }
  return out;
}

std::string to_hex(std::string_view raw) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char byte : raw) {
    out.push_back(kDigits[byte >> 4]);
    out.push_back(kDigits[byte & 0x0f]);
  }
  return out;
}

// Lowercase only: one spelling per key, so the key id is a usable map key.
bool is_lower_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

AuthResult<std::string> salted_hash(std::string_view salt, std::string_view secret) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_bytes = 0;
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  const bool ok = context && EVP_DigestInit_ex(context, EVP_sha256(), nullptr) == 1 &&
                  EVP_DigestUpdate(context, salt.data(), salt.size()) == 1 &&
                  EVP_DigestUpdate(context, secret.data(), secret.size()) == 1 &&
                  EVP_DigestFinal_ex(context, digest, &digest_bytes) == 1;
  EVP_MD_CTX_free(context);
  if (!ok || digest_bytes != kSha256Bytes) return auth_fail(AuthErrorCode::internal, "SHA-256 failed");
  return std::string(reinterpret_cast<const char*>(digest), digest_bytes);
}

struct PresentedKey {
  std::string_view key_id;
  std::string_view secret_hex;
};

std::optional<PresentedKey> parse_presented(std::string_view presented) {
  if (presented.size() != kPresentedChars || !presented.starts_with(ApiKeyRegistry::kPrefix)) return std::nullopt;
  const std::string_view rest = presented.substr(ApiKeyRegistry::kPrefix.size());
  if (rest[kKeyIdHexChars] != '_') return std::nullopt;
  PresentedKey key{rest.substr(0, kKeyIdHexChars), rest.substr(kKeyIdHexChars + 1)};
  if (!is_lower_hex(key.key_id) || !is_lower_hex(key.secret_hex)) return std::nullopt;
  return key;
}

ApiKeyInfo info_of(const ApiKeyRecord& record) {
  return ApiKeyInfo{record.key_id,        record.subject,       record.tenant_id,    record.roles,
                    record.created_at_us, record.expires_at_us, record.revoked_at_us};
}

}  // namespace

// ---- InMemoryApiKeyStore -----------------------------------------------------------

AuthResult<void> InMemoryApiKeyStore::put(const ApiKeyRecord& record) {
  std::lock_guard lock(mutex_);
  if (!records_.contains(record.key_id) && records_.size() >= max_records_) {
    return auth_fail(AuthErrorCode::storage, "API key store is full");
  }
  records_[record.key_id] = record;
  return {};
}

AuthResult<std::optional<ApiKeyRecord>> InMemoryApiKeyStore::get(std::string_view key_id) {
  std::lock_guard lock(mutex_);
  auto found = records_.find(std::string(key_id));
  if (found == records_.end()) return std::optional<ApiKeyRecord>{};
  return std::optional<ApiKeyRecord>{found->second};
}

AuthResult<std::vector<ApiKeyRecord>> InMemoryApiKeyStore::list(std::string_view tenant_id) {
  std::lock_guard lock(mutex_);
  std::vector<ApiKeyRecord> out;
  for (const auto& [key_id, record] : records_) {
    if (record.tenant_id == tenant_id) out.push_back(record);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key_id < b.key_id; });
  return out;
}

// ---- ApiKeyRegistry ----------------------------------------------------------------

AuthResult<IssuedKey> ApiKeyRegistry::issue(std::string_view subject, std::string_view tenant_id,
                                            std::vector<Role> roles, int64_t now_us, int64_t expires_at_us) {
  if (subject.empty() || subject.size() > kMaxSubjectBytes) {
    return auth_fail(AuthErrorCode::invalid_argument, "subject must be 1..256 bytes");
  }
  if (tenant_id.size() > kMaxTenantIdBytes) {
    return auth_fail(AuthErrorCode::invalid_argument, "tenant id longer than 256 bytes");
  }
  std::sort(roles.begin(), roles.end());
  roles.erase(std::unique(roles.begin(), roles.end()), roles.end());
  if (roles.empty()) return auth_fail(AuthErrorCode::invalid_argument, "a key needs at least one role");
  if (auto conflict = role_conflicting_with_tenant(roles, tenant_id)) {
    return auth_fail(AuthErrorCode::invalid_argument,
                     std::string("role ") + to_string(*conflict) +
                         (tenant_id.empty() ? " needs a tenant" : " cannot be bound to a tenant"));
  }
  if (expires_at_us != 0 && expires_at_us <= now_us) {
    return auth_fail(AuthErrorCode::invalid_argument, "expiry is not in the future");
  }

  auto key_id_raw = random_bytes(kKeyIdBytes);
  auto secret = random_bytes(kSecretBytes);
  auto salt = random_bytes(kSaltBytes);
  for (const auto* drawn : {&key_id_raw, &secret, &salt}) {
    if (!*drawn) return std::unexpected(drawn->error());
  }
  // The hash covers the hex form, the exact bytes a client presents back.
  const std::string secret_hex = to_hex(*secret);
  auto hash = salted_hash(*salt, secret_hex);
  if (!hash) return std::unexpected(hash.error());

  ApiKeyRecord record;
  record.key_id = to_hex(*key_id_raw);
  record.subject = std::string(subject);
  record.tenant_id = std::string(tenant_id);
  record.roles = std::move(roles);
  record.salt = std::move(*salt);
  record.secret_hash = std::move(*hash);
  record.created_at_us = now_us;
  record.expires_at_us = expires_at_us;
  // 96 random bits make a collision practically impossible; refusing one anyway means
  // an existing key can never be overwritten.
  auto existing = store_.get(record.key_id);
  if (!existing) return std::unexpected(existing.error());
  if (*existing) return auth_fail(AuthErrorCode::internal, "key id collision");
  if (auto stored = store_.put(record); !stored) return std::unexpected(stored.error());
  return IssuedKey{record.key_id, std::string(kPrefix) + record.key_id + "_" + secret_hex};
}

AuthResult<Principal> ApiKeyRegistry::verify(std::string_view presented, int64_t now_us) const {
  auto parsed = parse_presented(presented);
  if (!parsed) return auth_fail(AuthErrorCode::malformed_api_key, "not of the form tnt_<key id>_<secret>");
  auto found = store_.get(parsed->key_id);
  if (!found) return std::unexpected(found.error());
  if (!*found) return auth_fail(AuthErrorCode::invalid_api_key, "unknown key or wrong secret");
  const ApiKeyRecord& record = **found;
  auto hash = salted_hash(record.salt, parsed->secret_hex);
  if (!hash) return std::unexpected(hash.error());
  // Constant time, so response timing does not reveal how much of the hash matched.
  if (record.secret_hash.size() != kSha256Bytes ||
      CRYPTO_memcmp(hash->data(), record.secret_hash.data(), kSha256Bytes) != 0) {
    return auth_fail(AuthErrorCode::invalid_api_key, "unknown key or wrong secret");
  }
  if (record.revoked_at_us != 0) {
    return auth_fail(AuthErrorCode::revoked_api_key, "key revoked");
  }
  if (record.expires_at_us != 0 && now_us >= record.expires_at_us) {
    return auth_fail(AuthErrorCode::expired_api_key, "key expired");
  }
  return Principal{record.subject, record.tenant_id, record.roles, "api_key", record.key_id, record.expires_at_us};
}

AuthResult<void> ApiKeyRegistry::revoke(std::string_view key_id, int64_t now_us) {
  auto found = store_.get(key_id);
  if (!found) return std::unexpected(found.error());
  if (!*found) return auth_fail(AuthErrorCode::not_found, "no such API key");
  ApiKeyRecord record = std::move(**found);
  if (record.revoked_at_us != 0) return {};
  record.revoked_at_us = now_us;
  return store_.put(record);
}

AuthResult<std::optional<ApiKeyInfo>> ApiKeyRegistry::find(std::string_view key_id) const {
  auto found = store_.get(key_id);
  if (!found) return std::unexpected(found.error());
  if (!*found) return std::optional<ApiKeyInfo>{};
  return std::optional<ApiKeyInfo>{info_of(**found)};
}

bool ApiKeyRegistry::well_formed_key_id(std::string_view key_id) {
  return key_id.size() == kKeyIdHexChars && is_lower_hex(key_id);
}

AuthResult<std::vector<ApiKeyInfo>> ApiKeyRegistry::list(std::string_view tenant_id) const {
  auto records = store_.list(tenant_id);
  if (!records) return std::unexpected(records.error());
  std::vector<ApiKeyInfo> out;
  out.reserve(records->size());
  for (const ApiKeyRecord& record : *records) out.push_back(info_of(record));
  return out;
}

}  // namespace tenantry::http::auth
