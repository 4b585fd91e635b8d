// Test-only JWT minting: keys generated per process, tokens signed with OpenSSL, so the
// verifier is checked against an independent signer rather than against itself.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <memory>
#include <stdexcept>
#include <chrono>
#include <string>
#include <string_view>

namespace tenantry::testing::jwt {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

inline std::string base64url(std::string_view raw) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= raw.size(); i += 3) {
    const uint32_t n = (uint8_t(raw[i]) << 16) | (uint8_t(raw[i + 1]) << 8) | uint8_t(raw[i + 2]);
    for (int shift : {18, 12, 6, 0}) out.push_back(kAlphabet[(n >> shift) & 63]);
  }
  if (raw.size() - i == 1) {
    const uint32_t n = uint8_t(raw[i]) << 16;
    out += {kAlphabet[(n >> 18) & 63], kAlphabet[(n >> 12) & 63]};
  } else if (raw.size() - i == 2) {
    const uint32_t n = (uint8_t(raw[i]) << 16) | (uint8_t(raw[i + 1]) << 8);
    out += {kAlphabet[(n >> 18) & 63], kAlphabet[(n >> 12) & 63], kAlphabet[(n >> 6) & 63]};
  }
  return out;
}

inline void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test crypto failed: ") + what);
}

// Generated once per process: RSA key generation costs up to a second.
inline EVP_PKEY* rsa_key() {
  static PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  require(key != nullptr, "RSA keygen");
  return key.get();
}
inline EVP_PKEY* other_rsa_key() {
  static PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  require(key != nullptr, "RSA keygen");
  return key.get();
}
inline EVP_PKEY* ec_key() {
  static PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  require(key != nullptr, "EC keygen");
  return key.get();
}

inline std::string bn_param(EVP_PKEY* key, const char* name, int pad_bytes = 0) {
  BIGNUM* bn = nullptr;
  require(EVP_PKEY_get_bn_param(key, name, &bn) == 1, name);
  std::string out(pad_bytes ? size_t(pad_bytes) : size_t(BN_num_bytes(bn)), '\0');
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  if (pad_bytes) {
    BN_bn2binpad(bn, dst, pad_bytes);
  } else {
    BN_bn2bin(bn, dst);
  }
  BN_free(bn);
  return out;
}

inline std::string rsa_jwk(EVP_PKEY* key, const std::string& kid) {
  return R"({"kty":"RSA","kid":")" + kid + R"(","use":"sig","n":")" +
         base64url(bn_param(key, OSSL_PKEY_PARAM_RSA_N)) + R"(","e":")" +
         base64url(bn_param(key, OSSL_PKEY_PARAM_RSA_E)) + R"("})";
}

inline std::string ec_jwk(EVP_PKEY* key, const std::string& kid) {
  return R"({"kty":"EC","kid":")" + kid + R"(","crv":"P-256","x":")" +
         base64url(bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, 32)) + R"(","y":")" +
         base64url(bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32)) + R"("})";
}

inline std::string public_key_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  require(bio && PEM_write_bio_PUBKEY(bio, key) == 1, "PEM");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, size_t(size));
  BIO_free(bio);
  return pem;
}

inline std::string signing_input(const std::string& header_json, const std::string& claims_json) {
  return base64url(header_json) + "." + base64url(claims_json);
}

inline std::string hs256(std::string_view secret, const std::string& header_json, const std::string& claims_json) {
  const std::string input = signing_input(header_json, claims_json);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_bytes = 0;
  require(HMAC(EVP_sha256(), secret.data(), int(secret.size()), reinterpret_cast<const unsigned char*>(input.data()),
               input.size(), mac, &mac_bytes) != nullptr,
          "HMAC");
  return input + "." + base64url(std::string_view(reinterpret_cast<const char*>(mac), mac_bytes));
}

// A Bearer token as the gateway's end-to-end tests use them: HS256, the given
// roles (a JSON array), bound to `tenant` when not empty, expiring in expires_in_s.
inline std::string bearer_hs256(std::string_view secret, const std::string& subject, const std::string& roles_json,
                                const std::string& tenant = {}, int64_t expires_in_s = 3600) {
  const int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::string claims = "{\"sub\":\"" + subject + "\",\"exp\":" + std::to_string(now_s + expires_in_s) +
                       ",\"roles\":" + roles_json;
  if (!tenant.empty()) claims += ",\"tenant_id\":\"" + tenant + "\"";
  return hs256(secret, R"({"alg":"HS256","typ":"JWT"})", claims + "}");
}

inline std::string evp_sign_sha256(EVP_PKEY* key, const std::string& input) {
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  size_t size = 0;
  require(EVP_DigestSignInit(context, nullptr, EVP_sha256(), nullptr, key) == 1, "sign init");
  require(EVP_DigestSign(context, nullptr, &size, reinterpret_cast<const unsigned char*>(input.data()),
                         input.size()) == 1,
          "sign size");
  std::string signature(size, '\0');
  require(EVP_DigestSign(context, reinterpret_cast<unsigned char*>(signature.data()), &size,
                         reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1,
          "sign");
  signature.resize(size);
  EVP_MD_CTX_free(context);
  return signature;
}

inline std::string rs256(EVP_PKEY* key, const std::string& header_json, const std::string& claims_json) {
  const std::string input = signing_input(header_json, claims_json);
  return input + "." + base64url(evp_sign_sha256(key, input));
}

// JWS wants r || s (32 bytes each); OpenSSL produces DER.
inline std::string es256(EVP_PKEY* key, const std::string& header_json, const std::string& claims_json) {
  const std::string input = signing_input(header_json, claims_json);
  const std::string der = evp_sign_sha256(key, input);
  const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* signature = d2i_ECDSA_SIG(nullptr, &cursor, long(der.size()));
  require(signature != nullptr, "DER signature");
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(signature), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(signature), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(signature);
  return input + "." + base64url(raw);
}

}  // namespace tenantry::testing::jwt
