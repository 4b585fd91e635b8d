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

// What the accepted-history rules read of an envelope: views into its stored bytes,
// valid as long as they are. Empty or 0 where the envelope does not set a field.
struct EnvelopeFields {
  std::string_view tenant_id;
  uint64_t sequence = 0;
  uint64_t writer_epoch = 0;
  std::string_view previous_hash;
  std::string_view hash;
};

// Opens stored bytes without building the message: the same verdict as
// open_envelope (not an envelope, then no hash trailer, then a hash that does not
// match) and, when it opens, the fields as protobuf would have parsed them, for a
// walk over a whole log that needs nothing else (nothing is allocated or copied).
//
// "Not an envelope" is decided as protobuf 3's parser decides it for EventEnvelope:
// every byte well-formed wire format up to the end (tags of at most 5 bytes, varints
// of at most 10, lengths inside the enclosing message, groups closed by their own
// number, 100 levels of nesting at most), and valid UTF-8 in the string fields of the
// envelope and of its Actor; a known field with another wire type is an unknown
// field, and the last occurrence of a field wins. Tested against protobuf's own
// parser on mutated and generated envelopes (tests/log/envelope_fields_test.cpp),
// which also holds this to the schema: a new string field must be added here.
std::expected<EnvelopeFields, OpenError> open_envelope_fields(std::string_view stored);

// Parses stored bytes and checks the hash trailer (open_envelope_fields, then the
// message itself).
// The same, into a message the caller keeps (and reuses across records).
std::expected<void, OpenError> open_envelope_into(std::string_view stored, v1::EventEnvelope& envelope);
std::expected<v1::EventEnvelope, OpenError> open_envelope(std::string_view stored);

// A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version 7, 74 random bits.
std::string make_uuid_v7(int64_t unix_ms, std::mt19937_64& random);

}  // namespace tenantry::log
