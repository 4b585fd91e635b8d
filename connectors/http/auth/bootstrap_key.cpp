#include "connectors/http/auth/bootstrap_key.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace tenantry::http::auth {
namespace {

bool write_all(int fd, const std::string& text) {
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    written += static_cast<size_t>(n);
  }
  return ::fsync(fd) == 0;
}

}  // namespace

AuthResult<BootstrapOutcome> bootstrap_admin_key(ApiKeyRegistry& registry, const std::string& path, int64_t now_us,
                                                 const std::string& subject) {
  auto platform_keys = registry.list("");
  if (!platform_keys) return std::unexpected(platform_keys.error());
  for (const ApiKeyInfo& key : *platform_keys) {
    const bool usable = key.revoked_at_us == 0 && (key.expires_at_us == 0 || key.expires_at_us > now_us);
    const bool admin = std::find(key.roles.begin(), key.roles.end(), Role::platform_admin) != key.roles.end();
    if (usable && admin) return BootstrapOutcome{};
  }

  // The file first: a key issued with nowhere to put it would lock the installation
  // out (it exists, so no second bootstrap, yet nobody holds it).
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return auth_fail(AuthErrorCode::invalid_configuration,
                     "cannot create " + path + " (it must not exist yet): " + std::strerror(errno));
  }
  auto issued = registry.issue(subject, "", {Role::platform_admin}, now_us);
  if (!issued) {
    ::close(fd);
    ::unlink(path.c_str());
    return std::unexpected(issued.error());
  }
  const bool written = write_all(fd, issued->secret_shown_once + "\n");
  const bool closed = ::close(fd) == 0;
  if (!written || !closed) {
    const std::string reason = std::strerror(errno);
    ::unlink(path.c_str());
    // Nobody can hold this key: revoke it so that it is not a credential lying about.
    (void)registry.revoke(issued->key_id, now_us);
    return auth_fail(AuthErrorCode::storage, "cannot write " + path + ": " + reason);
  }
  return BootstrapOutcome{true, issued->key_id};
}

}  // namespace tenantry::http::auth
