// Usage exactly once under faults: clients keep POSTing batches and retry each until it
// is accepted, while `tenantry serve` is killed with SIGKILL at random points and
// restarted on the same data. The meters must end at the ground truth: no event lost,
// none counted twice (retries after success, replays of the projection after a crash).
#include <catch2/catch.hpp>

#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <random>
#include <thread>

#include "child_process.h"
#include "gateway/api_client.h"
#include "gateway/serve_fixture.h"
#include "http/jwt_test_support.h"
#include "test_support.h"

using tenantry::testing::ChildProcess;
using namespace std::chrono_literals;

namespace {

const std::string kSecret = "usage-crash-test-secret-of-32-bytes-or-more";

// POSTs a batch; the status, or 0 when there was no answer.
int post(uint16_t port, const std::string& bearer, const std::string& body) {
  return tenantry::testing::status_or_none(port, "POST", "/v1/usage", bearer, body, {}, 10);
}

}  // namespace

TEST_CASE("usage: kill -9 during ingestion with retrying clients, and the totals are the ground truth",
          "[gateway][crash][usage]") {
  tenantry::testing::ScratchDir dir;
  const std::string meters = (dir.path() / "meters.json").string();
  std::ofstream(meters) << R"({"meters":[{"name":"units","eventType":"work.done","aggregation":"SUM","valueProperty":"$.units"},
                                         {"name":"jobs","eventType":"work.done","aggregation":"COUNT"}]})";
  const std::vector<std::string> args = {TENANTRY_BINARY, "serve", "--http-port", "0", "--data-dir",
                                         (dir.path() / "data").string(), "--jwt-hs256-secret", kSecret,
                                         "--partitions", "4", "--meters-file", meters};
  const std::string admin = tenantry::testing::jwt::bearer_hs256(kSecret, "ops", R"(["platform_admin"])");
  const std::vector<std::string> tenants = {"t-alpha", "t-beta", "t-gamma"};
  std::map<std::string, double> truth;  // units per tenant, over every batch ever accepted

  std::unique_ptr<ChildProcess> serve = std::make_unique<ChildProcess>(args);
  std::atomic<uint16_t> port{tenantry::testing::listening_port(*serve)};
  {
    tenantry::testing::ApiClient api{port};
    for (const auto& id : tenants) {
      const std::string body = R"({"id":")" + id + R"(","slug":")" + id + R"(","displayName":"T","plan":"enterprise",)"
                               R"("isolationTier":"shared","region":"eu-west-1","adminContact":{"name":"A","email":"a@example.com"}})";
      REQUIRE(api.call("POST", "/v1/tenants", admin, body).status == 201);
    }
    api.until("/v1/tenants/t-gamma", admin, [](const tenantry::testing::Reply& r) { return r.status == 200; });
  }

  // Two clients; each batch has fixed ids and values and is retried until accepted.
  std::atomic<bool> stop{false};
  std::atomic<int> batches_done{0};
  std::mutex truth_mutex;
  std::vector<std::thread> clients;
  for (int c = 0; c < 2; ++c) {
    clients.emplace_back([&, c] {
      std::mt19937 random(static_cast<unsigned>(c + 7));
      for (int b = 0; !stop; ++b) {
        std::string body = "[";
        std::map<std::string, double> units;
        for (int e = 0; e < 20; ++e) {
          const std::string& tenant = tenants[random() % tenants.size()];
          const int value = static_cast<int>(random() % 100) + 1;
          units[tenant] += value;
          body += (e ? "," : "") + std::string(R"({"specversion":"1.0","id":"c)") + std::to_string(c) + "-b" +
                  std::to_string(b) + "-e" + std::to_string(e) + R"(","source":"crash-test","type":"work.done","tenantid":")" +
                  tenant + R"(","data":{"units":)" + std::to_string(value) + "}}";
        }
        body += "]";
        // Until accepted, across kills: an answer lost with the server may mean the batch
        // is already in; the retry must then count zero more times.
        while (post(port, admin, body) != 202) std::this_thread::sleep_for(20ms);
        std::lock_guard lock(truth_mutex);
        for (const auto& [tenant, value] : units) truth[tenant] += value;
        ++batches_done;
      }
    });
  }
  // Kill at random moments, restart on the same data.
  std::mt19937 random(42);
  for (int round = 0; round < 4; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + random() % 600));
    serve->signal(SIGKILL);
    serve->wait();
    serve = std::make_unique<ChildProcess>(args);
    port = tenantry::testing::listening_port(*serve);
  }
  std::this_thread::sleep_for(300ms);
  stop = true;
  for (auto& client : clients) client.join();
  INFO("batches accepted: " << batches_done.load());
  REQUIRE(batches_done > 10);

  tenantry::testing::ApiClient api{port};
  for (const auto& tenant : tenants) {
    INFO(tenant << " ground truth " << truth[tenant]);
    auto total = api.until("/v1/tenants/" + tenant + "/usage?meter=units&window=month", admin,
                           [&](const tenantry::testing::Reply& r) {
                             return r.status == 200 &&
                                    tenantry::testing::data_of(r)->getObject("lag")->getValue<int64_t>("records") == 0 &&
                                    tenantry::testing::data_of(r)->getValue<double>("total") >= truth[tenant];
                           });
    CHECK(tenantry::testing::data_of(total)->getValue<double>("total") == truth[tenant]);
  }
  serve->signal(SIGTERM);
  CHECK(serve->wait() == 0);
}
