// Signed checkpoints: a partition's Merkle tree size and root, signed by the platform
// with Ed25519, so an auditor holding only the public key can tell whether a root
// (and every inclusion or consistency proof against it) is the one the platform
// published.
//
// Text form, in the manner of C2SP's tlog-checkpoint and signed-note (c2sp.org):
//
//   tenantry/<topic>/<partition>            origin: which log this tree is
//   <tree size>                              decimal, no leading zeros
//   <root hash>                              standard base64 (with padding) of 32 bytes
//   timestamp_us <microseconds since epoch>  when the checkpoint was made
//                                            (empty line)
//   — <key name> <base64(key id || signature)>
//
// The signed message is the body: the four lines, each ending in "\n". The signature
// line starts with U+2014 EM DASH and a space; key id is the first 4 bytes of
// SHA-256(key name || "\n" || 0x01 || 32-byte Ed25519 public key), as signed-note
// defines it, and the signature is Ed25519 over the body. Parsing is strict: any
// other shape is refused with what is wrong.
#pragma once

#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <string_view>

#include "audit/merkle.h"

struct evp_pkey_st;

namespace tenantry::audit {

struct AuditError {
  std::string message;
};
template <class T>
using AuditResult = std::expected<T, AuditError>;

class PublicKey {
 public:
  // An Ed25519 "PUBLIC KEY" PEM (SubjectPublicKeyInfo); any other key type is refused.
  static AuditResult<PublicKey> from_pem(std::string_view pem);
  std::string pem() const;
  std::string raw() const;  // the 32 key bytes
  bool verify(std::string_view message, std::string_view signature) const;

 private:
  explicit PublicKey(std::shared_ptr<evp_pkey_st> key) : key_(std::move(key)) {}
  friend class PrivateKey;
  std::shared_ptr<evp_pkey_st> key_;
};

class PrivateKey {
 public:
  static AuditResult<PrivateKey> generate();
  // An unencrypted Ed25519 "PRIVATE KEY" PEM (PKCS#8); never prompts for a passphrase.
  static AuditResult<PrivateKey> from_pem(std::string_view pem);
  std::string pem() const;
  PublicKey public_key() const;
  std::string sign(std::string_view message) const;  // 64 bytes

 private:
  explicit PrivateKey(std::shared_ptr<evp_pkey_st> key) : key_(std::move(key)) {}
  std::shared_ptr<evp_pkey_st> key_;
};

struct Checkpoint {
  std::string topic;
  int32_t partition = 0;
  uint64_t tree_size = 0;
  Hash root{};
  int64_t timestamp_us = 0;
  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

// The signed part of the text form.
std::string checkpoint_body(const Checkpoint& checkpoint);
// Body, empty line, signature line. key_name: printable ASCII, no spaces, no '+'.
AuditResult<std::string> sign_checkpoint(const Checkpoint& checkpoint, const PrivateKey& key,
                                         std::string_view key_name);
// Parses the text form and checks that a signature line by `key` verifies.
AuditResult<Checkpoint> verify_checkpoint(std::string_view text, const PublicKey& key);

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);  // strict, padded

}  // namespace tenantry::audit
