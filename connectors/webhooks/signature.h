// The Tenantry-Signature scheme, shared by every signed HTTP message Tenantry sends or
// receives (alert webhooks, charges to a payment provider, the provider's result
// webhooks):
//   Tenantry-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
// A sender rotating its key signs with the old and the new secret at once
// (t=...,v1=<old>,v1=<new>); a receiver accepts the message when any v1 matches.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tenantry::webhooks {

inline constexpr const char* kSignatureHeader = "Tenantry-Signature";
inline constexpr size_t kMaxSignatureHeaderBytes = 1024;  // a header longer than this is refused
inline constexpr size_t kMaxSignaturesPerHeader = 8;      // v1 values

// HMAC-SHA256 of "<timestamp>.<body>" as lower-case hex: what a v1 value carries.
std::string signature(const std::string& secret, int64_t timestamp_s, const std::string& body);

// The whole header value: t=<timestamp>, then one v1 per secret, in the order given.
std::string signature_header(const std::vector<std::string>& secrets, int64_t timestamp_s, const std::string& body);

enum class SignatureVerdict {
  valid,
  garbled,     // missing, too long, no t or no v1, or a value that is not what the scheme says
  mismatch,    // well formed, but no v1 is the MAC of this body under this secret
  stale,       // authentic, but t is further than the tolerance from now (either way)
};

// Checks the MAC before the time, so "stale" is only ever said of an authentic message.
// Every v1 is compared in constant time.
SignatureVerdict check_signature(const std::string& header, const std::string& body, const std::string& secret,
                                 int64_t now_s, int64_t tolerance_s);

}  // namespace tenantry::webhooks
