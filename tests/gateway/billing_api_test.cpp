// The billing API over a real socket against `tenantry serve`: a subscription on a test
// clock (periods close, the test provider declines then pays, dunning degrades writes
// to 402 and a payment restores them), invoices as JSON and HTML, the preview of a plan
// change, revenue for analysts, the provider's signed webhooks, and bad input.
#include <catch2/catch.hpp>

#include <chrono>
#include <ctime>
#include <fstream>
#include <thread>

#include "connectors/payments/payment_webhooks.h"
#include "gateway/api_client.h"
#include "gateway/serve_fixture.h"
#include "http/jwt_test_support.h"
#include "test_support.h"

using namespace std::chrono_literals;
using tenantry::testing::ApiClient;
using tenantry::testing::data_of;
using tenantry::testing::Reply;

namespace {

const std::string kSecret = "billing-api-test-secret-of-at-least-32-bytes";
const std::string kWebhookSecret = "payment-webhook-secret-for-tests";

std::string token(const std::string& subject, const std::string& role, const std::string& tenant = {}) {
  return tenantry::testing::jwt::bearer_hs256(kSecret, subject, "[\"" + role + "\"]", tenant);
}

std::string registration(const std::string& id) {
  return R"({"id":")" + id + R"(","slug":")" + id + R"(","displayName":")" + id +
         R"(","plan":"free","isolationTier":"shared","region":"eu-west-1","adminContact":{"name":"A","email":"a@example.com"}})";
}

std::string status_of(const Reply& reply) { return data_of(reply)->getObject("subscription")->getValue<std::string>("status"); }

Reply advance(ApiClient& api, const std::string& bearer, const std::string& to) {
  auto reply = api.call("POST", "/v1/tenants/acme/test-clock/advance", bearer, R"({"to":")" + to + R"("})");
  INFO(reply.text);
  REQUIRE(reply.status == 200);
  return reply;
}

// The answer to a write by `bearer`, once it is `status`: asked every 100 ms (the
// guard reads a tenant's billing state at most once a second), so the retries stay far
// inside the tenant's rate limit.
Reply write_until(ApiClient& api, const std::string& bearer, int status) {
  Reply got;
  for (int attempt = 0; attempt < 100; ++attempt) {
    got = api.call("PATCH", "/v1/tenants/acme", bearer, R"({"displayName":"Acme Inc"})");
    if (got.status == status) return got;
    std::this_thread::sleep_for(100ms);
  }
  INFO(got.text);
  REQUIRE(got.status == status);
  return got;
}

Reply webhook(ApiClient& api, const tenantry::payments::PaymentWebhook& event, const std::string& secret) {
  const std::string body = tenantry::payments::encode_payment_webhook(event);
  const std::string signature =
      tenantry::payments::sign_payment_webhook(body, {secret}, static_cast<int64_t>(std::time(nullptr)));
  return api.call("POST", "/v1/billing/webhooks/payments", "", body, {{"Tenantry-Signature", signature}});
}

}  // namespace

TEST_CASE("billing API: a subscription on a test clock, dunning to 402 and back, invoices, webhooks",
          "[gateway][billing][serve]") {
  tenantry::testing::ServeFixture serve(
      "embedded", {"--jwt-hs256-secret", kSecret, "--payment-webhook-secret", kWebhookSecret, "--saga-interval-ms", "100"});
  ApiClient api{serve.port()};
  const std::string admin = token("root", "platform_admin");
  REQUIRE(api.call("POST", "/v1/tenants", admin, registration("acme")).status == 201);
  REQUIRE(api.call("POST", "/v1/tenants", admin, registration("globex")).status == 201);
  api.until("/v1/tenants/globex", admin, [](const Reply& r) { return r.status == 200; });
  const std::string owner = token("acme-owner", "tenant_admin", "acme");
  const std::string stranger = token("globex-owner", "tenant_admin", "globex");

  auto attached = api.call("POST", "/v1/tenants/acme/test-clock", owner, R"({"now":"2025-01-01T00:00:00Z"})");
  INFO(attached.text);
  REQUIRE(attached.status == 201);
  auto started = api.call("POST", "/v1/tenant/subscription", owner,
                          R"({"plan":"pro","trial":false,"proration":"day","paymentMethod":"pm_decline_1_then_ok"})",
                          {{"X-Tenant-ID", "acme"}});
  INFO(started.text);
  REQUIRE(started.status == 201);
  // The entitlement moved with the subscription, in the same step.
  api.until("/v1/tenants/acme", admin, [](const Reply& r) {
    return r.status == 200 && data_of(r)->getValue<std::string>("plan") == "pro";
  });

  SECTION("bad input is refused and changes nothing") {
    auto again = api.call("POST", "/v1/tenants/acme/subscription", owner, R"({"plan":"basic","trial":false})");
    CHECK(again.status == 409);
    CHECK(tenantry::testing::error_type(again) == "already_exists");
    auto unknown = api.call("PATCH", "/v1/tenants/acme/subscription", owner, R"({"plan":"platinum"})");
    CHECK(unknown.status == 400);
    CHECK(tenantry::testing::first_field(unknown) == "plan");
    auto typed = api.call("POST", "/v1/tenants/acme/subscription", owner, R"({"plan":"pro","trial":"no"})");
    CHECK(typed.status == 400);
    CHECK(tenantry::testing::first_field(typed) == "trial");
    auto custom = api.call("PATCH", "/v1/tenants/acme/subscription", owner,
                           R"({"customPlan":{"planId":"mine","currency":"USD","baseFee":"1","interval":"month"}})");
    CHECK(custom.status == 400);
    CHECK(tenantry::testing::first_field(custom) == "customPlan");
    auto odd_currency = api.call("PATCH", "/v1/tenants/acme/subscription", admin,
                                 R"({"customPlan":{"planId":"euro","name":"Euro","currency":"XYZ","baseFee":"1","interval":"month"}})");
    CHECK(odd_currency.status == 422);
    CHECK(tenantry::testing::first_field(odd_currency) == "plan.currency");
    auto backwards = api.call("POST", "/v1/tenants/acme/test-clock/advance", owner, R"({"to":"2024-06-01T00:00:00Z"})");
    CHECK(backwards.status == 422);
    CHECK(tenantry::testing::first_field(backwards) == "to_us");
    auto foreign = api.call("GET", "/v1/tenants/acme/invoices", stranger);
    CHECK(foreign.status == 403);
    auto sub = api.call("GET", "/v1/tenants/acme/subscription", owner);
    REQUIRE(sub.status == 200);
    CHECK(data_of(sub)->getObject("plan")->getValue<std::string>("id") == "pro");
  }

  SECTION("periods close, the provider declines once then pays; invoices as JSON and HTML") {
    auto first = advance(api, owner, "2025-02-01T12:00:00Z");
    CHECK(data_of(first)->getValue<int>("periodsClosed") == 1);
    CHECK(data_of(first)->getValue<int>("paymentsDeclined") == 1);
    CHECK(status_of(first) == "past_due");
    auto invoices = api.call("GET", "/v1/tenants/acme/invoices", owner);
    REQUIRE(invoices.status == 200);
    auto list = data_of(invoices)->getArray("invoices");
    REQUIRE(list->size() == 1);
    CHECK(list->getObject(0)->getValue<int64_t>("totalMinor") == 9900);
    CHECK(list->getObject(0)->getValue<std::string>("status") == "open");

    auto retried = advance(api, owner, "2025-02-03T00:00:00Z");
    CHECK(data_of(retried)->getValue<int>("paymentsSucceeded") == 1);
    CHECK(status_of(retried) == "active");
    auto invoice = api.call("GET", "/v1/tenants/acme/invoices/in_000001", owner);
    REQUIRE(invoice.status == 200);
    CHECK(data_of(invoice)->getValue<std::string>("status") == "paid");
    CHECK(data_of(invoice)->getValue<std::string>("displayNumber") == "acme-000001");
    auto html = api.call("GET", "/v1/tenants/acme/invoices/in_000001?format=html", owner);
    REQUIRE(html.status == 200);
    CHECK(html.content_type.starts_with("text/html"));
    CHECK(html.text.find("Invoice acme-000001") != std::string::npos);
    CHECK(html.text.find("99.00") != std::string::npos);
    CHECK(api.call("GET", "/v1/tenants/acme/invoices/in_000042", owner).status == 404);

    // An upgrade priced before it is made: the unused time back, the remaining charged.
    auto preview = api.call("GET", "/v1/tenants/acme/invoices/preview?plan=enterprise", owner);
    INFO(preview.text);
    REQUIRE(preview.status == 200);
    auto lines = data_of(preview)->getArray("lines");
    REQUIRE(lines->size() >= 3);
    CHECK(lines->getObject(1)->getValue<std::string>("kind") == "unused_time");
    CHECK(lines->getObject(2)->getValue<std::string>("kind") == "remaining_time");

    // The provider's webhooks: a forged one is refused, an unknown invoice is not
    // found, a duplicate of a recorded payment changes nothing.
    tenantry::payments::PaymentWebhook event;
    event.event_id = "evt_1";
    event.type = tenantry::payments::kPaymentSucceeded;
    event.idempotency_key = "acme:in_000001:2";
    event.tenant_id = "acme";
    event.invoice_id = "in_000001";
    event.amount_minor = 9900;
    event.currency = "USD";
    auto payments = data_of(invoice)->getArray("payments");
    REQUIRE(payments->size() == 1);
    event.payment_id = payments->getObject(0)->getValue<std::string>("paymentId");
    auto forged = webhook(api, event, "not-the-secret");
    CHECK(forged.status == 401);
    CHECK(tenantry::testing::error_type(forged) == "invalid_signature");
    auto lost = event;
    lost.event_id = "evt_2";
    lost.invoice_id = "in_000099";
    CHECK(webhook(api, lost, kWebhookSecret).status == 404);
    for (int i = 0; i < 2; ++i) CHECK(webhook(api, event, kWebhookSecret).status == 200);
    auto after = api.call("GET", "/v1/tenants/acme/invoices/in_000001", owner);
    CHECK(data_of(after)->getValue<int64_t>("paidMinor") == 9900);
    CHECK(data_of(after)->getArray("payments")->size() == 1);
    auto sub = api.call("GET", "/v1/tenants/acme/subscription", owner);
    CHECK(data_of(sub)->getValue<int64_t>("receivableMinor") == 0);
    CHECK(data_of(sub)->getValue<int64_t>("creditBalanceMinor") == 0);  // nothing counted twice

    // A credit note on the paid invoice goes to the credit balance; part of it is refunded.
    auto noted = api.call("POST", "/v1/tenants/acme/invoices/in_000001/credit-notes", admin,
                          R"({"amountMinor":1000,"reason":"outage"})");
    INFO(noted.text);
    REQUIRE(noted.status == 201);
    CHECK(api.call("POST", "/v1/tenants/acme/invoices/in_000001/credit-notes", owner, R"({"amountMinor":1})").status ==
          403);
    REQUIRE(api.call("POST", "/v1/tenants/acme/refunds", admin, R"({"amountMinor":400,"currency":"USD"})").status == 201);
    auto too_much = api.call("POST", "/v1/tenants/acme/refunds", admin, R"({"amountMinor":601,"currency":"USD"})");
    CHECK(too_much.status == 422);
    CHECK(tenantry::testing::first_field(too_much) == "amount_minor");
    auto ledger = api.until("/v1/tenants/acme/ledger", owner, [](const Reply& r) {
      if (r.status != 200) return false;
      auto accounts = data_of(r)->getArray("accounts");
      for (size_t i = 0; i < accounts->size(); ++i) {
        auto one = accounts->getObject(static_cast<unsigned>(i));
        if (one->getValue<std::string>("account") == "credits") return one->getValue<int64_t>("balanceMinor") == -600;
      }
      return false;
    });
    int64_t sum = 0;
    auto accounts = data_of(ledger)->getArray("accounts");
    for (size_t i = 0; i < accounts->size(); ++i) sum += accounts->getObject(static_cast<unsigned>(i))->getValue<int64_t>("balanceMinor");
    CHECK(sum == 0);  // debits equal credits
  }

  SECTION("three failed attempts degrade the tenant: writes answer 402 until it pays") {
    REQUIRE(api.call("PUT", "/v1/tenants/acme/payment-method", owner, R"({"paymentMethod":"pm_decline"})").status == 200);
    advance(api, owner, "2025-02-03T00:00:00Z");  // January's invoice: declined, retried, declined
    auto degraded = advance(api, owner, "2025-02-03T12:00:00Z");
    CHECK(status_of(degraded) == "degraded");
    auto refused = write_until(api, owner, 402);
    CHECK(tenantry::testing::error_type(refused) == "payment_required");
    CHECK(api.call("GET", "/v1/tenants/acme", owner).status == 200);  // reads work
    // Paying is a write that stays open.
    REQUIRE(api.call("PUT", "/v1/tenants/acme/payment-method", owner, R"({"paymentMethod":"pm_ok"})").status == 200);
    auto paid = advance(api, owner, "2025-02-05T00:00:00Z");
    CHECK(status_of(paid) == "active");
    write_until(api, owner, 200);
    // Analysts' lists and exports of every tenant's invoices.
    const std::string analyst = token("ann", "analyst");
    auto open = api.call("GET", "/v1/billing/invoices?status=paid&limit=1", analyst);
    INFO(open.text);
    REQUIRE(open.status == 200);
    CHECK(data_of(open)->getArray("invoices")->size() == 1);
    auto csv = api.call("GET", "/v1/billing/invoices?format=csv", analyst);
    REQUIRE(csv.status == 200);
    CHECK(csv.text.starts_with("tenant_id,invoice_id,number"));
    CHECK(csv.text.find("acme,in_000001,1,acme-000001,paid,USD") != std::string::npos);
    CHECK(api.call("GET", "/v1/billing/invoices?status=late", analyst).status == 400);
    CHECK(api.call("GET", "/v1/billing/invoices", owner).status == 403);
    auto revenue = api.call("GET", "/v1/billing/revenue", analyst);
    REQUIRE(revenue.status == 200);
    auto rows = data_of(revenue)->getArray("revenue");
    REQUIRE(rows->size() == 1);
    CHECK(rows->getObject(0)->getValue<int64_t>("mrrMinor") == 9900);
    CHECK(rows->getObject(0)->getValue<int64_t>("arrMinor") == 118800);
    CHECK(api.call("GET", "/v1/billing/revenue", stranger).status == 403);
  }
}

TEST_CASE("billing API: the plan catalog is versioned, a price change reaches new and moved subscriptions only",
          "[gateway][billing][serve]") {
  tenantry::testing::ServeFixture serve("embedded", {"--jwt-hs256-secret", kSecret});
  ApiClient api{serve.port()};
  const std::string admin = token("root", "platform_admin");
  for (const std::string id : {"acme", "globex"}) {
    REQUIRE(api.call("POST", "/v1/tenants", admin, registration(id)).status == 201);
    api.until("/v1/tenants/" + id, admin, [](const Reply& r) { return r.status == 200; });
  }
  REQUIRE(api.call("POST", "/v1/tenants/acme/subscription", admin, R"({"plan":"pro","trial":false})").status == 201);

  const std::string dearer =
      R"({"planId":"pro","name":"Pro","currency":"USD","baseFee":"129","interval":"month","trialDays":14})";
  auto published = api.call("POST", "/v1/plans", admin, dearer);
  INFO(published.text);
  REQUIRE(published.status == 201);
  auto pro = api.until("/v1/plans/pro", admin, [](const Reply& r) {
    return r.status == 200 && data_of(r)->getValue<int>("version") == 2;
  });
  CHECK(data_of(pro)->getValue<std::string>("baseFee") == "129");
  CHECK(api.call("GET", "/v1/plans/pro?version=1", admin).status == 200);
  CHECK(data_of(api.call("GET", "/v1/plans/pro?version=1", admin))->getValue<std::string>("baseFee") == "99");

  // Existing subscriptions keep their version; new ones get the latest.
  auto acme = api.call("GET", "/v1/tenants/acme/subscription", admin);
  CHECK(data_of(acme)->getObject("plan")->getValue<int>("version") == 1);
  REQUIRE(api.call("POST", "/v1/tenants/globex/subscription", admin, R"({"plan":"pro","trial":false})").status == 201);
  auto globex = api.until("/v1/tenants/globex/subscription", admin, [](const Reply& r) {
    return r.status == 200 && data_of(r)->getValue<std::string>("status") == "active";
  });
  CHECK(data_of(globex)->getObject("plan")->getValue<int>("version") == 2);
  // Moved explicitly: acme onto the new version.
  auto moved = api.call("PATCH", "/v1/tenants/acme/subscription", admin, R"({"plan":"pro"})");
  INFO(moved.text);
  CHECK(moved.status == 200);
  api.until("/v1/tenants/acme/subscription", admin, [](const Reply& r) {
    return r.status == 200 && data_of(r)->getObject("plan")->getValue<int>("version") == 2;
  });

  // A custom plan's quota features reach the quota system with the subscription.
  REQUIRE(api.call("POST", "/v1/tenants", admin, registration("initech")).status == 201);
  api.until("/v1/tenants/initech", admin, [](const Reply& r) { return r.status == 200; });
  auto custom = api.call("POST", "/v1/tenants/initech/subscription", admin,
                         R"({"customPlan":{"planId":"tiny","name":"Tiny","currency":"USD","baseFee":"1",)"
                         R"("interval":"month","features":{"quota.api_calls_per_day":"3"}},"trial":false})");
  INFO(custom.text);
  REQUIRE(custom.status == 201);
  api.until("/v1/tenants/initech", admin, [](const Reply& r) {
    return r.status == 200 && data_of(r)->getValue<std::string>("plan") == "tiny";
  });
  const std::string member = token("i-user", "tenant_member", "initech");
  std::vector<int> statuses;
  for (int i = 0; i < 4; ++i) statuses.push_back(api.call("GET", "/v1/tenant", member, "", {{"X-Tenant-ID", "initech"}}).status);
  CHECK(statuses == std::vector<int>{200, 200, 200, 429});

  // Bad input: a version that changes nothing, an unknown currency, a tenant's own admin.
  auto unchanged = api.call("POST", "/v1/plans", admin, dearer);
  CHECK(unchanged.status == 422);
  CHECK(tenantry::testing::first_field(unchanged) == "plan");
  auto odd = api.call("POST", "/v1/plans", admin,
                      R"({"planId":"team","name":"Team","currency":"XYZ","baseFee":"5","interval":"month"})");
  CHECK(odd.status == 422);
  CHECK(tenantry::testing::first_field(odd) == "plan.currency");
  CHECK(api.call("POST", "/v1/plans", admin, R"({"planId":1})").status == 400);
  CHECK(api.call("POST", "/v1/plans", token("a", "tenant_admin", "acme"), dearer).status == 403);
  CHECK(api.call("GET", "/v1/plans/nope", admin).status == 404);
}

namespace {
std::string rfc3339(std::time_t seconds) {
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&seconds));
  return text;
}
}  // namespace

// The issue's graduated percentage known answer, from usage events to the invoice: each
// payment a service reports is one transaction of a meter that keeps them, and the close
// prices them one by one (0-1,000 at 1% plus $200 flat, 1,001-10,000 at 2% plus $300:
// $500, $550 and $4,000 are charged $205, $306 and $80).
TEST_CASE("billing API: percentage charges price each transaction the usage API counted",
          "[gateway][billing][usage][serve]") {
  tenantry::testing::ScratchDir files;
  const std::string meters = (files.path() / "meters.json").string();
  std::ofstream(meters) << R"({"meters":[{"name":"payments","eventType":"payment.captured","aggregation":"SUM",
      "valueProperty":"$.amountMinor","transactions":true}]})";
  tenantry::testing::ServeFixture serve("embedded", {"--jwt-hs256-secret", kSecret, "--meters-file", meters,
                                                     "--saga-interval-ms", "100"});
  ApiClient api{serve.port()};
  const std::string admin = token("root", "platform_admin");
  REQUIRE(api.call("POST", "/v1/tenants", admin, registration("acme")).status == 201);
  REQUIRE(api.call("POST", "/v1/tenants", admin, registration("globex")).status == 201);
  api.until("/v1/tenants/globex", admin, [](const Reply& r) { return r.status == 200; });
  const std::string service = token("acme-svc", "tenant_member", "acme");
  const std::string stranger = token("globex-owner", "tenant_admin", "globex");

  // The period starts at a midnight three days ago: usage inside it is recent enough to
  // be taken, and the test clock closes it a month on.
  const std::time_t day0 = (std::time(nullptr) / 86400 - 3) * 86400;
  REQUIRE(api.call("POST", "/v1/tenants/acme/test-clock", admin, R"({"now":")" + rfc3339(day0) + R"("})").status == 201);
  auto started = api.call("POST", "/v1/tenants/acme/subscription", admin, R"({"trial":false,"paymentMethod":"pm_ok",
      "customPlan":{"planId":"payments","name":"Payments","currency":"USD","baseFee":"0","interval":"month",
        "charges":{"payments":{"graduatedPercentage":{"tiers":[
          {"fromMinor":"0","toMinor":"100000","percent":"1","flatFee":"200"},
          {"fromMinor":"100001","toMinor":"1000000","percent":"2","flatFee":"300"}]}}}}})");
  INFO(started.text);
  REQUIRE(started.status == 201);

  auto payment = [&](const std::string& id, const std::string& amount, std::time_t at) {
    return R"({"specversion":"1.0","id":")" + id + R"(","source":"svc/checkout","type":"payment.captured","time":")" +
           rfc3339(at) + R"(","data":{"amountMinor":)" + amount + "}}";
  };
  const std::string batch = "[" + payment("p1", "50000", day0 + 3600) + "," + payment("p2", "55000", day0 + 7200) + "," +
                            payment("p3", "400000", day0 + 10800) + "," + payment("p4", "12.5", day0 + 10800) + "]";
  auto posted = api.call("POST", "/v1/usage", service, batch);
  INFO(posted.text);
  REQUIRE(posted.status == 202);
  auto refused = data_of(posted)->getArray("rejected");
  REQUIRE(refused->size() == 1);
  CHECK(refused->getObject(0)->getValue<int>("index") == 3);
  CHECK(refused->getObject(0)->getValue<std::string>("field") == "data.amountMinor");
  // A retry of the whole batch counts nothing twice.
  REQUIRE(api.call("POST", "/v1/usage", service, batch).status == 202);

  const std::string listing = "/v1/tenants/acme/usage/transactions?meter=payments&from=" + rfc3339(day0) + "&to=" +
                              rfc3339(day0 + 86400);
  auto listed = api.until(listing, service, [](const Reply& r) {
    return r.status == 200 && data_of(r)->getArray("transactions")->size() >= 3;
  });
  auto transactions = data_of(listed)->getArray("transactions");
  REQUIRE(transactions->size() == 3);
  CHECK(transactions->getObject(0)->getValue<int64_t>("amountMinor") == 50000);
  CHECK(transactions->getObject(0)->getValue<std::string>("eventId") == "p1");
  CHECK(transactions->getObject(2)->getValue<int64_t>("amountMinor") == 400000);
  auto csv = api.call("GET", listing + "&format=csv", service);
  REQUIRE(csv.status == 200);
  CHECK(csv.text == "time,amount_minor,event_id\r\n" + rfc3339(day0 + 3600) + ",50000,p1\r\n" + rfc3339(day0 + 7200) +
                        ",55000,p2\r\n" + rfc3339(day0 + 10800) + ",400000,p3\r\n");
  auto paged = api.call("GET", listing + "&limit=2", service);
  REQUIRE(paged.status == 200);
  const std::string cursor = data_of(paged)->getValue<std::string>("nextCursor");
  auto rest = api.call("GET", listing + "&cursor=" + cursor, service);
  REQUIRE(rest.status == 200);
  REQUIRE(data_of(rest)->getArray("transactions")->size() == 1);
  CHECK(data_of(rest)->getArray("transactions")->getObject(0)->getValue<std::string>("eventId") == "p3");
  // Bad input, and another tenant's principal.
  CHECK(api.call("GET", "/v1/tenants/acme/usage/transactions", service).status == 400);
  auto not_kept = api.call("GET", listing + "&limit=0", service);
  CHECK(not_kept.status == 400);
  CHECK(tenantry::testing::first_field(not_kept) == "limit");
  CHECK(tenantry::testing::first_field(api.call("GET", listing + "&cursor=zz", service)) == "cursor");
  CHECK(api.call("GET", listing, stranger).status == 403);

  // A month on, the period closes and the invoice prices each payment.
  advance(api, admin, rfc3339(day0 + 40 * 86400));
  auto invoice = api.until("/v1/tenants/acme/invoices/in_000001", admin, [](const Reply& r) { return r.status == 200; });
  INFO(invoice.text);
  auto lines = data_of(invoice)->getArray("lines");
  int64_t payments_minor = -1;
  for (size_t i = 0; i < lines->size(); ++i) {
    auto line = lines->getObject(static_cast<unsigned>(i));
    if (line->has("meter") && line->getValue<std::string>("meter") == "payments") {
      payments_minor = line->getValue<int64_t>("amountMinor");
      CHECK(line->getValue<std::string>("model") == "graduated_percentage");
    }
  }
  CHECK(payments_minor == 20500 + 30600 + 8000);
  CHECK(data_of(invoice)->getValue<int64_t>("totalMinor") == 59100);
}
