// The billing saga under faults: three tenants on test clocks are driven through a year
// of monthly closes (each invoice declined once, then paid on its retry) while
// `tenantry serve` is killed with SIGKILL at random points and restarted on the same
// data. Every advance is retried until answered. At the end each tenant has exactly
// twelve invoices, numbered 1 to 12, each paid once and declined once: no invoice
// issued twice, no charge asked twice, no payment lost.
#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <ctime>
#include <random>
#include <thread>

#include "child_process.h"
#include "gateway/api_client.h"
#include "gateway/serve_fixture.h"
#include "http/jwt_test_support.h"
#include "test_support.h"

using tenantry::testing::ChildProcess;
using tenantry::testing::data_of;
using namespace std::chrono_literals;

namespace {

const std::string kSecret = "billing-crash-test-secret-of-32-bytes-or-more";

std::string month(int index) {  // 0 -> 2025-01-01, 12 -> 2026-01-01
  const int year = 2025 + index / 12;
  const int m = index % 12 + 1;
  return std::to_string(year) + (m < 10 ? "-0" : "-") + std::to_string(m) + "-01T00:00:00Z";
}

}  // namespace

TEST_CASE("billing: kill -9 during a year of closes and charges, and nothing is issued or charged twice",
          "[gateway][crash][billing]") {
  tenantry::testing::ScratchDir dir;
  const std::vector<std::string> args = {TENANTRY_BINARY, "serve", "--http-port", "0", "--data-dir",
                                         (dir.path() / "data").string(), "--jwt-hs256-secret", kSecret,
                                         "--partitions", "4", "--saga-interval-ms", "50"};
  const std::string admin = tenantry::testing::jwt::bearer_hs256(kSecret, "ops", R"(["platform_admin"])");
  const std::vector<std::string> tenants = {"b-alpha", "b-beta", "b-gamma"};

  std::unique_ptr<ChildProcess> serve = std::make_unique<ChildProcess>(args);
  std::atomic<uint16_t> port{tenantry::testing::listening_port(*serve)};
  {
    tenantry::testing::ApiClient api{port};
    for (const auto& id : tenants) {
      const std::string body = R"({"id":")" + id + R"(","slug":")" + id + R"(","displayName":"T","plan":"free",)"
                               R"("isolationTier":"shared","region":"eu-west-1","adminContact":{"name":"A","email":"a@example.com"}})";
      REQUIRE(api.call("POST", "/v1/tenants", admin, body).status == 201);
      api.until("/v1/tenants/" + id, admin, [](const tenantry::testing::Reply& r) { return r.status == 200; });
      REQUIRE(api.call("POST", "/v1/tenants/" + id + "/test-clock", admin, R"({"now":")" + month(0) + R"("})").status == 201);
      REQUIRE(api.call("POST", "/v1/tenants/" + id + "/subscription", admin,
                       R"({"plan":"basic","trial":false,"paymentMethod":"pm_decline_1_then_ok"})")
                  .status == 201);
    }
  }

  // Each tenant's clock moves six hours at a time through the year; every step is
  // retried (on the same target) until answered, across kills.
  std::atomic<bool> done{false};
  std::vector<std::thread> drivers;
  for (const auto& tenant : tenants) {
    drivers.emplace_back([&, tenant] {
      for (int step = 1; step <= 366 * 4; ++step) {
        const int64_t seconds = int64_t{step} * 6 * 3600;  // after 2025-01-01 (1735689600)
        std::string iso;
        {
          const std::time_t t = static_cast<std::time_t>(1735689600LL + seconds);
          std::tm civil{};
          gmtime_r(&t, &civil);  // one per thread: std::gmtime's buffer is shared
          char text[32];
          std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &civil);
          iso = text;
        }
        while (tenantry::testing::status_or_none(port, "POST", "/v1/tenants/" + tenant + "/test-clock/advance", admin,
                                                 R"({"to":")" + iso + R"("})") != 200) {
          std::this_thread::sleep_for(20ms);
        }
      }
    });
  }
  std::thread waiter([&] {
    for (auto& driver : drivers) driver.join();
    done = true;
  });
  std::mt19937 random(7);
  int kills = 0;
  for (int round = 0; round < 6 && !done; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + random() % 500));
    if (done) break;
    serve->signal(SIGKILL);
    serve->wait();
    ++kills;
    serve = std::make_unique<ChildProcess>(args);
    port = tenantry::testing::listening_port(*serve);
  }
  waiter.join();
  INFO("kills while the year ran: " << kills);
  REQUIRE(kills >= 3);

  tenantry::testing::ApiClient api{port};
  for (const auto& tenant : tenants) {
    INFO(tenant);
    auto listed = api.call("GET", "/v1/tenants/" + tenant + "/invoices", admin);
    REQUIRE(listed.status == 200);
    auto invoices = data_of(listed)->getArray("invoices");
    REQUIRE(invoices->size() == 12);
    for (size_t i = 0; i < invoices->size(); ++i) {
      auto invoice = invoices->getObject(static_cast<unsigned>(i));
      INFO("invoice " << i + 1);
      CHECK(invoice->getValue<uint64_t>("number") == i + 1);
      CHECK(invoice->getValue<std::string>("status") == "paid");
      CHECK(invoice->getValue<int64_t>("totalMinor") == 2900);
      CHECK(invoice->getArray("payments")->size() == 1);
      CHECK(invoice->getArray("failures")->size() == 1);
    }
    auto subscription = api.call("GET", "/v1/tenants/" + tenant + "/subscription", admin);
    REQUIRE(subscription.status == 200);
    CHECK(data_of(subscription)->getValue<int64_t>("receivableMinor") == 0);
    CHECK(data_of(subscription)->getValue<std::string>("status") == "active");
  }
  serve->signal(SIGTERM);
  CHECK(serve->wait() == 0);
}
