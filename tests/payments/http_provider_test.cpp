// The HTTP payment provider against a provider simulator on a real socket: the
// simulator checks the signature and the Idempotency-Key header of every charge and
// answers as the test tells it; each kind of answer maps to the result or error the
// billing saga acts on.
#include <catch2/catch.hpp>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

#include <mutex>
#include <thread>

#include "connectors/clock/clock.h"
#include "connectors/payments/http_provider.h"
#include "connectors/webhooks/signature.h"

using namespace tenantry;
using namespace std::chrono_literals;
using payments::ChargeStatus;

namespace {

const std::string kSecret = "provider-shared-secret";
constexpr int64_t kNowUs = 1'718'000'000'000'000;

struct Seen {
  std::string body;
  std::string idempotency_key;
  bool signature_valid = false;
};

// Answers every charge with `answer` (after `delay`), once the charge's signature and
// Idempotency-Key header are right; 401 when they are not.
class ProviderSimulator {
 public:
  struct Answer {
    int status = 200;
    std::string body;
    std::chrono::milliseconds delay{0};
  };

  explicit ProviderSimulator(const clock::Clock& clock)
      : clock_(clock), socket_(Poco::Net::SocketAddress("127.0.0.1", 0)) {
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(2);
    params->setKeepAlive(false);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), socket_, params);
    server_->start();
  }
  ~ProviderSimulator() { server_->stopAll(true); }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(socket_.address().port()) + "/v1/charges"; }
  void answer(Answer answer) {
    std::lock_guard lock(mutex_);
    answer_ = std::move(answer);
  }
  std::vector<Seen> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  class Handler final : public Poco::Net::HTTPRequestHandler {
   public:
    explicit Handler(ProviderSimulator& owner) : owner_(owner) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override {
      Seen seen;
      Poco::StreamCopier::copyToString(request.stream(), seen.body);
      seen.idempotency_key = request.get("Idempotency-Key", "");
      seen.signature_valid =
          webhooks::check_signature(request.get(webhooks::kSignatureHeader, ""), seen.body, kSecret,
                                    owner_.clock_.now_us() / 1'000'000, 300) == webhooks::SignatureVerdict::valid;
      bool key_matches = false;
      try {
        auto body = Poco::JSON::Parser().parse(seen.body).extract<Poco::JSON::Object::Ptr>();
        key_matches = !seen.idempotency_key.empty() &&
                      body->getValue<std::string>("idempotency_key") == seen.idempotency_key;
      } catch (const std::exception&) {
        key_matches = false;
      }
      Answer answer;
      {
        std::lock_guard lock(owner_.mutex_);
        owner_.seen_.push_back(seen);
        answer = owner_.answer_;
      }
      if (!seen.signature_valid || !key_matches) answer = {401, R"({"message":"signature or Idempotency-Key wrong"})"};
      if (answer.delay.count() > 0) std::this_thread::sleep_for(answer.delay);  // a slow provider, on purpose
      response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(answer.status));
      response.setContentType("application/json");
      response.setContentLength64(static_cast<Poco::Int64>(answer.body.size()));
      response.send() << answer.body;
    }

   private:
    ProviderSimulator& owner_;
  };
  class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
   public:
    explicit Factory(ProviderSimulator& owner) : owner_(owner) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
      return new Handler(owner_);
    }

   private:
    ProviderSimulator& owner_;
  };

  const clock::Clock& clock_;
  Poco::Net::ServerSocket socket_;
  std::mutex mutex_;
  Answer answer_{500, "{}"};
  std::vector<Seen> seen_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

payments::ChargeRequest request(const std::string& key) { return {key, "acme", "inv-7", 12345, "USD", "pm_card_1", 2}; }

struct Fixture {
  Fixture() : simulator(clock) {
    auto opened = payments::HttpPaymentProvider::open({simulator.url(), kSecret, 2000ms}, clock);
    REQUIRE(opened.has_value());
    provider = std::move(*opened);
  }
  clock::ManualClock clock{kNowUs};
  ProviderSimulator simulator;
  std::unique_ptr<payments::HttpPaymentProvider> provider;
};

}  // namespace

TEST_CASE("HTTP provider: a signed charge with its Idempotency-Key, answered succeeded, declined or pending",
          "[payments]") {
  Fixture f;
  CHECK(f.provider->name() == "http");

  f.simulator.answer({200, R"({"status":"succeeded","payment_id":"pay_1"})"});
  auto succeeded = f.provider->charge(request("inv-7/2"));
  REQUIRE(succeeded.has_value());
  CHECK(succeeded->status == ChargeStatus::succeeded);
  CHECK(succeeded->payment_id == "pay_1");
  CHECK(succeeded->failure_code.empty());

  // What the provider received: the key in the header and the body, signed, every field.
  auto seen = f.simulator.seen();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].signature_valid);
  CHECK(seen[0].idempotency_key == "inv-7/2");
  auto body = Poco::JSON::Parser().parse(seen[0].body).extract<Poco::JSON::Object::Ptr>();
  CHECK(body->getValue<std::string>("idempotency_key") == "inv-7/2");
  CHECK(body->getValue<std::string>("tenant_id") == "acme");
  CHECK(body->getValue<std::string>("invoice_id") == "inv-7");
  CHECK(body->getValue<int64_t>("amount_minor") == 12345);
  CHECK(body->getValue<std::string>("currency") == "USD");
  CHECK(body->getValue<std::string>("payment_method") == "pm_card_1");
  CHECK(body->getValue<int>("attempt") == 2);

  f.simulator.answer({200, R"({"status":"declined","payment_id":"pay_2","failure_code":"insufficient_funds",)"
                           R"("failure_message":"Insufficient funds"})"});
  auto declined = f.provider->charge(request("inv-7/3"));
  REQUIRE(declined.has_value());
  CHECK(declined->status == ChargeStatus::declined);
  CHECK(declined->payment_id == "pay_2");
  CHECK(declined->failure_code == "insufficient_funds");
  CHECK(declined->failure_message == "Insufficient funds");

  f.simulator.answer({202, R"({"status":"pending","payment_id":"pay_3","failure_code":null})"});
  auto pending = f.provider->charge(request("inv-7/4"));
  REQUIRE(pending.has_value());
  CHECK(pending->status == ChargeStatus::pending);
  CHECK(pending->payment_id == "pay_3");

  seen = f.simulator.seen();
  REQUIRE(seen.size() == 3);
  for (const auto& each : seen) CHECK(each.signature_valid);
  CHECK(seen[2].idempotency_key == "inv-7/4");
}

TEST_CASE("HTTP provider: the signature is made with the configured secret", "[payments]") {
  clock::ManualClock clock{kNowUs};
  ProviderSimulator simulator(clock);
  auto opened = payments::HttpPaymentProvider::open({simulator.url(), "another-secret", 2000ms}, clock);
  REQUIRE(opened.has_value());
  simulator.answer({200, R"({"status":"succeeded","payment_id":"pay_1"})"});
  auto outcome = (*opened)->charge(request("k"));
  REQUIRE_FALSE(outcome.has_value());
  // The simulator refused the signature with 401: a refusal, with the provider's words.
  CHECK(outcome.error().type == payments::kInvalidRequest);
  CHECK_THAT(outcome.error().message, Catch::Contains("signature or Idempotency-Key wrong"));
  REQUIRE(simulator.seen().size() == 1);
  CHECK_FALSE(simulator.seen()[0].signature_valid);
}

TEST_CASE("HTTP provider: 5xx, 429, a timeout and no answer are unavailable and retryable", "[payments]") {
  Fixture f;
  SECTION("500") {
    f.simulator.answer({500, R"({"message":"database on fire"})"});
    auto outcome = f.provider->charge(request("k"));
    REQUIRE_FALSE(outcome.has_value());
    CHECK(outcome.error().type == payments::kUnavailable);
    CHECK(outcome.error().retryable);
    CHECK_THAT(outcome.error().message, Catch::Contains("500") && Catch::Contains("database on fire"));
  }
  SECTION("503 without a body") {
    f.simulator.answer({503, ""});
    auto outcome = f.provider->charge(request("k"));
    REQUIRE_FALSE(outcome.has_value());
    CHECK(outcome.error().type == payments::kUnavailable);
    CHECK(outcome.error().retryable);
  }
  SECTION("429") {
    f.simulator.answer({429, R"({"error":"slow down"})"});
    auto outcome = f.provider->charge(request("k"));
    REQUIRE_FALSE(outcome.has_value());
    CHECK(outcome.error().type == payments::kUnavailable);
    CHECK(outcome.error().retryable);
    CHECK_THAT(outcome.error().message, Catch::Contains("slow down"));
  }
  SECTION("an answer slower than the timeout") {
    auto opened = payments::HttpPaymentProvider::open({f.simulator.url(), kSecret, 100ms}, f.clock);
    REQUIRE(opened.has_value());
    f.simulator.answer({200, R"({"status":"succeeded","payment_id":"pay_late"})", 1500ms});
    auto outcome = (*opened)->charge(request("k"));
    REQUIRE_FALSE(outcome.has_value());
    CHECK(outcome.error().type == payments::kUnavailable);
    CHECK(outcome.error().retryable);
    CHECK_THAT(outcome.error().message, Catch::Contains("same idempotency key"));
    // It did arrive: the outcome is unknown, which is why the retry must reuse the key.
    CHECK(f.simulator.seen().size() == 1);
  }
  SECTION("nobody listening") {
    std::string url;
    {
      Poco::Net::ServerSocket closed(Poco::Net::SocketAddress("127.0.0.1", 0));
      url = "http://127.0.0.1:" + std::to_string(closed.address().port()) + "/v1/charges";
    }
    auto opened = payments::HttpPaymentProvider::open({url, kSecret, 1000ms}, f.clock);
    REQUIRE(opened.has_value());
    auto outcome = (*opened)->charge(request("k"));
    REQUIRE_FALSE(outcome.has_value());
    CHECK(outcome.error().type == payments::kUnavailable);
    CHECK(outcome.error().retryable);
    CHECK_THAT(outcome.error().message, Catch::Contains("no answer"));
  }
}

TEST_CASE("HTTP provider: other 4xx are invalid_request with the provider's message", "[payments]") {
  Fixture f;
  for (const auto& [status, body, words] : std::vector<std::tuple<int, std::string, std::string>>{
           {400, R"({"error":{"type":"invalid_request","message":"amount below the minimum"}})", "amount below the minimum"},
           {402, R"({"message":"payment method expired"})", "payment method expired"},
           {404, "no such route", "no such route"},
           {409, "", "no message"}}) {
    INFO(status);
    f.simulator.answer({status, body});
    auto outcome = f.provider->charge(request("k"));
    REQUIRE_FALSE(outcome.has_value());
    CHECK(outcome.error().type == payments::kInvalidRequest);
    CHECK_FALSE(outcome.error().retryable);
    CHECK_THAT(outcome.error().message, Catch::Contains(std::to_string(status)) && Catch::Contains(words));
  }
}

TEST_CASE("HTTP provider: a malformed 2xx answer is unavailable, saying what is wrong", "[payments]") {
  Fixture f;
  for (const auto& [body, words] : std::vector<std::pair<std::string, std::string>>{
           {"surely not json", "not JSON"},
           {"[1,2]", "not a JSON object"},
           {R"({"status":"refunded","payment_id":"pay_1"})", "refunded"},
           {R"({"payment_id":"pay_1"})", "status"},
           {R"({"status":"succeeded"})", "payment_id"},
           {R"({"status":"succeeded","payment_id":42})", "payment_id is not a string"},
           {R"({"status":"declined","payment_id":"pay_1"})", "failure_code"}}) {
    INFO(body);
    f.simulator.answer({200, body});
    auto outcome = f.provider->charge(request("k"));
    REQUIRE_FALSE(outcome.has_value());
    CHECK(outcome.error().type == payments::kUnavailable);
    CHECK(outcome.error().retryable);
    CHECK_THAT(outcome.error().message, Catch::Contains("malformed answer") && Catch::Contains(words));
  }
}

TEST_CASE("HTTP provider: URLs other than https or loopback http are refused, and bad requests never sent",
          "[payments]") {
  clock::ManualClock clock{kNowUs};
  for (const std::string url : {"http://payments.example.com/v1/charges", "http://10.0.0.8/v1/charges",
                                "ftp://127.0.0.1/charges", "not a url", ""}) {
    INFO(url);
    auto opened = payments::HttpPaymentProvider::open({url, kSecret, 1000ms}, clock);
    REQUIRE_FALSE(opened.has_value());
    CHECK_THAT(opened.error(), Catch::StartsWith("url: "));
  }
  CHECK_THAT(payments::options_problem({"http://payments.example.com/", kSecret, 1000ms}), Catch::Contains("loopback"));
  // Accepted without any call being made.
  CHECK(payments::HttpPaymentProvider::open({"https://payments.example.com/v1/charges", kSecret, 1000ms}, clock).has_value());
  CHECK(payments::HttpPaymentProvider::open({"http://localhost:9/v1/charges", kSecret, 1000ms}, clock).has_value());
  CHECK(payments::options_problem({"https://payments.example.com/", "", 1000ms}) == "secret: required");
  CHECK(payments::options_problem({"https://payments.example.com/", kSecret, 0ms}) == "timeout: must be positive");

  Fixture f;
  f.simulator.answer({200, R"({"status":"succeeded","payment_id":"pay_1"})"});
  auto bad = request("k");
  bad.amount_minor = -5;
  auto outcome = f.provider->charge(bad);
  REQUIRE_FALSE(outcome.has_value());
  CHECK(outcome.error().type == payments::kInvalidRequest);
  CHECK_FALSE(outcome.error().retryable);
  CHECK(f.simulator.seen().empty());
}
