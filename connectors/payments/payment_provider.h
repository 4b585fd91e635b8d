// The payment provider: the one interface the billing saga charges through, with its
// engines behind it (the built-in test provider, a provider reached over HTTP).
//
// Contract shared by every engine:
// - One idempotency key is one charge: the same key always yields the same outcome and
//   moves money at most once, however often it is sent, and whichever side crashed
//   in between. The caller derives the key from what it is charging (invoice and
//   attempt), never from the moment it asks.
// - An "unavailable" error means the outcome is unknown: the charge may or may not have
//   happened. The caller retries with the same key (never a new one) until it gets an
//   answer; only a new attempt of its own gets a new key.
// - An "invalid_request" error is final for that request: retrying it cannot succeed.
// - A "pending" result is settled later by the provider's result webhook (see
//   payment_webhooks.h), matched by idempotency key.
// - Errors cross this boundary as values; charge() never throws.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace tenantry::payments {

struct ChargeRequest {
  std::string idempotency_key;  // printable ASCII, no spaces, at most kMaxIdempotencyKeyBytes
  std::string tenant_id;
  std::string invoice_id;
  int64_t amount_minor = 0;     // > 0, in the currency's minor unit
  std::string currency;         // ISO 4217, three upper-case letters
  std::string payment_method;   // the provider's token for the tenant's payment method
  int attempt = 1;              // the caller's attempt number for this invoice, from 1
};

enum class ChargeStatus { succeeded, declined, pending };

struct ChargeResult {
  ChargeStatus status = ChargeStatus::pending;
  std::string payment_id;       // the provider's id of the charge
  std::string failure_code;     // declined: why, in the provider's words ("card_declined")
  std::string failure_message;
};

inline constexpr const char* kUnavailable = "unavailable";          // outcome unknown: retry with the same key
inline constexpr const char* kInvalidRequest = "invalid_request";  // final: do not retry
inline constexpr size_t kMaxIdempotencyKeyBytes = 255;

struct ProviderError {
  std::string type;  // kUnavailable or kInvalidRequest
  std::string message;
  bool retryable = false;  // true exactly for kUnavailable
};

using ChargeOutcome = std::expected<ChargeResult, ProviderError>;

class PaymentProvider {
 public:
  virtual ~PaymentProvider() = default;
  // Charges, or answers what an earlier charge with the same idempotency key did.
  virtual ChargeOutcome charge(const ChargeRequest& request) = 0;
  // A short stable name for logs and metrics ("test", "http").
  virtual std::string name() const = 0;
};

const char* to_string(ChargeStatus status);
// "succeeded", "declined", "pending"; nothing for anything else.
std::optional<ChargeStatus> parse_charge_status(std::string_view text);

// Why `request` cannot be charged by any provider ("" when it can), naming the field:
// an empty, too long or unprintable key, an empty tenant, invoice or payment method, an amount that is not positive,
// a currency that is not three upper-case letters, an attempt below 1.
std::string request_problem(const ChargeRequest& request);

ProviderError unavailable(std::string message);
ProviderError invalid_request(std::string message);

}  // namespace tenantry::payments
