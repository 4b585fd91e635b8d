#include "connectors/payments/payment_webhooks.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <optional>
#include <sstream>

#include "connectors/webhooks/signature.h"

namespace tenantry::payments {

namespace {

std::unexpected<WebhookError> malformed(std::string message, std::string field = {}) {
  return std::unexpected(WebhookError{"malformed_webhook", std::move(message), std::move(field)});
}

// Reads the body's fields one by one, remembering the first that is wrong.
class Fields {
 public:
  explicit Fields(const Poco::JSON::Object& object) : object_(object) {}

  std::string text(const std::string& name, bool required) {
    if (problem_) return "";
    if (!object_.has(name) || object_.isNull(name)) {
      if (required) problem_ = WebhookError{"malformed_webhook", name + " is required", name};
      return "";
    }
    const auto value = object_.get(name);
    if (!value.isString()) {
      problem_ = WebhookError{"malformed_webhook", name + " must be a string", name};
      return "";
    }
    auto out = value.convert<std::string>();
    if (required && out.empty()) problem_ = WebhookError{"malformed_webhook", name + " must not be empty", name};
    return out;
  }

  int64_t positive_integer(const std::string& name) {
    if (problem_) return 0;
    if (!object_.has(name) || object_.isNull(name)) {
      problem_ = WebhookError{"malformed_webhook", name + " is required", name};
      return 0;
    }
    const auto value = object_.get(name);
    int64_t out = 0;
    try {
      if (value.isInteger() && !value.isBoolean()) out = value.convert<int64_t>();
    } catch (const std::exception&) {
      out = 0;  // an integer beyond int64: not an amount
    }
    if (out <= 0) problem_ = WebhookError{"malformed_webhook", name + " must be a positive integer", name};
    return out;
  }

  void refuse(std::string message, std::string name) {
    if (!problem_) problem_ = WebhookError{"malformed_webhook", std::move(message), std::move(name)};
  }
  const std::optional<WebhookError>& problem() const { return problem_; }

 private:
  const Poco::JSON::Object& object_;
  std::optional<WebhookError> problem_;
};

std::expected<PaymentWebhook, WebhookError> parse(const std::string& body) {
  Poco::JSON::Object::Ptr object;
  try {
    const auto parsed = Poco::JSON::Parser().parse(body);
    if (parsed.type() == typeid(Poco::JSON::Object::Ptr)) object = parsed.extract<Poco::JSON::Object::Ptr>();
  } catch (const std::exception& e) {
    return malformed(std::string("the body is not JSON: ") + e.what());
  }
  if (!object) return malformed("the body is not a JSON object");
  Fields fields(*object);
  PaymentWebhook webhook;
  webhook.event_id = fields.text("event_id", true);
  webhook.type = fields.text("type", true);
  if (!fields.problem() && webhook.type != kPaymentSucceeded && webhook.type != kPaymentDeclined) {
    fields.refuse("type \"" + webhook.type + "\" is neither payment.succeeded nor payment.declined", "type");
  }
  const bool succeeded = webhook.type == kPaymentSucceeded;
  webhook.idempotency_key = fields.text("idempotency_key", true);
  webhook.tenant_id = fields.text("tenant_id", true);
  webhook.invoice_id = fields.text("invoice_id", true);
  webhook.amount_minor = fields.positive_integer("amount_minor");
  webhook.currency = fields.text("currency", true);
  if (!fields.problem() && (webhook.currency.size() != 3 || !std::all_of(webhook.currency.begin(), webhook.currency.end(),
                                                                      [](char c) { return c >= 'A' && c <= 'Z'; }))) {
    fields.refuse("currency \"" + webhook.currency + "\" is not an ISO 4217 code", "currency");
  }
  webhook.payment_id = fields.text("payment_id", succeeded);
  webhook.failure_code = fields.text("failure_code", !succeeded);
  webhook.failure_message = fields.text("failure_message", false);
  if (fields.problem()) return std::unexpected(*fields.problem());
  return webhook;
}

}  // namespace

std::expected<PaymentWebhook, WebhookError> verify_payment_webhook(const std::string& signature_header,
                                                                  const std::string& body, const std::string& secret,
                                                                  int64_t now_s, int64_t tolerance_s) {
  // Bounded before anything, the MAC included, is computed over it.
  if (body.size() > kMaxWebhookBodyBytes) {
    return malformed("the body is larger than " + std::to_string(kMaxWebhookBodyBytes) + " bytes");
  }
  switch (webhooks::check_signature(signature_header, body, secret, now_s, tolerance_s)) {
    case webhooks::SignatureVerdict::garbled:
      return std::unexpected(WebhookError{"invalid_signature",
                                          signature_header.empty() ? "the Tenantry-Signature header is missing"
                                                                   : "the Tenantry-Signature header is not t=<seconds>,v1=<hex>",
                                          {}});
    case webhooks::SignatureVerdict::mismatch:
      return std::unexpected(WebhookError{"invalid_signature", "no v1 signature matches the body", {}});
    case webhooks::SignatureVerdict::stale:
      return std::unexpected(WebhookError{
          "stale_signature", "the signature's time is more than " + std::to_string(tolerance_s) + " s from now", {}});
    case webhooks::SignatureVerdict::valid:
      break;
  }
  return parse(body);
}

std::string encode_payment_webhook(const PaymentWebhook& webhook) {
  Poco::JSON::Object object(Poco::JSON_PRESERVE_KEY_ORDER);
  object.set("event_id", webhook.event_id);
  object.set("type", webhook.type);
  object.set("idempotency_key", webhook.idempotency_key);
  object.set("tenant_id", webhook.tenant_id);
  object.set("invoice_id", webhook.invoice_id);
  object.set("amount_minor", webhook.amount_minor);
  object.set("currency", webhook.currency);
  object.set("payment_id", webhook.payment_id);
  object.set("failure_code", webhook.failure_code);
  object.set("failure_message", webhook.failure_message);
  std::ostringstream out;
  object.stringify(out);
  return out.str();
}

std::string sign_payment_webhook(const std::string& body, const std::vector<std::string>& secrets, int64_t now_s) {
  return webhooks::signature_header(secrets, now_s, body);
}

}  // namespace tenantry::payments
