// Who is calling: the outcome of authentication, whatever the credential was.
// Also the error every authenticator returns, so the gateway maps one type to HTTP.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tenantry::http::auth {

// `operator` is a C++ keyword, hence the trailing underscore; its wire name is "operator".
enum class Role { platform_admin, operator_, tenant_admin, tenant_member, analyst, auditor };

inline constexpr std::array<std::pair<Role, const char*>, 6> kRoleNames = {{
    {Role::platform_admin, "platform_admin"},
    {Role::operator_, "operator"},
    {Role::tenant_admin, "tenant_admin"},
    {Role::tenant_member, "tenant_member"},
    {Role::analyst, "analyst"},
    {Role::auditor, "auditor"},
}};

// Exact, case-sensitive: role names are identifiers, not prose.
inline std::optional<Role> role_from_string(std::string_view name) {
  for (const auto& [role, text] : kRoleNames) {
    if (name == text) return role;
  }
  return std::nullopt;
}

inline const char* to_string(Role role) {
  for (const auto& [candidate, text] : kRoleNames) {
    if (candidate == role) return text;
  }
  return "unknown";
}

// Which roles need a tenant and which forbid one. tenant_admin and tenant_member act
// inside one tenant, so they are meaningless without it; platform_admin and operator act
// across tenants, so binding them to one would be a contradiction. analyst and auditor
// exist at both levels (one tenant's analyst, or the platform's auditor).
inline bool role_requires_tenant(Role role) {
  return role == Role::tenant_admin || role == Role::tenant_member;
}
inline bool role_forbids_tenant(Role role) {
  return role == Role::platform_admin || role == Role::operator_;
}

// The first role that cannot be held with this tenant binding, if any.
inline std::optional<Role> role_conflicting_with_tenant(const std::vector<Role>& roles,
                                                        std::string_view tenant_id) {
  for (Role role : roles) {
    if (tenant_id.empty() && role_requires_tenant(role)) return role;
    if (!tenant_id.empty() && role_forbids_tenant(role)) return role;
  }
  return std::nullopt;
}

struct Principal {
  std::string subject;
  std::string tenant_id;   // empty: a platform principal, bound to no tenant
  std::vector<Role> roles;  // at least one, no duplicates
  std::string credential;  // "jwt" | "api_key"
  std::string key_id;      // JWT: the kid that verified it (empty for HS256); API key: its id
  int64_t expires_at_us = 0;  // 0: does not expire (API keys issued without expiry)

  bool has(Role role) const { return std::find(roles.begin(), roles.end(), role) != roles.end(); }
  bool is_platform() const { return tenant_id.empty(); }
};

enum class AuthErrorCode {
  // JWT
  invalid_token,          // malformed, bad signature, missing or ill-typed claims
  expired_token,
  token_not_yet_valid,    // nbf (or iat) in the future beyond the leeway
  wrong_issuer,
  wrong_audience,
  unsupported_algorithm,  // none, unknown, not configured, or not matching the key
  unknown_key,            // no JWKS key for the kid (or no kid and not exactly one key)
  // API keys
  malformed_api_key,
  invalid_api_key,        // unknown key id or wrong secret: one answer, so neither is revealed
  revoked_api_key,
  expired_api_key,
  // Administration and wiring
  invalid_argument,
  not_found,
  invalid_configuration,
  storage,
  internal,               // the crypto library failed (e.g. no randomness)
};

inline const char* to_string(AuthErrorCode code) {
  switch (code) {
    case AuthErrorCode::invalid_token: return "invalid_token";
    case AuthErrorCode::expired_token: return "expired_token";
    case AuthErrorCode::token_not_yet_valid: return "token_not_yet_valid";
    case AuthErrorCode::wrong_issuer: return "wrong_issuer";
    case AuthErrorCode::wrong_audience: return "wrong_audience";
    case AuthErrorCode::unsupported_algorithm: return "unsupported_algorithm";
    case AuthErrorCode::unknown_key: return "unknown_key";
    case AuthErrorCode::malformed_api_key: return "malformed_api_key";
    case AuthErrorCode::invalid_api_key: return "invalid_api_key";
    case AuthErrorCode::revoked_api_key: return "revoked_api_key";
    case AuthErrorCode::expired_api_key: return "expired_api_key";
    case AuthErrorCode::invalid_argument: return "invalid_argument";
    case AuthErrorCode::not_found: return "not_found";
    case AuthErrorCode::invalid_configuration: return "invalid_configuration";
    case AuthErrorCode::storage: return "storage";
    case AuthErrorCode::internal: return "internal";
  }
  return "unknown";
}

struct AuthError {
  AuthErrorCode code;
  std::string message;  // for logs; may name the failing check, never secrets
  const char* type() const { return to_string(code); }
};

template <class T>
using AuthResult = std::expected<T, AuthError>;

inline std::unexpected<AuthError> auth_fail(AuthErrorCode code, std::string message) {
  return std::unexpected(AuthError{code, std::move(message)});
}

}  // namespace tenantry::http::auth
