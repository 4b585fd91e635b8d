// The platform's checkpoint signing key for `tenantry serve`: the configured PEM
// file, or, when none is configured, <data-dir>/audit/signing-key.pem, created with a
// new Ed25519 key (mode 0600, the public key beside it) the first time.
#pragma once

#include <expected>
#include <string>

#include "app/config.h"
#include "audit/checkpoint.h"

namespace tenantry::app {

struct SigningKey {
  audit::PrivateKey key;
  std::string path;
  bool created = false;
};

// Errors name the file and what is wrong; `configured` tells a bad option (exit 2)
// from a failure on the default path.
struct SigningKeyError {
  std::string message;
  bool configured = false;
};

std::expected<SigningKey, SigningKeyError> load_or_create_signing_key(const Config& config);

}  // namespace tenantry::app
