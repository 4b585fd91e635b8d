// kill -9 `tenantry serve` (embedded log) during a stream of HTTP commands, restart
// it, and check from the log itself that every acknowledged command is there exactly
// once; unacknowledged ones may or may not be, but never twice.
#include <catch2/catch.hpp>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <atomic>
#include <condition_variable>
#include <chrono>
#include <csignal>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "child_process.h"
#include "gateway/api_client.h"
#include "gateway/serve_fixture.h"
#include "connectors/log/accepted_reader.h"
#include "connectors/log/embedded/embedded_log.h"
#include "http/jwt_test_support.h"
#include "test_support.h"

using tenantry::testing::ChildProcess;
using namespace std::chrono_literals;

namespace {

const std::string kSecret = "http-crash-test-secret-of-32-bytes-or-more";

// POSTs one registration; the status, or 0 when the connection failed.
int register_tenant(uint16_t port, const std::string& bearer, int n) {
  const std::string body = R"({"id":"t-)" + std::to_string(n) + R"(","slug":"crash-)" + std::to_string(n) +
                           R"(","displayName":"T","plan":"basic","isolationTier":"shared","region":"eu-west-1",)"
                           R"("adminContact":{"name":"A","email":"a@example.com"}})";
  return tenantry::testing::status_or_none(port, "POST", "/v1/tenants", bearer, body,
                                           {{"Idempotency-Key", "register-" + std::to_string(n)}}, 10);
}

}  // namespace

TEST_CASE("serve: kill -9 during a stream of HTTP commands, and every acknowledged command is there exactly once",
          "[gateway][crash]") {
  tenantry::testing::ScratchDir dir;
  const std::vector<std::string> args = {TENANTRY_BINARY, "serve", "--http-port", "0", "--data-dir",
                                         dir.path().string(), "--jwt-hs256-secret", kSecret, "--partitions", "4"};
  const std::string bearer = tenantry::testing::jwt::bearer_hs256(kSecret, "ops", R"(["platform_admin"])");
  std::set<int> acknowledged;
  std::mutex mutex;
  std::condition_variable progressed;
  {
    ChildProcess first(args);
    const uint16_t port = tenantry::testing::listening_port(first);
    // Four clients stream registrations; the server is killed under them.
    std::atomic<int> next{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < 4; ++c) {
      clients.emplace_back([&] {
        while (!stop) {
          const int n = next++;
          const int status = register_tenant(port, bearer, n);
          if (status == 201) {
            std::lock_guard lock(mutex);
            acknowledged.insert(n);
            progressed.notify_all();
          }
          if (status == 0) return;  // the server is gone
        }
      });
    }
    {
      std::unique_lock lock(mutex);
      REQUIRE(progressed.wait_for(lock, 60s, [&] { return acknowledged.size() >= 150; }));
    }
    first.signal(SIGKILL);
    CHECK(first.wait() == 128 + SIGKILL);
    stop = true;
    for (auto& client : clients) client.join();
  }
  const std::set<int> before_restart = acknowledged;

  // Restart: the same data, and a retry of every acknowledged command gives its
  // original answer instead of a second tenant.
  {
    ChildProcess second(args);
    const uint16_t port = tenantry::testing::listening_port(second);
    for (int n : before_restart) {
      INFO("retry of acknowledged command " << n);
      CHECK(register_tenant(port, bearer, n) == 201);
    }
    second.signal(SIGTERM);
    REQUIRE(second.wait() == 0);
  }

  // The log itself: every acknowledged command has exactly one event, none has two.
  tenantry::log::embedded::EmbeddedOptions options;
  options.path = (dir.path() / "log").string();
  auto log = tenantry::log::embedded::open_embedded_log(options);
  REQUIRE(log.has_value());
  std::map<std::string, int> events_per_command;
  int violations = 0;
  for (int32_t p = 0; p < 4; ++p) {
    auto reader = tenantry::log::AcceptedReader::open(**log, "tenantry.events", p, 0, tenantry::log::TopicKind::events);
    REQUIRE(reader.has_value());
    for (;;) {
      auto batch = (*reader)->read(10000, 0ms);
      REQUIRE(batch.has_value());
      if (batch->records_read == 0) break;
      violations += static_cast<int>(batch->violations.size());
      for (const auto& accepted : batch->records) ++events_per_command[accepted.envelope.command_id()];
    }
  }
  CHECK(violations == 0);
  int twice = 0;
  for (const auto& [id, count] : events_per_command) twice += count > 1;
  CHECK(twice == 0);
  int missing = 0;
  for (int n : before_restart) missing += events_per_command.count("register-" + std::to_string(n)) == 0;
  CHECK(missing == 0);
  WARN("acknowledged before the kill: " << before_restart.size() << ", events: " << events_per_command.size());
}
