// Verifies bearer JWTs (JWS compact form) and turns them into a Principal.
//
// Accepted: HS256 with the configured secret; RS256 and ES256 (P-256) with a public key
// from a JWKS file. Everything else is rejected, in particular:
// - alg "none" in any spelling;
// - HS256 when no secret is configured, even when a JWKS public key exists (a public key
//   is never used as an HMAC secret: the classic algorithm-confusion forgery);
// - an alg that does not fit the selected key's kty (RS256 needs RSA, ES256 needs EC);
// - tokens longer than kMaxTokenBytes, headers with "crit" (no extension is understood).
// Claims: exp required; nbf and iat honoured with the leeway; iss and aud checked when
// configured (aud may be a string or an array); sub required; the roles claim is an array
// of role names (unknown names ignored, at least one known); the tenant claim, when
// present and non-empty, binds the principal to that tenant.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "connectors/http/auth/principal.h"

namespace tenantry::http::auth {

struct JwtOptions {
  std::string hs256_secret;  // empty: HS256 disabled. At least 32 bytes (RFC 7518 3.2).
  // JWKS JSON file: RSA keys (kty RSA, n, e; modulus >= 2048 bits) and EC P-256 keys
  // (kty EC, crv P-256, x, y), each with a unique kid. Keys of other types are ignored.
  std::string jwks_path;  // empty: RS256/ES256 disabled
  std::string issuer;     // empty: iss not checked
  std::string audience;   // empty: aud not checked
  int64_t leeway_s = 30;  // clock skew tolerated on exp, nbf and iat; 0..300
  std::string tenant_claim = "tenant_id";
  std::string roles_claim = "roles";
};

class JwtVerifier {
 public:
  static constexpr size_t kMaxTokenBytes = 8 * 1024;
  static constexpr size_t kMaxJwksFileBytes = 1 << 20;
  static constexpr size_t kMaxJwksKeys = 64;
  static constexpr size_t kMaxRoles = 32;

  // Fails with invalid_configuration when neither a secret nor a usable JWKS is given,
  // the secret is too short, or the JWKS file is unreadable or malformed.
  static AuthResult<std::unique_ptr<JwtVerifier>> create(const JwtOptions& options);

  virtual ~JwtVerifier() = default;
  // Thread-safe: verification reads immutable state only.
  virtual AuthResult<Principal> verify(std::string_view token, int64_t now_us) const = 0;
};

}  // namespace tenantry::http::auth
