// Verifies bearer JWTs (JWS compact form) and turns them into a Principal.
//
// Accepted: HS256 with the configured secret; RS256 and ES256 (P-256) with a public key
// from a JWKS file or URL. Everything else is rejected, in particular:
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
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "connectors/http/auth/principal.h"

namespace tenantry::http::auth {

struct JwtOptions {
  std::string hs256_secret;  // empty: HS256 disabled. At least 32 bytes (RFC 7518 3.2).
  // JWKS JSON file: RSA keys (kty RSA, n, e; modulus >= 2048 bits) and EC P-256 keys
  // (kty EC, crv P-256, x, y), each with a unique kid. Keys of other types are ignored.
  std::string jwks_path;  // empty: RS256/ES256 disabled (unless jwks_url is set)
  // The same document served over https:// (or http:// to a loopback host; see
  // jwks_fetch.h). Fetched by create(); fetched again every jwks_refresh_s in the
  // background, and when a token names a kid not among the keys (at most once per
  // jwks_unknown_kid_interval_s, measured on the verify clock). A fetch that fails or
  // brings a malformed or keyless document keeps the last good keys. Exclusive with
  // jwks_path.
  std::string jwks_url;
  int64_t jwks_refresh_s = 300;               // 1..86400
  int64_t jwks_unknown_kid_interval_s = 30;   // 0..3600
  int64_t jwks_fetch_timeout_ms = 5000;       // 100..60000: connect, send and the whole body
  // Called (on the refreshing thread) with the reason when a refresh is refused, so
  // the operator hears of it; the verifier goes on with the last good keys.
  std::function<void(const std::string& reason)> on_jwks_refresh_failure;
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
  // the secret is too short, the JWKS file is unreadable or malformed, or the JWKS URL
  // cannot be fetched or serves a malformed document (the message says which).
  static AuthResult<std::unique_ptr<JwtVerifier>> create(const JwtOptions& options);
  // Accepts no token (unsupported_algorithm, "no JWT key is configured"): for a gateway
  // whose only credentials are API keys.
  static std::unique_ptr<JwtVerifier> refusing_all();

  // Stops the background refresh (waiting for a fetch in progress, at most its timeout).
  virtual ~JwtVerifier() = default;
  // Thread-safe. Reads a snapshot of the keys; with a JWKS URL, a token whose kid is
  // unknown may fetch the document on the calling thread (bounded by the fetch timeout
  // and the unknown-kid interval).
  virtual AuthResult<Principal> verify(std::string_view token, int64_t now_us) const = 0;
};

}  // namespace tenantry::http::auth
