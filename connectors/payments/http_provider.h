// A payment provider reached over HTTP: each charge is one signed POST to the
// configured URL, answered synchronously.
//
// Request: POST <url>, JSON body {idempotency_key, tenant_id, invoice_id, amount_minor,
// currency, payment_method, attempt}, headers
//   Idempotency-Key: <key>
//   Tenantry-Signature: t=<unix s>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
// Answer (2xx): JSON {status: "succeeded"|"declined"|"pending", payment_id,
// failure_code, failure_message}; payment_id is required unless declined, failure_code
// when declined. The first 4 KiB of an answer are read.
//
// Errors: no answer, a timeout, 5xx, 429, any other unexpected status and a malformed
// 2xx answer are `unavailable` (retryable: the provider may have charged, so the caller
// retries with the same key); any other 4xx is `invalid_request` with the provider's
// message (a JSON "message", or "error" as text or as {message}).
#pragma once

#include <chrono>
#include <memory>

#include "connectors/clock/clock.h"
#include "connectors/payments/payment_provider.h"

namespace tenantry::payments {

struct HttpProviderOptions {
  std::string url;     // https, or plain http to a loopback host only
  std::string secret;  // the HMAC key shared with the provider
  std::chrono::milliseconds timeout{10000};  // per operation: connect, send, receive
};

// Why `options` cannot be used ("" when they can): the URL's problem, an empty secret,
// a timeout that is not positive.
std::string options_problem(const HttpProviderOptions& options);

class HttpPaymentProvider final : public PaymentProvider {
 public:
  // Refuses options with a problem. `clock` stamps signatures and must outlive the provider.
  static std::expected<std::unique_ptr<HttpPaymentProvider>, std::string> open(HttpProviderOptions options,
                                                                              const clock::Clock& clock);

  // Thread-safe: each charge is its own connection.
  ChargeOutcome charge(const ChargeRequest& request) override;
  std::string name() const override { return "http"; }

 private:
  HttpPaymentProvider(HttpProviderOptions options, const clock::Clock& clock);
  HttpProviderOptions options_;
  const clock::Clock& clock_;
};

}  // namespace tenantry::payments
