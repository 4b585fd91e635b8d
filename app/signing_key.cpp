#include "app/signing_key.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace tenantry::app {

namespace {

// Created with O_EXCL and the final mode from the start: a private key is never
// readable by others, not even for a moment, and an existing file is never replaced.
bool create_file(const std::string& path, const std::string& text, mode_t mode, std::string& error) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    error = "cannot create " + path + ": " + std::strerror(errno);
    return false;
  }
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  const bool ok = written == text.size() && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) error = "cannot write " + path;
  return ok;
}

}  // namespace

std::expected<SigningKey, SigningKeyError> load_or_create_signing_key(const Config& config) {
  const std::string configured = config.text("audit-signing-key");
  std::string path = configured;
  if (configured.empty()) {
    const auto dir = std::filesystem::path(config.text("data-dir")) / "audit";
    path = (dir / "signing-key.pem").string();
    std::error_code code;
    if (!std::filesystem::exists(path, code)) {
      std::filesystem::create_directories(dir, code);
      if (code) return std::unexpected(SigningKeyError{"cannot create " + dir.string() + ": " + code.message()});
      auto key = audit::PrivateKey::generate();
      if (!key) return std::unexpected(SigningKeyError{key.error().message});
      std::string error;
      // The public key first: a crash between the two leaves no private key without it.
      const std::string public_path = (dir / "signing-key.pub.pem").string();
      std::filesystem::remove(public_path, code);
      if (!create_file(public_path, key->public_key().pem(), 0644, error) ||
          !create_file(path, key->pem(), 0600, error)) {
        return std::unexpected(SigningKeyError{error});
      }
      return SigningKey{std::move(*key), path, true};
    }
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(SigningKeyError{"option --audit-signing-key: cannot read " + path, !configured.empty()});
  std::ostringstream text;
  text << in.rdbuf();
  auto key = audit::PrivateKey::from_pem(text.str());
  if (!key) {
    return std::unexpected(
        SigningKeyError{"option --audit-signing-key: " + path + ": " + key.error().message, !configured.empty()});
  }
  return SigningKey{std::move(*key), path, false};
}

}  // namespace tenantry::app
