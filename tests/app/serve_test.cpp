// `tenantry serve` and `tenantry devbroker` as a user runs them: a real process,
// a real socket, a real signal.
#include <catch2/catch.hpp>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <csignal>
#include <regex>

#include "child_process.h"
#include "test_support.h"

using tenantry::testing::ChildProcess;
using namespace std::chrono_literals;

namespace {

std::pair<int, std::string> get(uint16_t port, const std::string& path) {
  Poco::Net::HTTPClientSession session("127.0.0.1", port);
  Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, path, Poco::Net::HTTPMessage::HTTP_1_1);
  session.sendRequest(request);
  Poco::Net::HTTPResponse response;
  std::string body;
  Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
  return {static_cast<int>(response.getStatus()), body};
}

uint16_t port_of(const std::string& line) {
  std::smatch match;
  REQUIRE(std::regex_search(line, match, std::regex(R"(http://127\.0\.0\.1:(\d+))")));
  return static_cast<uint16_t>(std::stoi(match[1]));
}

}  // namespace

TEST_CASE("serve: starts on the embedded log, reports where it listens, stops cleanly", "[serve]") {
  for (int signal : {SIGTERM, SIGINT}) {
    tenantry::testing::ScratchDir dir;
    ChildProcess serve({TENANTRY_BINARY, "serve", "--http-port", "0", "--data-dir", dir.path().string()});
    auto line = serve.wait_for_line("listening on", 30s);
    REQUIRE(line.has_value());
    CHECK_THAT(*line, Catch::Contains("engine embedded"));
    const uint16_t port = port_of(*line);
    auto [status, body] = get(port, "/healthz");
    CHECK(status == 200);
    CHECK_THAT(body, Catch::Contains("ok"));
    CHECK(get(port, "/readyz").first == 200);
    CHECK(get(port, "/no-such-thing").first == 404);
    serve.signal(signal);
    CHECK(serve.wait() == 0);
    CHECK_THAT(serve.stdout_text(), Catch::Contains("stopped"));
    CHECK(std::filesystem::exists(dir.path() / "log" / "CURRENT"));
  }
}

TEST_CASE("serve: bad configuration fails at start with the option at fault", "[serve]") {
  tenantry::testing::ScratchDir dir;
  auto bad_port = tenantry::testing::run_to_end({TENANTRY_BINARY, "serve", "--http-port", "http"});
  CHECK(bad_port.code == 2);
  CHECK_THAT(bad_port.err, Catch::Contains("--http-port"));

  auto bad_engine = tenantry::testing::run_to_end({TENANTRY_BINARY, "serve", "--engine", "kafka"});
  CHECK(bad_engine.code == 2);
  CHECK_THAT(bad_engine.err, Catch::Contains("--kafka-bootstrap"));

  auto unknown = tenantry::testing::run_to_end({TENANTRY_BINARY, "serve", "--colour", "blue"});
  CHECK(unknown.code == 2);
  CHECK_THAT(unknown.err, Catch::Contains("--colour"));

  auto partitions = tenantry::testing::run_to_end(
      {TENANTRY_BINARY, "serve", "--data-dir", dir.path().string(), "--partitions", "0"});
  CHECK(partitions.code == 2);
  CHECK_THAT(partitions.err, Catch::Contains("--partitions"));
}

TEST_CASE("every command documents its options in --help", "[serve]") {
  for (std::string command : {"serve", "devbroker"}) {
    auto help = tenantry::testing::run_to_end({TENANTRY_BINARY, command, "--help"});
    INFO(command);
    CHECK(help.code == 0);
    CHECK_THAT(help.out, Catch::Contains("Usage: tenantry " + command));
    CHECK_THAT(help.out, Catch::Contains("TENANTRY_"));
  }
  auto serve = tenantry::testing::run_to_end({TENANTRY_BINARY, "serve", "--help"});
  for (std::string option : {"--http-port", "--engine", "--data-dir", "--kafka-bootstrap", "--partitions", "--fsync"}) {
    CHECK_THAT(serve.out, Catch::Contains(option));
  }
  auto bench = tenantry::testing::run_to_end({TENANTRY_BINARY, "bench", "log", "--help"});
  CHECK(bench.code == 0);
  CHECK_THAT(bench.out, Catch::Contains("--records"));
  auto top = tenantry::testing::run_to_end({TENANTRY_BINARY, "--help"});
  CHECK(top.code == 0);
  CHECK_THAT(top.out, Catch::Contains("devbroker"));
}

TEST_CASE("serve: runs on Kafka through a devbroker in another process", "[serve][kafka]") {
  ChildProcess broker({TENANTRY_BINARY, "devbroker", "--tenantry-topics", "4"});
  auto line = broker.wait_for_line("bootstrap.servers=", 30s);
  REQUIRE(line.has_value());
  const std::string bootstrap = line->substr(line->find('=') + 1);

  ChildProcess serve({TENANTRY_BINARY, "serve", "--http-port", "0", "--engine", "kafka", "--kafka-bootstrap",
                      bootstrap, "--partitions", "4"});
  auto listening = serve.wait_for_line("listening on", 60s);
  INFO(serve.stderr_text());
  REQUIRE(listening.has_value());
  CHECK_THAT(*listening, Catch::Contains("engine kafka"));
  CHECK(get(port_of(*listening), "/healthz").first == 200);
  serve.signal(SIGTERM);
  CHECK(serve.wait() == 0);
  broker.signal(SIGINT);
  CHECK(broker.wait() == 0);
}
