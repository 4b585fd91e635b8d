// The provider's result webhooks: how a charge answered "pending" (or one whose answer
// was lost) is settled. The provider POSTs a JSON body signed with the shared secret
// in the Tenantry-Signature scheme (connectors/webhooks/signature.h):
//   {"event_id", "type": "payment.succeeded"|"payment.declined", "idempotency_key",
//    "tenant_id", "invoice_id", "amount_minor", "currency", "payment_id",
//    "failure_code", "failure_message"}
// payment_id is required for payment.succeeded, failure_code for payment.declined.
// A provider may deliver the same event more than once: duplicates are dropped
// downstream (the billing aggregate) by event_id and idempotency_key.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <vector>

namespace tenantry::payments {

inline constexpr const char* kPaymentSucceeded = "payment.succeeded";
inline constexpr const char* kPaymentDeclined = "payment.declined";
inline constexpr size_t kMaxWebhookBodyBytes = 64 * 1024;
inline constexpr int64_t kDefaultWebhookToleranceS = 300;

struct PaymentWebhook {
  std::string event_id;
  std::string type;  // kPaymentSucceeded or kPaymentDeclined
  std::string idempotency_key;
  std::string tenant_id;
  std::string invoice_id;
  int64_t amount_minor = 0;
  std::string currency;
  std::string payment_id;
  std::string failure_code;
  std::string failure_message;
};

struct WebhookError {
  std::string type;     // "invalid_signature", "stale_signature" or "malformed_webhook"
  std::string message;
  std::string field;    // the JSON field at fault, when one is
};

// Refuses a body over kMaxWebhookBodyBytes (malformed), then verifies the signature
// over the exact body bytes (any v1 value made with `secret`, compared in constant
// time; t within `tolerance_s` of `now_s` either way), then parses the body. Nothing is
// parsed before the signature holds.
std::expected<PaymentWebhook, WebhookError> verify_payment_webhook(const std::string& signature_header,
                                                                  const std::string& body, const std::string& secret,
                                                                  int64_t now_s,
                                                                  int64_t tolerance_s = kDefaultWebhookToleranceS);

// The JSON body of `webhook` (what a provider, or a simulator of one, sends).
std::string encode_payment_webhook(const PaymentWebhook& webhook);

// The Tenantry-Signature header value for `body` at `now_s`, one v1 per secret (several
// while a key is rotated).
std::string sign_payment_webhook(const std::string& body, const std::vector<std::string>& secrets, int64_t now_s);

}  // namespace tenantry::payments
