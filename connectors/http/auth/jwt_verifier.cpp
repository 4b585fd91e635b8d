// JWS compact verification with OpenSSL EVP; JSON by Poco (its exceptions stay here).
//
// Order matters: the header is read only to choose the algorithm and key, the signature
// is checked, and only then are the claims parsed. Keys come from configuration only:
// the header's jwk, jku and x5u members are never consulted.
#include "connectors/http/auth/jwt_verifier.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>

#include <Poco/Dynamic/Var.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <cctype>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "connectors/http/auth/jwks_fetch.h"

namespace tenantry::http::auth {
namespace {

using Poco::JSON::Object;

// ---- OpenSSL ownership -------------------------------------------------------------

struct OpenSslFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
template <class T>
using Owned = std::unique_ptr<T, OpenSslFree>;

const unsigned char* bytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

// ---- Encoding ----------------------------------------------------------------------

int base64url_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// Strict RFC 7515 base64url: no padding, no whitespace, and the unused low bits of the
// last character must be zero, so every byte string has exactly one accepted encoding.
std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t accumulator = 0;
  int bits = 0;
  for (char c : text) {
    const int value = base64url_value(c);
    if (value < 0) return std::nullopt;
    accumulator = (accumulator << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((accumulator >> bits) & 0xff));
    }
    accumulator &= (1u << bits) - 1;
  }
  if (accumulator != 0) return std::nullopt;
  return out;
}

// ---- JSON --------------------------------------------------------------------------

std::optional<Object::Ptr> parse_object(const std::string& text) {
  try {
    Poco::JSON::Parser parser;
    Poco::Dynamic::Var parsed = parser.parse(text);
    if (parsed.type() != typeid(Object::Ptr)) return std::nullopt;
    Object::Ptr object = parsed.extract<Object::Ptr>();
    if (object.isNull()) return std::nullopt;
    return object;
  } catch (const Poco::Exception&) {
    return std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// A member that must be a string when present. nullopt: absent; error: wrong type.
AuthResult<std::optional<std::string>> optional_string(const Object& object, const std::string& name,
                                                       AuthErrorCode code) {
  if (!object.has(name)) return std::optional<std::string>{};
  try {
    const Poco::Dynamic::Var value = object.get(name);
    if (!value.isString()) return auth_fail(code, "\"" + name + "\" is not a string");
    return std::optional<std::string>{value.extract<std::string>()};
  } catch (const Poco::Exception& e) {
    return auth_fail(code, "\"" + name + "\": " + e.displayText());
  }
}

// RFC 7519 NumericDate seconds, as microseconds. Bounded to years 1970..9999 so that
// adding the leeway can never overflow.
constexpr int64_t kMaxNumericDate_s = 253402300799;

AuthResult<std::optional<int64_t>> optional_numeric_date_us(const Object& object, const std::string& name) {
  if (!object.has(name)) return std::optional<int64_t>{};
  try {
    const Poco::Dynamic::Var value = object.get(name);
    if (value.isBoolean() || !value.isNumeric()) {
      return auth_fail(AuthErrorCode::invalid_token, "\"" + name + "\" is not a number");
    }
    double seconds = value.convert<double>();
    if (!std::isfinite(seconds) || seconds < 0 || seconds > static_cast<double>(kMaxNumericDate_s)) {
      return auth_fail(AuthErrorCode::invalid_token, "\"" + name + "\" is out of range");
    }
    if (value.isInteger()) return std::optional<int64_t>{value.convert<Poco::Int64>() * 1'000'000};
    return std::optional<int64_t>{static_cast<int64_t>(seconds * 1e6)};
  } catch (const Poco::Exception& e) {
    return auth_fail(AuthErrorCode::invalid_token, "\"" + name + "\": " + e.displayText());
  }
}

// ---- Keys --------------------------------------------------------------------------

enum class KeyType { rsa, ec };

struct PublicKey {
  std::string kid;
  KeyType type;
  Owned<EVP_PKEY> pkey;
};

constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 8192;  // bounds the cost of one verification
constexpr size_t kP256CoordinateBytes = 32;

std::optional<Owned<EVP_PKEY>> pkey_from_params(const char* type_name, OSSL_PARAM_BLD* builder) {
  Owned<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(builder));
  Owned<EVP_PKEY_CTX> context(EVP_PKEY_CTX_new_from_name(nullptr, type_name, nullptr));
  if (!params || !context || EVP_PKEY_fromdata_init(context.get()) <= 0) return std::nullopt;
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(context.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0) return std::nullopt;
  return Owned<EVP_PKEY>(raw);
}

AuthResult<Owned<EVP_PKEY>> rsa_key_from_jwk(const Object& jwk) {
  auto n = optional_string(jwk, "n", AuthErrorCode::invalid_configuration);
  auto e = optional_string(jwk, "e", AuthErrorCode::invalid_configuration);
  if (!n || !e) return std::unexpected(!n ? n.error() : e.error());
  if (!*n || !*e) return auth_fail(AuthErrorCode::invalid_configuration, "RSA key without n or e");
  auto modulus = base64url_decode(**n);
  auto exponent = base64url_decode(**e);
  if (!modulus || !exponent || modulus->empty() || exponent->empty()) {
    return auth_fail(AuthErrorCode::invalid_configuration, "RSA n or e is not base64url");
  }
  Owned<BIGNUM> bn_n(BN_bin2bn(bytes(*modulus), static_cast<int>(modulus->size()), nullptr));
  Owned<BIGNUM> bn_e(BN_bin2bn(bytes(*exponent), static_cast<int>(exponent->size()), nullptr));
  Owned<OSSL_PARAM_BLD> builder(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !builder || !OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) ||
      !OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get())) {
    return auth_fail(AuthErrorCode::internal, "cannot build RSA parameters");
  }
  auto pkey = pkey_from_params("RSA", builder.get());
  if (!pkey) return auth_fail(AuthErrorCode::invalid_configuration, "RSA key rejected by OpenSSL");
  const int bits = EVP_PKEY_get_bits(pkey->get());
  if (bits < kMinRsaBits || bits > kMaxRsaBits) {
    return auth_fail(AuthErrorCode::invalid_configuration,
                     "RSA modulus of " + std::to_string(bits) + " bits (2048..8192 accepted)");
  }
  return std::move(*pkey);
}

AuthResult<Owned<EVP_PKEY>> ec_key_from_jwk(const Object& jwk) {
  auto crv = optional_string(jwk, "crv", AuthErrorCode::invalid_configuration);
  auto x = optional_string(jwk, "x", AuthErrorCode::invalid_configuration);
  auto y = optional_string(jwk, "y", AuthErrorCode::invalid_configuration);
  if (!crv || !x || !y) return std::unexpected(!crv ? crv.error() : !x ? x.error() : y.error());
  if (!*crv || **crv != "P-256") return auth_fail(AuthErrorCode::invalid_configuration, "EC key is not P-256");
  if (!*x || !*y) return auth_fail(AuthErrorCode::invalid_configuration, "EC key without x or y");
  auto x_bytes = base64url_decode(**x);
  auto y_bytes = base64url_decode(**y);
  if (!x_bytes || !y_bytes || x_bytes->size() != kP256CoordinateBytes || y_bytes->size() != kP256CoordinateBytes) {
    return auth_fail(AuthErrorCode::invalid_configuration, "EC x or y is not 32 base64url bytes");
  }
  // SEC1 uncompressed point: 0x04 || x || y.
  const std::string point = std::string(1, '\x04') + *x_bytes + *y_bytes;
  Owned<OSSL_PARAM_BLD> builder(OSSL_PARAM_BLD_new());
  if (!builder ||
      !OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
      !OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size())) {
    return auth_fail(AuthErrorCode::internal, "cannot build EC parameters");
  }
  auto pkey = pkey_from_params("EC", builder.get());
  if (!pkey) return auth_fail(AuthErrorCode::invalid_configuration, "EC key rejected by OpenSSL");
  // A point off the curve would open invalid-curve attacks; make OpenSSL say it is on it.
  Owned<EVP_PKEY_CTX> check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey->get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return auth_fail(AuthErrorCode::invalid_configuration, "EC point is not on P-256");
  }
  return std::move(*pkey);
}

// The JWS alg a key of this type verifies; one each, so alg and kty must agree.
const char* alg_for(KeyType type) { return type == KeyType::rsa ? "RS256" : "ES256"; }

// nullopt: a key that is not for us (other kty, encryption use, other alg); skipped,
// as identity providers publish such keys beside their signing keys.
AuthResult<std::optional<PublicKey>> read_jwk(const Object& jwk) {
  auto kty = optional_string(jwk, "kty", AuthErrorCode::invalid_configuration);
  auto kid = optional_string(jwk, "kid", AuthErrorCode::invalid_configuration);
  auto use = optional_string(jwk, "use", AuthErrorCode::invalid_configuration);
  auto alg = optional_string(jwk, "alg", AuthErrorCode::invalid_configuration);
  for (const auto* field : {&kty, &kid, &use, &alg}) {
    if (!*field) return std::unexpected(field->error());
  }
  if (!*kty) return auth_fail(AuthErrorCode::invalid_configuration, "JWK without kty");
  std::optional<KeyType> type;
  if (**kty == "RSA") type = KeyType::rsa;
  if (**kty == "EC") type = KeyType::ec;
  if (!type) return std::optional<PublicKey>{};
  if (*use && **use != "sig") return std::optional<PublicKey>{};
  if (*alg && **alg != alg_for(*type)) return std::optional<PublicKey>{};
  if (!*kid || (*kid)->empty()) return auth_fail(AuthErrorCode::invalid_configuration, "JWK without kid");
  auto pkey = *type == KeyType::rsa ? rsa_key_from_jwk(jwk) : ec_key_from_jwk(jwk);
  if (!pkey) {
    return auth_fail(pkey.error().code, "JWK \"" + **kid + "\": " + pkey.error().message);
  }
  return std::optional<PublicKey>{PublicKey{**kid, *type, std::move(*pkey)}};
}

// A JWKS document, from a file or a URL alike. Every key must be well formed (a JWKS
// with one broken key is refused whole: half-read configuration is worse than none).
AuthResult<std::vector<PublicKey>> parse_jwks_unguarded(const std::string& text) {
  auto document = parse_object(text);
  if (!document) return auth_fail(AuthErrorCode::invalid_configuration, "JWKS is not a JSON object");
  Poco::JSON::Array::Ptr entries = (*document)->getArray("keys");
  if (entries.isNull()) return auth_fail(AuthErrorCode::invalid_configuration, "JWKS without a \"keys\" array");
  if (entries->size() > JwtVerifier::kMaxJwksKeys) {
    return auth_fail(AuthErrorCode::invalid_configuration, "JWKS with more than 64 keys");
  }
  std::vector<PublicKey> keys;
  for (size_t i = 0; i < entries->size(); ++i) {
    Object::Ptr jwk = entries->getObject(static_cast<unsigned>(i));
    if (jwk.isNull()) return auth_fail(AuthErrorCode::invalid_configuration, "JWKS entry is not an object");
    auto key = read_jwk(*jwk);
    if (!key) return std::unexpected(key.error());
    if (!*key) continue;
    for (const PublicKey& known : keys) {
      if (known.kid == (*key)->kid) {
        return auth_fail(AuthErrorCode::invalid_configuration, "duplicate kid \"" + known.kid + "\" in JWKS");
      }
    }
    keys.push_back(std::move(**key));
  }
  if (keys.empty()) return auth_fail(AuthErrorCode::invalid_configuration, "JWKS has no usable key");
  return keys;
}

AuthResult<std::vector<PublicKey>> parse_jwks(const std::string& text) {
  try {
    return parse_jwks_unguarded(text);
  } catch (const Poco::Exception& e) {
    return auth_fail(AuthErrorCode::invalid_configuration, "JWKS: " + e.displayText());
  } catch (const std::exception& e) {
    return auth_fail(AuthErrorCode::invalid_configuration, std::string("JWKS: ") + e.what());
  }
}

AuthResult<std::vector<PublicKey>> load_jwks_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return auth_fail(AuthErrorCode::invalid_configuration, "cannot open JWKS file " + path);
  std::string text(JwtVerifier::kMaxJwksFileBytes + 1, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(file.gcount()));
  if (text.size() > JwtVerifier::kMaxJwksFileBytes) {
    return auth_fail(AuthErrorCode::invalid_configuration, "JWKS file larger than 1 MiB");
  }
  return parse_jwks(text);
}

AuthResult<std::vector<PublicKey>> fetch_jwks(const JwtOptions& options) {
  auto document = fetch_jwks_document(options.jwks_url, std::chrono::milliseconds(options.jwks_fetch_timeout_ms),
                                      JwtVerifier::kMaxJwksFileBytes);
  if (!document) return std::unexpected(document.error());
  auto keys = parse_jwks(*document);
  if (!keys) return auth_fail(keys.error().code, "JWKS " + options.jwks_url + ": " + keys.error().message);
  return keys;
}

// ---- Signatures --------------------------------------------------------------------

constexpr size_t kSha256Bytes = 32;
constexpr size_t kEs256SignatureBytes = 64;  // r || s, 32 bytes each (RFC 7518 3.4)

bool hs256_matches(std::string_view secret, std::string_view signing_input, std::string_view signature) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_bytes = 0;
  if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), bytes(signing_input),
            signing_input.size(), mac, &mac_bytes)) {
    return false;
  }
  // Constant time, so the comparison does not reveal how many leading bytes matched.
  return mac_bytes == kSha256Bytes && signature.size() == kSha256Bytes &&
         CRYPTO_memcmp(mac, signature.data(), kSha256Bytes) == 0;
}

bool evp_sha256_verifies(EVP_PKEY* key, std::string_view signing_input, std::string_view der_or_raw) {
  Owned<EVP_MD_CTX> context(EVP_MD_CTX_new());
  if (!context || EVP_DigestVerifyInit(context.get(), nullptr, EVP_sha256(), nullptr, key) != 1) return false;
  return EVP_DigestVerify(context.get(), bytes(der_or_raw), der_or_raw.size(), bytes(signing_input),
                          signing_input.size()) == 1;
}

// JWS carries ECDSA signatures as raw r || s; OpenSSL verifies the DER form.
std::optional<std::string> es256_raw_to_der(std::string_view raw) {
  if (raw.size() != kEs256SignatureBytes) return std::nullopt;
  Owned<ECDSA_SIG> signature(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(bytes(raw), 32, nullptr);
  BIGNUM* s = BN_bin2bn(bytes(raw) + 32, 32, nullptr);
  if (!signature || !r || !s || ECDSA_SIG_set0(signature.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  const int der_bytes = i2d_ECDSA_SIG(signature.get(), nullptr);
  if (der_bytes <= 0) return std::nullopt;
  std::string der(static_cast<size_t>(der_bytes), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(signature.get(), &out) != der_bytes) return std::nullopt;
  return der;
}

// ---- Token pieces ------------------------------------------------------------------

struct CompactParts {
  std::string_view header_b64;
  std::string_view payload_b64;
  std::string_view signature_b64;
  std::string_view signing_input;  // header_b64 "." payload_b64
};

AuthResult<CompactParts> split_compact(std::string_view token) {
  if (token.empty()) return auth_fail(AuthErrorCode::invalid_token, "empty token");
  if (token.size() > JwtVerifier::kMaxTokenBytes) {
    return auth_fail(AuthErrorCode::invalid_token, "token longer than 8 KiB");
  }
  const size_t first = token.find('.');
  const size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return auth_fail(AuthErrorCode::invalid_token, "not three dot-separated parts");
  }
  CompactParts parts{token.substr(0, first), token.substr(first + 1, second - first - 1),
                     token.substr(second + 1), token.substr(0, second)};
  if (parts.header_b64.empty() || parts.payload_b64.empty()) {
    return auth_fail(AuthErrorCode::invalid_token, "empty header or payload");
  }
  return parts;
}

AuthResult<Object::Ptr> decode_json_segment(std::string_view b64, const char* what) {
  auto text = base64url_decode(b64);
  if (!text) return auth_fail(AuthErrorCode::invalid_token, std::string(what) + " is not base64url");
  auto object = parse_object(*text);
  if (!object) return auth_fail(AuthErrorCode::invalid_token, std::string(what) + " is not a JSON object");
  return *object;
}

struct JoseHeader {
  std::string alg;
  std::optional<std::string> kid;
};

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

AuthResult<JoseHeader> read_header(const Object& header) {
  auto alg = optional_string(header, "alg", AuthErrorCode::invalid_token);
  if (!alg) return std::unexpected(alg.error());
  if (!*alg) return auth_fail(AuthErrorCode::invalid_token, "header without alg");
  if (equals_ignoring_case(**alg, "none")) {
    return auth_fail(AuthErrorCode::unsupported_algorithm, "unsigned tokens (alg none) are refused");
  }
  if (**alg != "HS256" && **alg != "RS256" && **alg != "ES256") {
    return auth_fail(AuthErrorCode::unsupported_algorithm, "alg \"" + **alg + "\" is not accepted");
  }
  // RFC 7515 4.1.11: extensions listed in crit must be understood; none are.
  if (header.has("crit")) return auth_fail(AuthErrorCode::invalid_token, "header has crit extensions");
  auto kid = optional_string(header, "kid", AuthErrorCode::invalid_token);
  if (!kid) return std::unexpected(kid.error());
  return JoseHeader{**alg, *kid};
}

// ---- Claims ------------------------------------------------------------------------

constexpr size_t kMaxIdentifierBytes = 256;  // sub and tenant id

AuthResult<void> check_times(const Object& claims, int64_t now_us, int64_t leeway_us) {
  auto exp_us = optional_numeric_date_us(claims, "exp");
  auto nbf_us = optional_numeric_date_us(claims, "nbf");
  auto iat_us = optional_numeric_date_us(claims, "iat");
  for (const auto* field : {&exp_us, &nbf_us, &iat_us}) {
    if (!*field) return std::unexpected(field->error());
  }
  // exp is required: a bearer token that never expires cannot be contained once leaked.
  if (!*exp_us) return auth_fail(AuthErrorCode::invalid_token, "token without exp");
  if (now_us >= **exp_us + leeway_us) return auth_fail(AuthErrorCode::expired_token, "token expired");
  if (*nbf_us && now_us + leeway_us < **nbf_us) {
    return auth_fail(AuthErrorCode::token_not_yet_valid, "nbf is in the future");
  }
  if (*iat_us && now_us + leeway_us < **iat_us) {
    return auth_fail(AuthErrorCode::token_not_yet_valid, "iat is in the future");
  }
  return {};
}

AuthResult<void> check_issuer(const Object& claims, const std::string& issuer) {
  if (issuer.empty()) return {};
  auto iss = optional_string(claims, "iss", AuthErrorCode::wrong_issuer);
  if (!iss) return std::unexpected(iss.error());
  if (!*iss || **iss != issuer) return auth_fail(AuthErrorCode::wrong_issuer, "iss does not match");
  return {};
}

AuthResult<void> check_audience(const Object& claims, const std::string& audience) {
  if (audience.empty()) return {};
  try {
    if (claims.isArray("aud")) {
      Poco::JSON::Array::Ptr entries = claims.getArray("aud");
      for (size_t i = 0; i < entries->size(); ++i) {
        const Poco::Dynamic::Var entry = entries->get(static_cast<unsigned>(i));
        if (entry.isString() && entry.extract<std::string>() == audience) return {};
      }
      return auth_fail(AuthErrorCode::wrong_audience, "aud does not include the audience");
    }
  } catch (const Poco::Exception& e) {
    return auth_fail(AuthErrorCode::wrong_audience, "aud: " + e.displayText());
  }
  auto aud = optional_string(claims, "aud", AuthErrorCode::wrong_audience);
  if (!aud) return std::unexpected(aud.error());
  if (!*aud || **aud != audience) return auth_fail(AuthErrorCode::wrong_audience, "aud does not match");
  return {};
}

AuthResult<std::vector<Role>> read_roles(const Object& claims, const std::string& roles_claim) {
  if (!claims.isArray(roles_claim)) {
    return auth_fail(AuthErrorCode::invalid_token, "\"" + roles_claim + "\" is not an array");
  }
  Poco::JSON::Array::Ptr entries = claims.getArray(roles_claim);
  if (entries->size() > JwtVerifier::kMaxRoles) {
    return auth_fail(AuthErrorCode::invalid_token, "more than 32 roles");
  }
  std::vector<Role> roles;
  for (size_t i = 0; i < entries->size(); ++i) {
    const Poco::Dynamic::Var entry = entries->get(static_cast<unsigned>(i));
    if (!entry.isString()) continue;
    // Unknown names are ignored so an issuer can carry roles of other systems.
    auto role = role_from_string(entry.extract<std::string>());
    if (role && std::find(roles.begin(), roles.end(), *role) == roles.end()) roles.push_back(*role);
  }
  if (roles.empty()) return auth_fail(AuthErrorCode::invalid_token, "no known role");
  return roles;
}

AuthResult<Principal> read_principal(const Object& claims, const JwtOptions& options) {
  Principal principal;
  principal.credential = "jwt";
  auto sub = optional_string(claims, "sub", AuthErrorCode::invalid_token);
  if (!sub) return std::unexpected(sub.error());
  if (!*sub || (*sub)->empty() || (*sub)->size() > kMaxIdentifierBytes) {
    return auth_fail(AuthErrorCode::invalid_token, "sub missing, empty or longer than 256 bytes");
  }
  principal.subject = **sub;
  auto tenant = optional_string(claims, options.tenant_claim, AuthErrorCode::invalid_token);
  if (!tenant) return std::unexpected(tenant.error());
  if (*tenant) {
    if ((*tenant)->size() > kMaxIdentifierBytes) {
      return auth_fail(AuthErrorCode::invalid_token, "tenant id longer than 256 bytes");
    }
    principal.tenant_id = **tenant;
  }
  try {
    auto roles = read_roles(claims, options.roles_claim);
    if (!roles) return std::unexpected(roles.error());
    principal.roles = std::move(*roles);
  } catch (const Poco::Exception& e) {
    return auth_fail(AuthErrorCode::invalid_token, "roles: " + e.displayText());
  }
  if (auto conflict = role_conflicting_with_tenant(principal.roles, principal.tenant_id)) {
    return auth_fail(AuthErrorCode::invalid_token,
                     std::string("role ") + to_string(*conflict) +
                         (principal.tenant_id.empty() ? " needs a tenant" : " cannot be bound to a tenant"));
  }
  return principal;
}

// ---- The verifier ------------------------------------------------------------------

using KeySet = std::vector<PublicKey>;

class JwtVerifierImpl final : public JwtVerifier {
 public:
  JwtVerifierImpl(JwtOptions options, KeySet keys)
      : options_(std::move(options)), keys_(std::make_shared<const KeySet>(std::move(keys))) {
    if (!options_.jwks_url.empty()) refresher_ = std::thread([this] { refresh_periodically(); });
  }

  ~JwtVerifierImpl() override {
    {
      std::lock_guard lock(stop_mutex_);
      stopping_ = true;
    }
    stop_signal_.notify_all();
    if (refresher_.joinable()) refresher_.join();
  }

  AuthResult<Principal> verify(std::string_view token, int64_t now_us) const override {
    auto parts = split_compact(token);
    if (!parts) return std::unexpected(parts.error());
    auto header_object = decode_json_segment(parts->header_b64, "header");
    if (!header_object) return std::unexpected(header_object.error());
    auto header = read_header(**header_object);
    if (!header) return std::unexpected(header.error());
    auto signature = base64url_decode(parts->signature_b64);
    if (!signature || signature->empty()) {
      return auth_fail(AuthErrorCode::invalid_token, "signature is missing or not base64url");
    }
    auto key_id = check_signature(*header, parts->signing_input, *signature, now_us);
    if (!key_id) return std::unexpected(key_id.error());

    auto claims = decode_json_segment(parts->payload_b64, "payload");
    if (!claims) return std::unexpected(claims.error());
    if (auto times = check_times(**claims, now_us, options_.leeway_s * 1'000'000); !times) {
      return std::unexpected(times.error());
    }
    if (auto issuer = check_issuer(**claims, options_.issuer); !issuer) return std::unexpected(issuer.error());
    if (auto audience = check_audience(**claims, options_.audience); !audience) {
      return std::unexpected(audience.error());
    }
    auto principal = read_principal(**claims, options_);
    if (!principal) return principal;
    principal->key_id = std::move(*key_id);
    // check_times succeeded, so exp is present and in range.
    principal->expires_at_us = optional_numeric_date_us(**claims, "exp")->value();
    return principal;
  }

 private:
  std::shared_ptr<const KeySet> current_keys() const {
    std::shared_lock lock(keys_mutex_);
    return keys_;
  }

  // The key id that verified the token (empty for HS256).
  AuthResult<std::string> check_signature(const JoseHeader& header, std::string_view signing_input,
                                          std::string_view signature, int64_t now_us) const {
    if (header.alg == "HS256") {
      // Only the configured secret is ever an HMAC key: with no secret, HS256 is off,
      // whatever public keys exist (a public key is public, so an HMAC "signed" with it
      // proves nothing).
      if (options_.hs256_secret.empty()) {
        return auth_fail(AuthErrorCode::unsupported_algorithm, "HS256 is not configured");
      }
      if (!hs256_matches(options_.hs256_secret, signing_input, signature)) {
        return auth_fail(AuthErrorCode::invalid_token, "bad signature");
      }
      return std::string{};
    }
    const KeyType wanted = header.alg == "RS256" ? KeyType::rsa : KeyType::ec;
    // Held for the whole check: a refresh swaps the set, never changes it in place.
    std::shared_ptr<const KeySet> keys = current_keys();
    auto key = select_key(*keys, header.kid, wanted);
    // An issuer that rotates publishes the new key before signing with it: a kid we do
    // not know may be one we have not fetched yet.
    if (!key && key.error().code == AuthErrorCode::unknown_key && header.kid && refresh_for_unknown_kid(now_us)) {
      keys = current_keys();
      key = select_key(*keys, header.kid, wanted);
    }
    if (!key) return std::unexpected(key.error());
    if ((*key)->type != wanted) {
      return auth_fail(AuthErrorCode::unsupported_algorithm,
                       "alg " + header.alg + " does not fit key \"" + (*key)->kid + "\"");
    }
    bool verified = false;
    if (wanted == KeyType::rsa) {
      verified = evp_sha256_verifies((*key)->pkey.get(), signing_input, signature);
    } else if (auto der = es256_raw_to_der(signature)) {
      verified = evp_sha256_verifies((*key)->pkey.get(), signing_input, *der);
    }
    if (!verified) return auth_fail(AuthErrorCode::invalid_token, "bad signature");
    return (*key)->kid;
  }

  // By kid when the token names one; otherwise the only key of the wanted type, since
  // guessing among several would make the choice depend on file order.
  static AuthResult<const PublicKey*> select_key(const KeySet& keys, const std::optional<std::string>& kid,
                                                 KeyType wanted) {
    if (kid) {
      for (const PublicKey& key : keys) {
        if (key.kid == *kid) return &key;
      }
      return auth_fail(AuthErrorCode::unknown_key, "no key with this kid");
    }
    const PublicKey* only = nullptr;
    for (const PublicKey& key : keys) {
      if (key.type != wanted) continue;
      if (only) return auth_fail(AuthErrorCode::unknown_key, "token without kid and several candidate keys");
      only = &key;
    }
    if (!only) return auth_fail(AuthErrorCode::unknown_key, "no key for this algorithm");
    return only;
  }

  // True when the keys were fetched again just now. Unknown kids cost whoever sends
  // them nothing, so they may fetch at most once per interval; requests meanwhile are
  // answered from the keys in hand.
  bool refresh_for_unknown_kid(int64_t now_us) const {
    if (options_.jwks_url.empty()) return false;
    {
      std::lock_guard lock(unknown_kid_mutex_);
      const int64_t interval_us = options_.jwks_unknown_kid_interval_s * 1'000'000;
      if (last_unknown_kid_fetch_us_ && now_us < *last_unknown_kid_fetch_us_ + interval_us &&
          now_us >= *last_unknown_kid_fetch_us_) {
        return false;
      }
      last_unknown_kid_fetch_us_ = now_us;
    }
    return refresh();
  }

  // Fetches and swaps in the document's keys; on any failure keeps the keys in hand.
  bool refresh() const {
    std::lock_guard fetching(fetch_mutex_);  // one fetch at a time, so swaps land in fetch order
    auto keys = fetch_jwks(options_);
    if (!keys) {
      if (options_.on_jwks_refresh_failure) options_.on_jwks_refresh_failure(keys.error().message);
      return false;
    }
    auto fresh = std::make_shared<const KeySet>(std::move(*keys));
    std::unique_lock lock(keys_mutex_);
    keys_ = std::move(fresh);
    return true;
  }

  void refresh_periodically() {
    const auto interval = std::chrono::seconds(options_.jwks_refresh_s);
    std::unique_lock lock(stop_mutex_);
    while (!stop_signal_.wait_for(lock, interval, [this] { return stopping_; })) {
      lock.unlock();
      refresh();
      lock.lock();
    }
  }

  const JwtOptions options_;

  mutable std::shared_mutex keys_mutex_;
  mutable std::shared_ptr<const KeySet> keys_;

  mutable std::mutex fetch_mutex_;
  mutable std::mutex unknown_kid_mutex_;
  mutable std::optional<int64_t> last_unknown_kid_fetch_us_;

  std::mutex stop_mutex_;
  std::condition_variable stop_signal_;
  bool stopping_ = false;
  std::thread refresher_;  // last: started once everything above exists
};

class RefusingJwtVerifier final : public JwtVerifier {
 public:
  AuthResult<Principal> verify(std::string_view, int64_t) const override {
    return auth_fail(AuthErrorCode::unsupported_algorithm, "no JWT key is configured: use an API key");
  }
};

constexpr size_t kMinHs256SecretBytes = 32;
constexpr int64_t kMaxLeeway_s = 300;

AuthResult<void> check_jwks_url_options(const JwtOptions& options) {
  if (!options.jwks_path.empty()) {
    return auth_fail(AuthErrorCode::invalid_configuration, "a JWKS file and a JWKS URL are exclusive");
  }
  if (options.jwks_refresh_s < 1 || options.jwks_refresh_s > 86'400) {
    return auth_fail(AuthErrorCode::invalid_configuration, "JWKS refresh interval outside 1..86400 s");
  }
  if (options.jwks_unknown_kid_interval_s < 0 || options.jwks_unknown_kid_interval_s > 3'600) {
    return auth_fail(AuthErrorCode::invalid_configuration, "JWKS unknown-kid interval outside 0..3600 s");
  }
  if (options.jwks_fetch_timeout_ms < 100 || options.jwks_fetch_timeout_ms > 60'000) {
    return auth_fail(AuthErrorCode::invalid_configuration, "JWKS fetch timeout outside 100..60000 ms");
  }
  return check_jwks_url(options.jwks_url);
}

}  // namespace

AuthResult<std::unique_ptr<JwtVerifier>> JwtVerifier::create(const JwtOptions& options) {
  if (!options.hs256_secret.empty() && options.hs256_secret.size() < kMinHs256SecretBytes) {
    return auth_fail(AuthErrorCode::invalid_configuration, "HS256 secret shorter than 32 bytes");
  }
  if (options.leeway_s < 0 || options.leeway_s > kMaxLeeway_s) {
    return auth_fail(AuthErrorCode::invalid_configuration, "leeway outside 0..300 s");
  }
  if (options.roles_claim.empty()) return auth_fail(AuthErrorCode::invalid_configuration, "empty roles claim");
  if (options.tenant_claim.empty()) return auth_fail(AuthErrorCode::invalid_configuration, "empty tenant claim");
  if (!options.jwks_url.empty()) {
    if (auto checked = check_jwks_url_options(options); !checked) return std::unexpected(checked.error());
  }
  KeySet keys;
  if (!options.jwks_path.empty()) {
    auto loaded = load_jwks_file(options.jwks_path);
    if (!loaded) return std::unexpected(loaded.error());
    keys = std::move(*loaded);
  }
  if (!options.jwks_url.empty()) {
    auto fetched = fetch_jwks(options);
    if (!fetched) return std::unexpected(fetched.error());
    keys = std::move(*fetched);
  }
  if (options.hs256_secret.empty() && keys.empty()) {
    return auth_fail(AuthErrorCode::invalid_configuration, "neither an HS256 secret nor a JWKS is configured");
  }
  return std::make_unique<JwtVerifierImpl>(options, std::move(keys));
}

std::unique_ptr<JwtVerifier> JwtVerifier::refusing_all() { return std::make_unique<RefusingJwtVerifier>(); }

}  // namespace tenantry::http::auth
