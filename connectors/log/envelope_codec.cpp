#include "connectors/log/envelope_codec.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <openssl/evp.h>

#include <cstdio>
#include <cstring>
#include <memory>

namespace tenantry::log {

namespace {
constexpr unsigned char kHashTag = (15 << 3) | 2;  // field 15, length-delimited
}

std::string sha256(std::string_view bytes) {
  // OpenSSL 3's one-shot SHA256() looks the algorithm up on every call, which costs
  // more than hashing an envelope; fetch it once and keep a context per thread.
  static EVP_MD* const algorithm = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  std::string digest(kSha256Bytes, '\0');
  unsigned int length = 0;
  EVP_DigestInit_ex(context.get(), algorithm, nullptr);
  EVP_DigestUpdate(context.get(), bytes.data(), bytes.size());
  EVP_DigestFinal_ex(context.get(), reinterpret_cast<unsigned char*>(digest.data()), &length);
  return digest;
}

std::string seal_envelope(v1::EventEnvelope& envelope) {
  envelope.clear_hash();
  std::string stored;
  {
    google::protobuf::io::StringOutputStream raw(&stored);
    google::protobuf::io::CodedOutputStream coded(&raw);
    coded.SetSerializationDeterministic(true);
    envelope.SerializeToCodedStream(&coded);
  }
  std::string digest = sha256(stored);
  stored.reserve(stored.size() + kHashTrailerBytes);
  stored.push_back(static_cast<char>(kHashTag));
  stored.push_back(static_cast<char>(kSha256Bytes));
  stored += digest;
  envelope.set_hash(std::move(digest));
  return stored;
}

std::expected<void, OpenError> open_envelope_into(std::string_view stored, v1::EventEnvelope& envelope) {
  // Parsed into the caller's message: its string fields keep their storage from the
  // last record, so a reader opening envelope after envelope allocates little.
  if (!envelope.ParseFromArray(stored.data(), static_cast<int>(stored.size()))) {
    return std::unexpected(OpenError{OpenFailure::not_an_envelope, "value is not a protobuf EventEnvelope"});
  }
  if (stored.size() < kHashTrailerBytes ||
      static_cast<unsigned char>(stored[stored.size() - kHashTrailerBytes]) != kHashTag ||
      static_cast<unsigned char>(stored[stored.size() - kHashTrailerBytes + 1]) != kSha256Bytes) {
    return std::unexpected(OpenError{OpenFailure::missing_hash, "hash field is not the last 34 bytes"});
  }
  const std::string_view body = stored.substr(0, stored.size() - kHashTrailerBytes);
  static EVP_MD* const algorithm = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  unsigned char digest[kSha256Bytes];
  unsigned int length = 0;
  EVP_DigestInit_ex(context.get(), algorithm, nullptr);
  EVP_DigestUpdate(context.get(), body.data(), body.size());
  EVP_DigestFinal_ex(context.get(), digest, &length);
  if (envelope.hash().size() != kSha256Bytes || std::memcmp(envelope.hash().data(), digest, kSha256Bytes) != 0) {
    return std::unexpected(OpenError{OpenFailure::hash_mismatch, "SHA-256 of the stored bytes does not match the hash field"});
  }
  return {};
}

std::expected<v1::EventEnvelope, OpenError> open_envelope(std::string_view stored) {
  v1::EventEnvelope envelope;
  if (auto opened = open_envelope_into(stored, envelope); !opened) return std::unexpected(opened.error());
  return envelope;
}

std::string make_uuid_v7(int64_t unix_ms, std::mt19937_64& random) {
  uint64_t high = (static_cast<uint64_t>(unix_ms) & 0xFFFFFFFFFFFFull) << 16;
  high |= 0x7000 | (random() & 0x0FFF);
  uint64_t low = (random() & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;
  char text[37];
  std::snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(high >> 32), static_cast<unsigned>((high >> 16) & 0xFFFF),
                static_cast<unsigned>(high & 0xFFFF), static_cast<unsigned>(low >> 48),
                static_cast<unsigned long long>(low & 0xFFFFFFFFFFFFull));
  return text;
}

}  // namespace tenantry::log
