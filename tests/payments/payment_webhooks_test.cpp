// The provider's result webhooks: signature first (secret, time window either way,
// rotated keys, a missing or garbled header), then the body, with the field at fault
// named.
#include <catch2/catch.hpp>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <sstream>

#include "connectors/payments/payment_webhooks.h"
#include "connectors/webhooks/signature.h"

using namespace tenantry;

namespace {

const std::string kSecret = "whsec-current";
constexpr int64_t kNow = 1'718'000'000;

payments::PaymentWebhook succeeded() {
  payments::PaymentWebhook webhook;
  webhook.event_id = "evt_1";
  webhook.type = payments::kPaymentSucceeded;
  webhook.idempotency_key = "inv-7/1";
  webhook.tenant_id = "acme";
  webhook.invoice_id = "inv-7";
  webhook.amount_minor = 12345;
  webhook.currency = "EUR";
  webhook.payment_id = "pay_9";
  return webhook;
}

payments::PaymentWebhook declined() {
  auto webhook = succeeded();
  webhook.event_id = "evt_2";
  webhook.type = payments::kPaymentDeclined;
  webhook.payment_id = "";
  webhook.failure_code = "card_declined";
  webhook.failure_message = "Do not honour";
  return webhook;
}

// The body of `webhook` with `field` removed, or set to `value` (JSON text) when given.
std::string edited(const payments::PaymentWebhook& webhook, const std::string& field, const std::string& value = "") {
  auto object = Poco::JSON::Parser().parse(payments::encode_payment_webhook(webhook)).extract<Poco::JSON::Object::Ptr>();
  object->remove(field);
  // Poco's parser takes only an object or an array at the top.
  if (!value.empty()) object->set(field, Poco::JSON::Parser().parse("[" + value + "]").extract<Poco::JSON::Array::Ptr>()->get(0));
  std::ostringstream out;
  object->stringify(out);
  return out.str();
}

std::expected<payments::PaymentWebhook, payments::WebhookError> verify(const std::string& body, int64_t signed_at = kNow,
                                                                      const std::string& secret = kSecret) {
  return payments::verify_payment_webhook(payments::sign_payment_webhook(body, {secret}, signed_at), body, kSecret, kNow);
}

}  // namespace

TEST_CASE("payment webhooks: a signed succeeded or declined webhook verifies and parses", "[payments]") {
  const auto body = payments::encode_payment_webhook(succeeded());
  const std::string header = payments::sign_payment_webhook(body, {kSecret}, kNow);
  CHECK(header == "t=" + std::to_string(kNow) + ",v1=" + webhooks::signature(kSecret, kNow, body));

  auto webhook = payments::verify_payment_webhook(header, body, kSecret, kNow);
  REQUIRE(webhook.has_value());
  CHECK(webhook->event_id == "evt_1");
  CHECK(webhook->type == "payment.succeeded");
  CHECK(webhook->idempotency_key == "inv-7/1");
  CHECK(webhook->tenant_id == "acme");
  CHECK(webhook->invoice_id == "inv-7");
  CHECK(webhook->amount_minor == 12345);
  CHECK(webhook->currency == "EUR");
  CHECK(webhook->payment_id == "pay_9");
  CHECK(webhook->failure_code.empty());

  auto refused = verify(payments::encode_payment_webhook(declined()));
  REQUIRE(refused.has_value());
  CHECK(refused->type == "payment.declined");
  CHECK(refused->failure_code == "card_declined");
  CHECK(refused->failure_message == "Do not honour");
  CHECK(refused->payment_id.empty());

  // Up to the tolerance either way is still fresh.
  CHECK(verify(body, kNow - 300).has_value());
  CHECK(verify(body, kNow + 300).has_value());
}

TEST_CASE("payment webhooks: a changed body, a changed MAC or another secret is invalid_signature", "[payments]") {
  const auto body = payments::encode_payment_webhook(succeeded());
  const std::string header = payments::sign_payment_webhook(body, {kSecret}, kNow);

  std::string tampered = body;
  tampered.replace(tampered.find("12345"), 5, "99999");
  auto changed_body = payments::verify_payment_webhook(header, tampered, kSecret, kNow);
  REQUIRE_FALSE(changed_body.has_value());
  CHECK(changed_body.error().type == "invalid_signature");

  std::string flipped = header;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  auto changed_mac = payments::verify_payment_webhook(flipped, body, kSecret, kNow);
  REQUIRE_FALSE(changed_mac.has_value());
  CHECK(changed_mac.error().type == "invalid_signature");

  auto other_secret = verify(body, kNow, "whsec-someone-else");
  REQUIRE_FALSE(other_secret.has_value());
  CHECK(other_secret.error().type == "invalid_signature");
  CHECK(other_secret.error().field.empty());

  // The time is signed too: moving t breaks the MAC.
  std::string moved = header;
  moved.replace(2, std::to_string(kNow).size(), std::to_string(kNow - 1));
  auto moved_time = payments::verify_payment_webhook(moved, body, kSecret, kNow);
  REQUIRE_FALSE(moved_time.has_value());
  CHECK(moved_time.error().type == "invalid_signature");

  // A stale webhook under another secret is invalid, not stale: the time of a message
  // that is not authentic is not believed.
  auto stale_forgery = verify(body, kNow - 3600, "whsec-someone-else");
  REQUIRE_FALSE(stale_forgery.has_value());
  CHECK(stale_forgery.error().type == "invalid_signature");
}

TEST_CASE("payment webhooks: a timestamp beyond the tolerance, past or future, is stale_signature", "[payments]") {
  const auto body = payments::encode_payment_webhook(succeeded());
  for (const int64_t signed_at : {kNow - 301, kNow - 86400, kNow + 301, kNow + 86400}) {
    INFO(signed_at - kNow);
    auto outcome = verify(body, signed_at);
    REQUIRE_FALSE(outcome.has_value());
    CHECK(outcome.error().type == "stale_signature");
  }
  // The tolerance is the caller's.
  const std::string header = payments::sign_payment_webhook(body, {kSecret}, kNow - 1000);
  CHECK(payments::verify_payment_webhook(header, body, kSecret, kNow, 1000).has_value());
  CHECK(payments::verify_payment_webhook(header, body, kSecret, kNow, 999).error().type == "stale_signature");
}

TEST_CASE("payment webhooks: a missing or garbled signature header is invalid_signature", "[payments]") {
  const auto body = payments::encode_payment_webhook(succeeded());
  const std::string mac = webhooks::signature(kSecret, kNow, body);
  const std::string t = std::to_string(kNow);

  auto missing = payments::verify_payment_webhook("", body, kSecret, kNow);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().type == "invalid_signature");
  CHECK_THAT(missing.error().message, Catch::Contains("missing"));

  for (const std::string& header : {
           "v1=" + mac,                               // no time
           "t=" + t,                                  // no MAC
           "t=" + t + ",v1=",                         // an empty MAC
           "t=" + t + ",v1=" + mac.substr(1),         // a short one
           "t=" + t + ",v1=" + mac.substr(1) + "g",   // not hex
           "t=" + t + ",t=" + t + ",v1=" + mac,       // two times
           "t=0" + t + ",v1=" + mac,                  // a time that is not canonical
           "t=-" + t + ",v1=" + mac,
           "t=" + t + ";v1=" + mac,                   // the wrong separator
           "t=" + t + ",v1" + mac,
           "sha256=" + mac,
           "t=" + t + ",v1=" + mac + std::string(2000, ' '),  // too long
       }) {
    INFO(header);
    auto outcome = payments::verify_payment_webhook(header, body, kSecret, kNow);
    REQUIRE_FALSE(outcome.has_value());
    CHECK(outcome.error().type == "invalid_signature");
  }
  // Other schemes beside v1 are passed over, and hex case does not matter.
  std::string upper = mac;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(payments::verify_payment_webhook("t=" + t + ",v0=whatever,v1=" + mac, body, kSecret, kNow).has_value());
  CHECK(payments::verify_payment_webhook("t=" + t + ", v1=" + upper, body, kSecret, kNow).has_value());
}

TEST_CASE("payment webhooks: rotated keys, any v1 value may match", "[payments]") {
  const auto body = payments::encode_payment_webhook(succeeded());
  // The provider signs with the old and the new secret while the receiver moves over.
  const std::string both = payments::sign_payment_webhook(body, {"whsec-old", "whsec-new"}, kNow);
  CHECK(both.find(",v1=") != both.rfind(",v1="));
  CHECK(payments::verify_payment_webhook(both, body, "whsec-old", kNow).has_value());
  CHECK(payments::verify_payment_webhook(both, body, "whsec-new", kNow).has_value());
  auto neither = payments::verify_payment_webhook(both, body, "whsec-other", kNow);
  REQUIRE_FALSE(neither.has_value());
  CHECK(neither.error().type == "invalid_signature");

  // Bounded: at most eight values.
  std::vector<std::string> nine(9, "whsec-other");
  nine.back() = "whsec-new";
  CHECK_FALSE(payments::verify_payment_webhook(payments::sign_payment_webhook(body, nine, kNow), body, "whsec-new", kNow)
                  .has_value());
  std::vector<std::string> eight(nine.begin() + 1, nine.end());
  CHECK(payments::verify_payment_webhook(payments::sign_payment_webhook(body, eight, kNow), body, "whsec-new", kNow)
            .has_value());
}

TEST_CASE("payment webhooks: a malformed body is malformed_webhook naming the field", "[payments]") {
  SECTION("not JSON, or not an object") {
    for (const std::string body : {"{not json", "[1,2,3]", "\"text\"", ""}) {
      INFO(body);
      auto outcome = verify(body);
      REQUIRE_FALSE(outcome.has_value());
      CHECK(outcome.error().type == "malformed_webhook");
      CHECK(outcome.error().field.empty());
    }
  }
  SECTION("a field missing, empty or of the wrong kind") {
    const auto ok = succeeded();
    const auto no = declined();
    for (const auto& [body, field] : std::vector<std::pair<std::string, std::string>>{
             {edited(ok, "event_id"), "event_id"},
             {edited(ok, "type"), "type"},
             {edited(ok, "type", R"("payment.refunded")"), "type"},
             {edited(ok, "idempotency_key"), "idempotency_key"},
             {edited(ok, "tenant_id", R"("")"), "tenant_id"},
             {edited(ok, "invoice_id"), "invoice_id"},
             {edited(ok, "amount_minor"), "amount_minor"},
             {edited(ok, "amount_minor", R"("12345")"), "amount_minor"},
             {edited(ok, "amount_minor", "123.45"), "amount_minor"},
             {edited(ok, "amount_minor", "0"), "amount_minor"},
             {edited(ok, "currency", R"("eur")"), "currency"},
             {edited(ok, "currency", "978"), "currency"},
             {edited(ok, "payment_id"), "payment_id"},
             {edited(no, "failure_code"), "failure_code"},
             {edited(no, "failure_message", "true"), "failure_message"}}) {
      INFO(body);
      auto outcome = verify(body);
      REQUIRE_FALSE(outcome.has_value());
      CHECK(outcome.error().type == "malformed_webhook");
      CHECK(outcome.error().field == field);
      CHECK_THAT(outcome.error().message, Catch::Contains(field));
    }
  }
  SECTION("an amount beyond 64 bits is refused") {
    std::string body = payments::encode_payment_webhook(succeeded());
    body.replace(body.find("12345"), 5, "99999999999999999999999");
    auto outcome = verify(body);
    REQUIRE_FALSE(outcome.has_value());
    // Poco's parser refuses a number it cannot hold, so this is "not JSON" as a whole.
    CHECK(outcome.error().type == "malformed_webhook");
    CHECK_THAT(outcome.error().message, Catch::Contains("not JSON"));
  }
  SECTION("optional fields may be absent") {
    CHECK(verify(edited(succeeded(), "failure_code")).has_value());
    CHECK(verify(edited(declined(), "payment_id")).has_value());
    CHECK(verify(edited(declined(), "failure_message")).has_value());
  }
  SECTION("a body over the limit is refused before anything is computed over it") {
    auto big = succeeded();
    big.failure_message = std::string(payments::kMaxWebhookBodyBytes, 'x');
    auto outcome = verify(payments::encode_payment_webhook(big));
    REQUIRE_FALSE(outcome.has_value());
    CHECK(outcome.error().type == "malformed_webhook");
  }
}
