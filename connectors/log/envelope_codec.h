// Sealing and opening event envelopes: the hash rule of tenantry/v1/envelope.proto.
//
// A sealed envelope is the deterministic serialization of the envelope without its
// hash, followed by the hash field (tag 0x7A, length 0x20, 32 bytes): the SHA-256 of
// everything before it. Verification therefore works on the stored bytes alone, in
// any language, and still holds for fields or payloads a reader does not understand.
#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <random>
#include <string>
#include <string_view>

#include "tenantry/v1/envelope.pb.h"

namespace tenantry::log {

inline constexpr size_t kSha256Bytes = 32;
inline constexpr size_t kHashTrailerBytes = 2 + kSha256Bytes;

std::string sha256(std::string_view bytes);

// Serializes `envelope` (its hash field ignored), sets envelope.hash and returns the
// stored bytes.
std::string seal_envelope(v1::EventEnvelope& envelope);

enum class OpenFailure { not_an_envelope, missing_hash, hash_mismatch };

struct OpenError {
  OpenFailure failure;
  std::string detail;
};

// Parses stored bytes and checks the hash trailer.
// The same, into a message the caller keeps (and reuses across records).
std::expected<void, OpenError> open_envelope_into(std::string_view stored, v1::EventEnvelope& envelope);
std::expected<v1::EventEnvelope, OpenError> open_envelope(std::string_view stored);

// A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version 7, 74 random bits.
std::string make_uuid_v7(int64_t unix_ms, std::mt19937_64& random);

}  // namespace tenantry::log
