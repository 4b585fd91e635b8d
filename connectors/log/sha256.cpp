// The one file that uses OpenSSL's low-level SHA-256 (see sha256.h for why).
#define OPENSSL_SUPPRESS_DEPRECATED
#include "connectors/log/sha256.h"

#include <openssl/sha.h>

namespace tenantry::log {

Sha256Digest sha256_of(std::initializer_list<std::string_view> parts) {
  SHA256_CTX context;
  SHA256_Init(&context);
  for (const std::string_view part : parts) SHA256_Update(&context, part.data(), part.size());
  Sha256Digest digest;
  SHA256_Final(digest.data(), &context);
  return digest;
}

}  // namespace tenantry::log
