#include "audit/checkpoint.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <charconv>
#include <vector>

#include "connectors/log/envelope_codec.h"

namespace tenantry::audit {

namespace {

constexpr std::string_view kOriginPrefix = "tenantry/";
constexpr std::string_view kTimestampKey = "timestamp_us ";
constexpr std::string_view kEmDash = "\xE2\x80\x94 ";
constexpr unsigned char kEd25519SignatureType = 0x01;
constexpr size_t kKeyIdBytes = 4;
constexpr size_t kSignatureBytes = 64;
constexpr size_t kMaxCheckpointBytes = 64 * 1024;

std::unexpected<AuditError> refuse(std::string message) { return std::unexpected(AuditError{std::move(message)}); }

std::shared_ptr<evp_pkey_st> own(EVP_PKEY* key) { return {key, &EVP_PKEY_free}; }

std::string read_bio(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  return length > 0 ? std::string(data, static_cast<size_t>(length)) : std::string();
}

// Refuses a passphrase: keys are read without ever prompting on a terminal.
int no_passphrase(char*, int, int, void*) { return 0; }

bool is_ed25519(EVP_PKEY* key) { return key != nullptr && EVP_PKEY_get_id(key) == EVP_PKEY_ED25519; }

bool valid_topic(std::string_view topic) {
  if (topic.empty() || topic.size() > 249) return false;
  for (char c : topic) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool valid_key_name(std::string_view name) {
  if (name.empty() || name.size() > 256) return false;
  for (char c : name) {
    if (c <= ' ' || c > '~' || c == '+') return false;
  }
  return true;
}

// Decimal without sign or leading zeros (canonical, so one checkpoint has one text).
template <class T>
std::optional<T> parse_decimal(std::string_view text) {
  if (text.empty() || (text.size() > 1 && text[0] == '0') || text[0] == '-' || text[0] == '+') return std::nullopt;
  T value{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string key_id(std::string_view name, const PublicKey& key) {
  std::string material(name);
  material += '\n';
  material += static_cast<char>(kEd25519SignatureType);
  material += key.raw();
  return log::sha256(material).substr(0, kKeyIdBytes);
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const auto end = text.find('\n');
    lines.push_back(text.substr(0, end));
    text.remove_prefix(end + 1);
  }
  return lines;
}

AuditResult<Checkpoint> parse_body(std::string_view body) {
  auto lines = split_lines(body);
  if (lines.size() != 4) {
    return refuse("checkpoint body has " + std::to_string(lines.size()) +
                  " lines; expected 4 (origin, tree size, root hash, timestamp_us)");
  }
  Checkpoint checkpoint;
  std::string_view origin = lines[0];
  if (!origin.starts_with(kOriginPrefix)) return refuse("line 1: origin does not start with 'tenantry/'");
  origin.remove_prefix(kOriginPrefix.size());
  const auto slash = origin.rfind('/');
  if (slash == std::string_view::npos) return refuse("line 1: origin is not tenantry/<topic>/<partition>");
  if (!valid_topic(origin.substr(0, slash))) return refuse("line 1: origin names no valid topic");
  checkpoint.topic = std::string(origin.substr(0, slash));
  auto partition = parse_decimal<int32_t>(origin.substr(slash + 1));
  if (!partition) return refuse("line 1: origin's partition is not a non-negative decimal number");
  checkpoint.partition = *partition;
  auto size = parse_decimal<uint64_t>(lines[1]);
  if (!size || *size > static_cast<uint64_t>(INT64_MAX)) return refuse("line 2: tree size is not a decimal number");
  checkpoint.tree_size = *size;
  auto root = base64_decode(lines[2]);
  if (!root || root->size() != kHashBytes) return refuse("line 3: root hash is not base64 of 32 bytes");
  std::copy(root->begin(), root->end(), checkpoint.root.begin());
  if (!lines[3].starts_with(kTimestampKey)) return refuse("line 4: expected 'timestamp_us <microseconds>'");
  auto timestamp = parse_decimal<int64_t>(lines[3].substr(kTimestampKey.size()));
  if (!timestamp) return refuse("line 4: timestamp_us is not a non-negative decimal number");
  checkpoint.timestamp_us = *timestamp;
  return checkpoint;
}

}  // namespace

AuditResult<PublicKey> PublicKey::from_pem(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (!bio) return refuse("out of memory reading a public key");
  auto key = own(PEM_read_bio_PUBKEY(bio.get(), nullptr, &no_passphrase, nullptr));
  if (!key) return refuse("not a PEM public key (expected -----BEGIN PUBLIC KEY-----)");
  if (!is_ed25519(key.get())) return refuse("the public key is not an Ed25519 key");
  return PublicKey(std::move(key));
}

std::string PublicKey::pem() const {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) return {};
  return read_bio(bio.get());
}

std::string PublicKey::raw() const {
  std::string raw(32, '\0');
  size_t length = raw.size();
  if (EVP_PKEY_get_raw_public_key(key_.get(), reinterpret_cast<unsigned char*>(raw.data()), &length) != 1) return {};
  raw.resize(length);
  return raw;
}

bool PublicKey::verify(std::string_view message, std::string_view signature) const {
  if (signature.size() != kSignatureBytes) return false;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!context || EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, key_.get()) != 1) return false;
  return EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
}

AuditResult<PrivateKey> PrivateKey::generate() {
  auto key = own(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return refuse("cannot generate an Ed25519 key");
  return PrivateKey(std::move(key));
}

AuditResult<PrivateKey> PrivateKey::from_pem(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (!bio) return refuse("out of memory reading a private key");
  auto key = own(PEM_read_bio_PrivateKey(bio.get(), nullptr, &no_passphrase, nullptr));
  if (!key) return refuse("not an unencrypted PEM private key (expected -----BEGIN PRIVATE KEY-----)");
  if (!is_ed25519(key.get())) return refuse("the private key is not an Ed25519 key");
  return PrivateKey(std::move(key));
}

std::string PrivateKey::pem() const {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) return {};
  return read_bio(bio.get());
}

PublicKey PrivateKey::public_key() const { return PublicKey(key_); }

std::string PrivateKey::sign(std::string_view message) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!context || EVP_DigestSignInit(context.get(), nullptr, nullptr, nullptr, key_.get()) != 1) return {};
  std::string signature(kSignatureBytes, '\0');
  size_t length = signature.size();
  if (EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    return {};
  }
  signature.resize(length);
  return signature;
}

std::string checkpoint_body(const Checkpoint& checkpoint) {
  const std::string_view root(reinterpret_cast<const char*>(checkpoint.root.data()), checkpoint.root.size());
  return std::string(kOriginPrefix) + checkpoint.topic + "/" + std::to_string(checkpoint.partition) + "\n" +
         std::to_string(checkpoint.tree_size) + "\n" + base64_encode(root) + "\n" + std::string(kTimestampKey) +
         std::to_string(checkpoint.timestamp_us) + "\n";
}

AuditResult<std::string> sign_checkpoint(const Checkpoint& checkpoint, const PrivateKey& key,
                                         std::string_view key_name) {
  if (!valid_key_name(key_name)) return refuse("key name must be printable ASCII without spaces or '+'");
  if (!valid_topic(checkpoint.topic)) return refuse("checkpoint topic '" + checkpoint.topic + "' is not a valid topic name");
  if (checkpoint.partition < 0 || checkpoint.timestamp_us < 0 ||
      checkpoint.tree_size > static_cast<uint64_t>(INT64_MAX)) {
    return refuse("checkpoint partition, tree size and timestamp must be non-negative");
  }
  const std::string body = checkpoint_body(checkpoint);
  const std::string signature = key.sign(body);
  if (signature.size() != kSignatureBytes) return refuse("signing the checkpoint failed");
  return body + "\n" + std::string(kEmDash) + std::string(key_name) + " " +
         base64_encode(key_id(key_name, key.public_key()) + signature) + "\n";
}

AuditResult<Checkpoint> verify_checkpoint(std::string_view text, const PublicKey& key) {
  if (text.size() > kMaxCheckpointBytes) return refuse("checkpoint is larger than 64 KiB");
  if (text.empty() || text.back() != '\n') return refuse("checkpoint does not end with a newline (truncated?)");
  const auto blank = text.find("\n\n");
  if (blank == std::string_view::npos) return refuse("checkpoint has no empty line between body and signatures");
  const std::string_view body = text.substr(0, blank + 1);
  auto checkpoint = parse_body(body);
  if (!checkpoint) return checkpoint;
  bool signed_by_key = false;
  for (std::string_view line : split_lines(text.substr(blank + 2))) {
    if (!line.starts_with(kEmDash)) return refuse("signature line does not start with '\xE2\x80\x94 '");
    line.remove_prefix(kEmDash.size());
    const auto space = line.find(' ');
    if (space == std::string_view::npos) return refuse("signature line is not '\xE2\x80\x94 <name> <signature>'");
    const std::string_view name = line.substr(0, space);
    auto blob = base64_decode(line.substr(space + 1));
    if (!valid_key_name(name) || !blob || blob->size() < kKeyIdBytes) {
      return refuse("signature line is not '\xE2\x80\x94 <name> <base64 signature>'");
    }
    // Lines by other keys (cosigners) are allowed; only ours must verify.
    if (blob->substr(0, kKeyIdBytes) != key_id(name, key)) continue;
    if (!key.verify(body, std::string_view(*blob).substr(kKeyIdBytes))) {
      return refuse("the signature by key '" + std::string(name) + "' does not verify: the checkpoint was altered or forged");
    }
    signed_by_key = true;
  }
  if (!signed_by_key) return refuse("the checkpoint carries no signature by the given public key");
  return checkpoint;
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = static_cast<unsigned char>(bytes[i]) << 16 | static_cast<unsigned char>(bytes[i + 1]) << 8 |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (const size_t rest = bytes.size() - i; rest > 0) {
    uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const size_t padding = last ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
    if (padding == 1 && text[i + 2] == '=') return std::nullopt;
    int digits[4] = {0, 0, 0, 0};
    for (size_t j = 0; j < 4 - padding; ++j) {
      digits[j] = value(text[i + j]);
      if (digits[j] < 0) return std::nullopt;
    }
    const uint32_t v = static_cast<uint32_t>(digits[0] << 18 | digits[1] << 12 | digits[2] << 6 | digits[3]);
    out += static_cast<char>(v >> 16);
    if (padding < 2) out += static_cast<char>((v >> 8) & 0xFF);
    if (padding < 1) out += static_cast<char>(v & 0xFF);
    // Canonical: the bits that padding drops must be zero.
    if ((padding == 1 && (v & 0xFF) != 0) || (padding == 2 && (v & 0xFFFF) != 0)) return std::nullopt;
  }
  return out;
}

}  // namespace tenantry::audit
