// The first platform_admin API key, for an operator with no JWT issuer yet.
//
// Issued only when no usable platform_admin API key exists (none, or all revoked or
// expired). So with the option left set, revoking every platform_admin key and
// restarting issues a new one: a break-glass path, open only to whoever controls the
// server's options and disk, who holds every secret anyway. Remove the option once
// bootstrapped if that path is not wanted.
//
// The key is written to a file created for it (mode 0600, never overwriting): that
// file is a standing platform_admin credential. The operator should move the key to
// a secret store, delete the file, and issue narrower keys with it.
//
// Two nodes started at once against an empty log may both issue one (each sees no
// platform key yet); each is a valid key written only on its own node, and either can
// revoke the other.
#pragma once

#include <cstdint>
#include <string>

#include "connectors/http/auth/api_keys.h"

namespace tenantry::http::auth {

struct BootstrapOutcome {
  bool issued = false;  // false: a usable platform_admin key existed, nothing was done
  std::string key_id;
};

// invalid_configuration when the file exists or cannot be created (nothing issued);
// storage from the store. A key whose file could not be written completely is revoked.
AuthResult<BootstrapOutcome> bootstrap_admin_key(ApiKeyRegistry& registry, const std::string& path, int64_t now_us,
                                                 const std::string& subject = "bootstrap-admin");

}  // namespace tenantry::http::auth
