#include "connectors/payments/http_provider.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <sstream>

#include "connectors/http/outbound.h"
#include "connectors/webhooks/signature.h"

namespace tenantry::payments {

namespace {

constexpr size_t kMaxQuotedBytes = 200;  // of an answer quoted in an error message

std::string request_body(const ChargeRequest& request) {
  Poco::JSON::Object object(Poco::JSON_PRESERVE_KEY_ORDER);
  object.set("idempotency_key", request.idempotency_key);
  object.set("tenant_id", request.tenant_id);
  object.set("invoice_id", request.invoice_id);
  object.set("amount_minor", request.amount_minor);
  object.set("currency", request.currency);
  object.set("payment_method", request.payment_method);
  object.set("attempt", request.attempt);
  std::ostringstream out;
  object.stringify(out);
  return out.str();
}

Poco::JSON::Object::Ptr parse_object(const std::string& text) {
  const auto parsed = Poco::JSON::Parser().parse(text);
  if (parsed.type() != typeid(Poco::JSON::Object::Ptr)) return nullptr;
  return parsed.extract<Poco::JSON::Object::Ptr>();
}

// The string at `name`: empty when absent or null, an error when of another type.
std::expected<std::string, std::string> string_field(const Poco::JSON::Object& object, const std::string& name) {
  if (!object.has(name) || object.isNull(name)) return std::string();
  const auto value = object.get(name);
  if (!value.isString()) return std::unexpected(name + " is not a string");
  return value.convert<std::string>();
}

std::string quoted(const std::string& text) {
  std::string out;
  for (char c : text.substr(0, kMaxQuotedBytes)) out += (c >= ' ' && c < 0x7f) ? c : '?';
  return out;
}

// What a refusal says: {"message": ...}, {"error": "..."} or {"error": {"message": ...}};
// else the start of the body.
std::string provider_message(const std::string& body) {
  try {
    if (auto object = parse_object(body)) {
      if (auto message = string_field(*object, "message"); message && !message->empty()) return quoted(*message);
      if (auto error = string_field(*object, "error"); error && !error->empty()) return quoted(*error);
      if (auto error = object->getObject("error")) {
        if (auto message = string_field(*error, "message"); message && !message->empty()) return quoted(*message);
      }
    }
  } catch (const std::exception&) {
    // not JSON: quoted as it is
  }
  return body.empty() ? "no message" : quoted(body);
}

std::expected<ChargeResult, std::string> parse_answer(const std::string& body) {
  Poco::JSON::Object::Ptr object;
  try {
    object = parse_object(body);
  } catch (const std::exception& e) {
    return std::unexpected(std::string("not JSON: ") + e.what());
  }
  if (!object) return std::unexpected("not a JSON object");
  auto status_text = string_field(*object, "status");
  auto payment_id = string_field(*object, "payment_id");
  auto failure_code = string_field(*object, "failure_code");
  auto failure_message = string_field(*object, "failure_message");
  for (const auto* field : {&status_text, &payment_id, &failure_code, &failure_message}) {
    if (!*field) return std::unexpected(field->error());
  }
  const auto status = parse_charge_status(*status_text);
  if (!status) return std::unexpected("status \"" + quoted(*status_text) + "\" is none of succeeded, declined, pending");
  ChargeResult result{*status, *payment_id, *failure_code, *failure_message};
  if (result.status != ChargeStatus::declined && result.payment_id.empty()) {
    return std::unexpected(std::string("payment_id is missing from a ") + to_string(result.status) + " answer");
  }
  if (result.status == ChargeStatus::declined && result.failure_code.empty()) {
    return std::unexpected("failure_code is missing from a declined answer");
  }
  return result;
}

}  // namespace

std::string options_problem(const HttpProviderOptions& options) {
  if (auto problem = http::outbound_url_problem(options.url); !problem.empty()) return "url: " + problem;
  if (options.secret.empty()) return "secret: required";
  if (options.timeout.count() <= 0) return "timeout: must be positive";
  return "";
}

std::expected<std::unique_ptr<HttpPaymentProvider>, std::string> HttpPaymentProvider::open(HttpProviderOptions options,
                                                                                         const clock::Clock& clock) {
  if (auto problem = options_problem(options); !problem.empty()) return std::unexpected(problem);
  return std::unique_ptr<HttpPaymentProvider>(new HttpPaymentProvider(std::move(options), clock));
}

HttpPaymentProvider::HttpPaymentProvider(HttpProviderOptions options, const clock::Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

ChargeOutcome HttpPaymentProvider::charge(const ChargeRequest& request) {
  if (auto problem = request_problem(request); !problem.empty()) return std::unexpected(invalid_request(problem));
  try {
    const std::string body = request_body(request);
    const int64_t now_s = clock_.now_us() / 1'000'000;
    const auto answer = http::post(
        options_.url,
        {{"Idempotency-Key", request.idempotency_key},
         {webhooks::kSignatureHeader, webhooks::signature_header({options_.secret}, now_s, body)}},
        body, "application/json", options_.timeout);
    const std::string retry = "; the outcome is unknown, retry with the same idempotency key";
    if (answer.status == 0) return std::unexpected(unavailable("no answer from the payment provider: " + answer.error + retry));
    if (answer.status == 429 || answer.status >= 500) {
      return std::unexpected(unavailable("the payment provider answered " + std::to_string(answer.status) + ": " +
                                         provider_message(answer.body) + retry));
    }
    if (answer.status >= 400) {
      return std::unexpected(invalid_request("the payment provider refused the charge (" + std::to_string(answer.status) +
                                             "): " + provider_message(answer.body)));
    }
    if (answer.status < 200 || answer.status >= 300) {
      return std::unexpected(unavailable("the payment provider answered an unexpected " + std::to_string(answer.status) + retry));
    }
    auto result = parse_answer(answer.body);
    if (!result) {
      return std::unexpected(unavailable("malformed answer from the payment provider (" + std::to_string(answer.status) +
                                         "): " + result.error() + retry));
    }
    return *result;
  } catch (const std::exception& e) {
    return std::unexpected(unavailable(std::string("payment provider call failed: ") + e.what()));
  }
}

}  // namespace tenantry::payments
