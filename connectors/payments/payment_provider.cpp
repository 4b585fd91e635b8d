#include "connectors/payments/payment_provider.h"

#include <algorithm>

namespace tenantry::payments {

const char* to_string(ChargeStatus status) {
  switch (status) {
    case ChargeStatus::succeeded: return "succeeded";
    case ChargeStatus::declined: return "declined";
    case ChargeStatus::pending: return "pending";
  }
  return "pending";
}

std::optional<ChargeStatus> parse_charge_status(std::string_view text) {
  for (auto status : {ChargeStatus::succeeded, ChargeStatus::declined, ChargeStatus::pending}) {
    if (text == to_string(status)) return status;
  }
  return std::nullopt;
}

std::string request_problem(const ChargeRequest& request) {
  if (request.idempotency_key.empty()) return "idempotency_key: required";
  if (request.idempotency_key.size() > kMaxIdempotencyKeyBytes) {
    return "idempotency_key: longer than " + std::to_string(kMaxIdempotencyKeyBytes) + " bytes";
  }
  // It travels as an HTTP header, so nothing that could end or fold one.
  if (!std::all_of(request.idempotency_key.begin(), request.idempotency_key.end(),
                   [](char c) { return c > ' ' && c < 0x7f; })) {
    return "idempotency_key: only printable ASCII without spaces";
  }
  if (request.tenant_id.empty()) return "tenant_id: required";
  if (request.invoice_id.empty()) return "invoice_id: required";
  if (request.amount_minor <= 0) return "amount_minor: must be positive, was " + std::to_string(request.amount_minor);
  const auto& currency = request.currency;
  if (currency.size() != 3 || !std::all_of(currency.begin(), currency.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    return "currency: not an ISO 4217 code: \"" + currency + "\"";
  }
  if (request.payment_method.empty()) return "payment_method: required";
  if (request.attempt < 1) return "attempt: must be 1 or more, was " + std::to_string(request.attempt);
  return "";
}

ProviderError unavailable(std::string message) { return ProviderError{kUnavailable, std::move(message), true}; }
ProviderError invalid_request(std::string message) { return ProviderError{kInvalidRequest, std::move(message), false}; }

}  // namespace tenantry::payments
