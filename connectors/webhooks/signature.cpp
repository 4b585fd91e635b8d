#include "connectors/webhooks/signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <optional>
#include <string_view>

namespace tenantry::webhooks {

namespace {

constexpr size_t kMacHexChars = 64;       // SHA-256, hex
constexpr size_t kMaxTimestampDigits = 15;  // far beyond any real time, far below int64's limit

struct ParsedHeader {
  int64_t timestamp_s = 0;
  std::vector<std::string> macs;  // lower-case hex, kMacHexChars each
};

std::string_view trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

std::optional<int64_t> canonical_seconds(std::string_view text) {
  if (text.empty() || text.size() > kMaxTimestampDigits || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

std::optional<std::string> hex_mac(std::string_view text) {
  if (text.size() != kMacHexChars) return std::nullopt;
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  return out;
}

// Strict on what the scheme defines (one canonical t, v1 values of 64 hex digits, at
// most kMaxSignaturesPerHeader of them); other keys are passed over, so a sender may
// add a future scheme beside v1.
std::optional<ParsedHeader> parse(const std::string& header) {
  if (header.empty() || header.size() > kMaxSignatureHeaderBytes) return std::nullopt;
  ParsedHeader parsed;
  bool have_timestamp = false;
  std::string_view rest(header);
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view item = trim(rest.substr(0, comma));
    const size_t equals = item.find('=');
    if (equals == std::string_view::npos) return std::nullopt;
    const std::string_view key = item.substr(0, equals);
    const std::string_view value = item.substr(equals + 1);
    if (key == "t") {
      auto seconds = canonical_seconds(value);
      if (have_timestamp || !seconds) return std::nullopt;
      parsed.timestamp_s = *seconds;
      have_timestamp = true;
    } else if (key == "v1") {
      auto mac = hex_mac(value);
      if (!mac || parsed.macs.size() == kMaxSignaturesPerHeader) return std::nullopt;
      parsed.macs.push_back(std::move(*mac));
    } else if (key.empty()) {
      return std::nullopt;
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (!have_timestamp || parsed.macs.empty()) return std::nullopt;
  return parsed;
}

}  // namespace

std::string signature(const std::string& secret, int64_t timestamp_s, const std::string& body) {
  const std::string message = std::to_string(timestamp_s) + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), mac, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 15];
  }
  return out;
}

std::string signature_header(const std::vector<std::string>& secrets, int64_t timestamp_s, const std::string& body) {
  std::string header = "t=" + std::to_string(timestamp_s);
  for (const auto& secret : secrets) header += ",v1=" + signature(secret, timestamp_s, body);
  return header;
}

SignatureVerdict check_signature(const std::string& header, const std::string& body, const std::string& secret,
                                 int64_t now_s, int64_t tolerance_s) {
  const auto parsed = parse(header);
  if (!parsed) return SignatureVerdict::garbled;
  const std::string expected = signature(secret, parsed->timestamp_s, body);
  // Every value is compared in full, whichever matches, so the time taken says nothing
  // about how much of a forged value was right.
  bool matched = false;
  for (const auto& mac : parsed->macs) {
    matched |= CRYPTO_memcmp(expected.data(), mac.data(), kMacHexChars) == 0;
  }
  if (!matched) return SignatureVerdict::mismatch;
  const int64_t skew_s = now_s > parsed->timestamp_s ? now_s - parsed->timestamp_s : parsed->timestamp_s - now_s;
  if (skew_s > tolerance_s) return SignatureVerdict::stale;
  return SignatureVerdict::valid;
}

}  // namespace tenantry::webhooks
