// The built-in test provider: each token's outcome, declines counted per invoice by
// distinct idempotency keys, a repeated key answered from the record (never a second
// charge), also after the store is reopened and when the same key races itself.
#include <catch2/catch.hpp>

#include <set>
#include <thread>

#include "connectors/payments/test_provider.h"
#include "test_support.h"

using namespace tenantry;
using payments::ChargeStatus;

namespace {

payments::ChargeRequest request(const std::string& key, const std::string& invoice, const std::string& method,
                                int64_t amount_minor = 4900) {
  return {key, "acme", invoice, amount_minor, "EUR", method, 1};
}

struct Provider {
  Provider() { open(); }

  void open() {
    provider.reset();
    store.reset();
    auto opened = store::RocksStore::open({(dir.path() / "store").string(), {payments::kTestProviderFamily}});
    REQUIRE(opened.has_value());
    store = std::move(*opened);
    provider = std::make_unique<payments::TestPaymentProvider>(*store);
  }

  payments::ChargeResult charged(const payments::ChargeRequest& request) {
    auto outcome = provider->charge(request);
    INFO(request.idempotency_key << ": " << (outcome ? "" : outcome.error().message));
    REQUIRE(outcome.has_value());
    return *outcome;
  }

  payments::ProviderError refused(const payments::ChargeRequest& request) {
    auto outcome = provider->charge(request);
    REQUIRE_FALSE(outcome.has_value());
    return outcome.error();
  }

  int64_t count() {
    auto counted = provider->charges_count();
    REQUIRE(counted.has_value());
    return *counted;
  }

  testing::ScratchDir dir;
  std::unique_ptr<store::RocksStore> store;
  std::unique_ptr<payments::TestPaymentProvider> provider;
};

}  // namespace

TEST_CASE("test provider: pm_ok succeeds, pm_decline declines, each a charge of its own", "[payments]") {
  Provider p;
  CHECK(p.provider->name() == "test");

  auto ok = p.charged(request("k1", "inv-1", "pm_ok"));
  CHECK(ok.status == ChargeStatus::succeeded);
  CHECK_FALSE(ok.payment_id.empty());
  CHECK(ok.failure_code.empty());
  CHECK(p.charged(request("k2", "inv-2", "pm_ok_visa_4242")).status == ChargeStatus::succeeded);

  for (const std::string key : {"k3", "k4", "k5"}) {
    auto declined = p.charged(request(key, "inv-3", "pm_decline"));
    CHECK(declined.status == ChargeStatus::declined);
    CHECK(declined.failure_code == "card_declined");
    CHECK_FALSE(declined.failure_message.empty());
    CHECK_FALSE(declined.payment_id.empty());
  }
  CHECK(p.count() == 5);

  auto listed = p.provider->charges(100);
  REQUIRE(listed.has_value());
  REQUIRE(listed->size() == 5);
  std::vector<std::string> keys;
  std::set<std::string> payment_ids;
  for (const auto& charge : *listed) {
    keys.push_back(charge.request.idempotency_key);
    payment_ids.insert(charge.result.payment_id);
  }
  CHECK(keys == std::vector<std::string>{"k1", "k2", "k3", "k4", "k5"});
  CHECK(payment_ids.size() == 5);
  CHECK((*listed)[0].result.status == ChargeStatus::succeeded);
  CHECK((*listed)[0].request.amount_minor == 4900);
  CHECK((*listed)[4].result.status == ChargeStatus::declined);

  auto first_two = p.provider->charges(2);
  REQUIRE(first_two.has_value());
  CHECK(first_two->size() == 2);
}

TEST_CASE("test provider: pm_decline_<N>_then_ok declines the first N distinct charges of each invoice", "[payments]") {
  Provider p;
  const std::string method = "pm_decline_3_then_ok";
  std::vector<ChargeStatus> invoice_a;
  for (int attempt = 1; attempt <= 5; ++attempt) {
    invoice_a.push_back(p.charged(request("a-" + std::to_string(attempt), "inv-a", method)).status);
  }
  CHECK(invoice_a == std::vector<ChargeStatus>{ChargeStatus::declined, ChargeStatus::declined, ChargeStatus::declined,
                                               ChargeStatus::succeeded, ChargeStatus::succeeded});

  // Another invoice starts its own count.
  CHECK(p.charged(request("b-1", "inv-b", method)).status == ChargeStatus::declined);

  // Repeating a key is not a new attempt: the first key still answers its decline, and
  // inv-b's next distinct key is its second decline, not a success.
  CHECK(p.charged(request("b-1", "inv-b", method)).status == ChargeStatus::declined);
  CHECK(p.charged(request("b-1", "inv-b", method)).status == ChargeStatus::declined);
  CHECK(p.charged(request("b-2", "inv-b", method)).status == ChargeStatus::declined);
  CHECK(p.charged(request("b-3", "inv-b", method)).status == ChargeStatus::declined);
  CHECK(p.charged(request("b-4", "inv-b", method)).status == ChargeStatus::succeeded);
  CHECK(p.charged(request("a-1", "inv-a", method)).status == ChargeStatus::declined);

  // N = 0 never declines; the count is per method and invoice.
  CHECK(p.charged(request("c-1", "inv-a", "pm_decline_0_then_ok")).status == ChargeStatus::succeeded);
  CHECK(p.charged(request("d-1", "inv-a", "pm_decline_1_then_ok")).status == ChargeStatus::declined);
  CHECK(p.charged(request("d-2", "inv-a", "pm_decline_1_then_ok")).status == ChargeStatus::succeeded);
  CHECK(p.count() == 12);
}

TEST_CASE("test provider: the same key repeated returns the same result and charges once", "[payments]") {
  Provider p;
  const auto first = p.charged(request("inv-9/attempt-1", "inv-9", "pm_ok"));
  for (int i = 0; i < 5; ++i) {
    auto again = request("inv-9/attempt-1", "inv-9", "pm_ok");
    again.attempt = 1 + i;  // informational: not part of what the key stands for
    const auto repeated = p.charged(again);
    CHECK(repeated.status == first.status);
    CHECK(repeated.payment_id == first.payment_id);
  }
  CHECK(p.count() == 1);

  SECTION("the key with another charge behind it is refused, and charges nothing") {
    const auto error = p.refused(request("inv-9/attempt-1", "inv-9", "pm_ok", 5000));
    CHECK(error.type == payments::kInvalidRequest);
    CHECK_FALSE(error.retryable);
    CHECK_THAT(error.message, Catch::Contains("inv-9/attempt-1"));
    CHECK(p.refused(request("inv-9/attempt-1", "inv-10", "pm_ok")).type == payments::kInvalidRequest);
    CHECK(p.refused(request("inv-9/attempt-1", "inv-9", "pm_decline")).type == payments::kInvalidRequest);
    CHECK(p.count() == 1);
  }
}

TEST_CASE("test provider: charges survive reopening the store", "[payments]") {
  Provider p;
  const auto ok = p.charged(request("k-ok", "inv-1", "pm_ok"));
  const auto declined = p.charged(request("k-decline", "inv-2", "pm_decline"));
  CHECK(p.charged(request("k-d1", "inv-3", "pm_decline_2_then_ok")).status == ChargeStatus::declined);
  REQUIRE(p.count() == 3);

  p.open();  // as after a restart: a new store object and a new provider over the same files

  const auto ok_again = p.charged(request("k-ok", "inv-1", "pm_ok"));
  CHECK(ok_again.status == ChargeStatus::succeeded);
  CHECK(ok_again.payment_id == ok.payment_id);
  const auto declined_again = p.charged(request("k-decline", "inv-2", "pm_decline"));
  CHECK(declined_again.status == ChargeStatus::declined);
  CHECK(declined_again.payment_id == declined.payment_id);
  CHECK(p.count() == 3);

  // The per-invoice count went on across the restart: a second decline, then success.
  CHECK(p.charged(request("k-d2", "inv-3", "pm_decline_2_then_ok")).status == ChargeStatus::declined);
  CHECK(p.charged(request("k-d3", "inv-3", "pm_decline_2_then_ok")).status == ChargeStatus::succeeded);
  // Payment ids go on from where they were, never reused.
  auto listed = p.provider->charges(10);
  REQUIRE(listed.has_value());
  std::set<std::string> payment_ids;
  for (const auto& charge : *listed) payment_ids.insert(charge.result.payment_id);
  CHECK(payment_ids.size() == 5);
  CHECK(p.count() == 5);
}

TEST_CASE("test provider: unknown tokens and invalid requests are invalid_request, not retryable", "[payments]") {
  Provider p;
  for (const std::string token : {"pm_visa", "pm_decline_x_then_ok", "pm_decline_3_then", "pm_decline_3", "pm_declined",
                                  "pm_decline_1001_then_ok", "pm_decline_007_then_ok", "PM_OK", "pm_decline__then_ok"}) {
    INFO(token);
    const auto error = p.refused(request("k-" + token, "inv-1", token));
    CHECK(error.type == payments::kInvalidRequest);
    CHECK_FALSE(error.retryable);
    CHECK_THAT(error.message, Catch::Contains("\"" + token + "\""));
  }

  auto no_key = request("", "inv-1", "pm_ok");
  auto spaced_key = request("two words", "inv-1", "pm_ok");
  auto zero = request("k", "inv-1", "pm_ok", 0);
  auto lower_currency = request("k", "inv-1", "pm_ok");
  lower_currency.currency = "eur";
  auto no_invoice = request("k", "", "pm_ok");
  auto attempt_zero = request("k", "inv-1", "pm_ok");
  attempt_zero.attempt = 0;
  for (const auto& [bad, field] : std::vector<std::pair<payments::ChargeRequest, std::string>>{
           {no_key, "idempotency_key"}, {spaced_key, "idempotency_key"}, {zero, "amount_minor"},
           {lower_currency, "currency"}, {no_invoice, "invoice_id"}, {attempt_zero, "attempt"}}) {
    INFO(field);
    const auto error = p.refused(bad);
    CHECK(error.type == payments::kInvalidRequest);
    CHECK_FALSE(error.retryable);
    CHECK_THAT(error.message, Catch::StartsWith(field));
  }
  CHECK(p.count() == 0);
}

TEST_CASE("test provider: one key raced by several threads is one charge with one answer", "[payments]") {
  Provider p;
  constexpr int kThreads = 8;
  std::vector<payments::ChargeOutcome> outcomes(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      // Half of them race on one key, the others charge keys of their own.
      const std::string key = i % 2 == 0 ? "shared" : "own-" + std::to_string(i);
      outcomes[static_cast<size_t>(i)] = p.provider->charge(request(key, "inv-race", "pm_decline_2_then_ok"));
    });
  }
  for (auto& thread : threads) thread.join();

  std::set<std::string> shared_payment_ids;
  for (int i = 0; i < kThreads; i += 2) {
    REQUIRE(outcomes[static_cast<size_t>(i)].has_value());
    shared_payment_ids.insert(outcomes[static_cast<size_t>(i)]->payment_id);
  }
  CHECK(shared_payment_ids.size() == 1);
  // Five distinct keys on one invoice: two declines, three successes, whichever came first.
  CHECK(p.count() == 5);
  auto listed = p.provider->charges(10);
  REQUIRE(listed.has_value());
  int declined = 0;
  for (const auto& charge : *listed) declined += charge.result.status == ChargeStatus::declined ? 1 : 0;
  CHECK(declined == 2);
}
