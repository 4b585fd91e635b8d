// Quota alerts out as signed webhooks, end to end: `tenantry serve` raises threshold
// alerts as a tenant uses its calls, a local receiver the test runs answers as told;
// each alert arrives once however often it is retried, signed with the shared secret;
// a delivery that keeps failing lands on the dead-letter list, and a replay delivers it.
#include <catch2/catch.hpp>

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

#include "connectors/webhooks/alert_webhooks.h"
#include "gateway/api_client.h"
#include "gateway/serve_fixture.h"
#include "http/jwt_test_support.h"
#include "test_support.h"

using namespace std::chrono_literals;
using tenantry::testing::ApiClient;
using tenantry::testing::Reply;

namespace {

const std::string kSecret = "alert-webhooks-test-secret-of-32-bytes!";
const std::string kHookSecret = "hook-secret-0123456789";

std::string token(const std::string& subject, const std::string& role, const std::string& tenant = {}) {
  return tenantry::testing::jwt::bearer_hs256(kSecret, subject, "[\"" + role + "\"]", tenant);
}

struct Received {
  std::string body;
  std::string signature;
  std::string delivery;
  int answered = 0;
};

// Answers 500 to deliveries whose body names a tenant in `failing`, and to the first
// `fail_first` deliveries of everyone else; 204 otherwise.
class Receiver {
 public:
  Receiver() : socket_(Poco::Net::SocketAddress("127.0.0.1", 0)) {
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(2);
    params->setKeepAlive(false);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), socket_, params);
    server_->start();
  }
  ~Receiver() { server_->stopAll(true); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(socket_.address().port()) + "/hooks"; }

  void fail_first(int count) {
    std::lock_guard lock(mutex_);
    fail_first_ = count;
  }
  void set_failing(const std::string& tenant, bool failing) {
    std::lock_guard lock(mutex_);
    failing_ = failing ? tenant : "";
  }
  std::vector<Received> received() {
    std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  class Handler final : public Poco::Net::HTTPRequestHandler {
   public:
    explicit Handler(Receiver& owner) : owner_(owner) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override {
      Received got;
      Poco::StreamCopier::copyToString(request.stream(), got.body);
      got.signature = request.get("Tenantry-Signature", "");
      got.delivery = request.get("Tenantry-Delivery", "");
      {
        std::lock_guard lock(owner_.mutex_);
        const bool fail = (!owner_.failing_.empty() && got.body.find("\"" + owner_.failing_ + "\"") != std::string::npos) ||
                          owner_.fail_first_ > 0;
        if (owner_.fail_first_ > 0) --owner_.fail_first_;
        got.answered = fail ? 500 : 204;
        owner_.received_.push_back(got);
      }
      response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(got.answered));
      response.setContentLength(0);
      response.send();
    }

   private:
    Receiver& owner_;
  };
  class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
   public:
    explicit Factory(Receiver& owner) : owner_(owner) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
      return new Handler(owner_);
    }

   private:
    Receiver& owner_;
  };

  Poco::Net::ServerSocket socket_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  std::mutex mutex_;
  int fail_first_ = 0;
  std::string failing_;
  std::vector<Received> received_;
};

std::string registration(const std::string& id) {
  return R"({"id":")" + id + R"(","slug":")" + id + R"(","displayName":")" + id +
         R"(","plan":"pro","isolationTier":"shared","region":"eu-west-1","adminContact":{"name":"A","email":"a@example.com"}})";
}

// The successful deliveries, by alert id; every delivery's signature checked.
std::map<std::string, int> delivered_by_alert(Receiver& receiver) {
  std::map<std::string, int> out;
  for (const auto& got : receiver.received()) {
    const auto comma = got.signature.find(",v1=");
    REQUIRE(got.signature.starts_with("t="));
    REQUIRE(comma != std::string::npos);
    const int64_t timestamp = std::stoll(got.signature.substr(2, comma - 2));
    CHECK(got.signature.substr(comma + 4) == tenantry::webhooks::signature(kHookSecret, timestamp, got.body));
    auto body = Poco::JSON::Parser().parse(got.body).extract<Poco::JSON::Object::Ptr>();
    if (got.answered == 204) ++out[body->getValue<std::string>("tenantId") + "/" + body->getValue<std::string>("alertId")];
  }
  return out;
}

}  // namespace

TEST_CASE("alert webhooks: thresholds alert once, signed, retried, dead-lettered and replayed", "[gateway][quotas][serve]") {
  Receiver receiver;
  receiver.fail_first(2);
  tenantry::testing::ServeFixture serve(
      "embedded", {"--jwt-hs256-secret", kSecret, "--alerts-webhook-url", receiver.url(), "--alerts-webhook-secret",
                   kHookSecret, "--alerts-webhook-max-attempts", "3", "--alerts-webhook-base-delay-ms", "50"});
  ApiClient api{serve.port()};
  const std::string admin = token("root", "platform_admin");
  for (const std::string id : {"acme", "globex"}) REQUIRE(api.call("POST", "/v1/tenants", admin, registration(id)).status == 201);
  for (const auto& [id, limit] : {std::pair<std::string, std::string>{"acme", "5"}, {"globex", "1"}}) {
    REQUIRE(api.call("PATCH", "/v1/tenants/" + id, admin, R"({"settings":{"quota.api_calls_per_day":")" + limit + "\"}}")
                .status == 200);
    api.until("/v1/tenants/" + id, admin, [&](const Reply& r) {
      return r.status == 200 &&
             tenantry::testing::data_of(r)->getObject("settings")->optValue<std::string>("quota.api_calls_per_day", "") == limit;
    });
  }

  // acme: the 4th call crosses 80%, the 5th 100%; the 6th is refused and alerts nothing new.
  const std::string acme = token("acme-user", "tenant_member", "acme");
  for (int i = 0; i < 6; ++i) api.call("GET", "/v1/tenant", acme);
  std::map<std::string, int> delivered;
  REQUIRE(tenantry::testing::eventually(20s, [&] {
    delivered = delivered_by_alert(receiver);
    return delivered.size() == 2;
  }));
  for (const auto& [alert, count] : delivered) {
    INFO(alert);
    CHECK(alert.starts_with("acme/api_calls_per_day@"));
    CHECK(count == 1);
  }
  CHECK(receiver.received().size() >= 4);  // the first two attempts were refused and retried

  // globex's receiver keeps failing: after 3 attempts its alerts are dead letters.
  receiver.set_failing("globex", true);
  api.call("GET", "/v1/tenant", token("globex-user", "tenant_member", "globex"));
  Reply dead;
  REQUIRE(tenantry::testing::eventually(20s, [&] {
    dead = api.call("GET", "/v1/webhooks/dead-letters", admin);
    return dead.status == 200 && tenantry::testing::data_of(dead)->getArray("deadLetters")->size() == 2;
  }));
  auto letters = tenantry::testing::data_of(dead)->getArray("deadLetters");
  auto first = letters->getObject(0);
  CHECK(first->getValue<int>("attempts") == 3);
  CHECK(first->getValue<std::string>("lastError") == "answered 500");
  CHECK(first->getValue<std::string>("tenantId") == "globex");
  CHECK(api.call("GET", "/v1/webhooks/dead-letters", token("ana", "analyst")).status == 403);

  // Fixed, then replayed by the operator: delivered, off the list.
  receiver.set_failing("globex", false);
  for (size_t i = 0; i < letters->size(); ++i) {
    const std::string id = letters->getObject(static_cast<unsigned>(i))->getValue<std::string>("id");
    CHECK(api.call("POST", "/v1/webhooks/dead-letters/" + id + "/replay", admin).status == 202);
  }
  CHECK(api.call("POST", "/v1/webhooks/dead-letters/nope/replay", admin).status == 404);
  REQUIRE(tenantry::testing::eventually(20s, [&] {
    delivered = delivered_by_alert(receiver);
    return delivered.size() == 4;
  }));
  for (const auto& [alert, count] : delivered) CHECK(count == 1);
  auto empty = api.call("GET", "/v1/webhooks/dead-letters", admin);
  CHECK(tenantry::testing::data_of(empty)->getArray("deadLetters")->size() == 0);
}

TEST_CASE("alert webhooks: serve refuses an endpoint it would send in the clear, or without a secret",
          "[gateway][quotas]") {
  tenantry::testing::ScratchDir dir;
  auto plain = tenantry::testing::run_to_end({TENANTRY_BINARY, "serve", "--data-dir", dir.path().string(),
                                               "--alerts-webhook-url", "http://hooks.example.com/x",
                                               "--alerts-webhook-secret", kHookSecret});
  CHECK(plain.code == 2);
  CHECK_THAT(plain.err, Catch::Contains("--alerts-webhook-url"));
  auto unsigned_hooks = tenantry::testing::run_to_end({TENANTRY_BINARY, "serve", "--data-dir", dir.path().string(),
                                                        "--alerts-webhook-url", "https://hooks.example.com/x"});
  CHECK(unsigned_hooks.code == 2);
  CHECK_THAT(unsigned_hooks.err, Catch::Contains("--alerts-webhook-secret"));
}

TEST_CASE("alert webhooks: each billing step goes out as a signed notice, once", "[gateway][billing][serve]") {
  Receiver receiver;
  tenantry::testing::ServeFixture serve(
      "embedded", {"--jwt-hs256-secret", kSecret, "--alerts-webhook-url", receiver.url(), "--alerts-webhook-secret",
                   kHookSecret, "--alerts-webhook-base-delay-ms", "50"});
  ApiClient api{serve.port()};
  const std::string admin = token("root", "platform_admin");
  REQUIRE(api.call("POST", "/v1/tenants", admin, registration("acme")).status == 201);
  api.until("/v1/tenants/acme", admin, [](const Reply& r) { return r.status == 200; });
  REQUIRE(api.call("POST", "/v1/tenants/acme/test-clock", admin, R"({"now":"2025-01-01T00:00:00Z"})").status == 201);
  REQUIRE(api.call("POST", "/v1/tenants/acme/subscription", admin,
                   R"({"plan":"basic","trial":false,"paymentMethod":"pm_decline_1_then_ok"})")
              .status == 201);
  REQUIRE(api.call("POST", "/v1/tenants/acme/test-clock/advance", admin, R"({"to":"2025-02-03T00:00:00Z"})").status == 200);

  // Started (active), issued, failed, past due, paid, active again.
  std::vector<std::string> types;
  REQUIRE(tenantry::testing::eventually(20s, [&] {
    types.clear();
    for (const auto& [alert, count] : delivered_by_alert(receiver)) CHECK(count == 1);
    for (const auto& got : receiver.received()) {
      auto body = Poco::JSON::Parser().parse(got.body).extract<Poco::JSON::Object::Ptr>();
      types.push_back(body->getValue<std::string>("type"));
    }
    return types.size() >= 6;
  }));
  const std::vector<std::string> expected = {"billing.subscription.active", "billing.invoice.issued",
                                             "billing.payment.failed",      "billing.subscription.past_due",
                                             "billing.payment.succeeded",   "billing.subscription.active"};
  CHECK(types == expected);
}
