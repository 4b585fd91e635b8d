// `tenantry serve` as a child process on either engine, for the gateway's end-to-end
// tests: on Kafka it runs beside a `tenantry devbroker` process of its own.
#pragma once

#include <catch2/catch.hpp>

#include <csignal>
#include <memory>
#include <regex>

#include "child_process.h"
#include "test_support.h"

namespace tenantry::testing {

// The port a `tenantry serve` child reports in its "listening on" line.
inline uint16_t listening_port(ChildProcess& serve) {
  auto line = serve.wait_for_line("listening on", std::chrono::seconds(60));
  INFO(serve.stderr_text());
  REQUIRE(line.has_value());
  std::smatch match;
  REQUIRE(std::regex_search(*line, match, std::regex(R"(:(\d+) \()")));
  return static_cast<uint16_t>(std::stoi(match[1]));
}

class ServeFixture {
 public:
  ServeFixture(const std::string& engine, std::vector<std::string> extra_args) {
    std::vector<std::string> args = {TENANTRY_BINARY, "serve", "--http-port", "0", "--data-dir", dir_.path().string(),
                                     "--partitions", "4"};
    if (engine == "kafka") {
      broker_ = std::make_unique<ChildProcess>(std::vector<std::string>{TENANTRY_BINARY, "devbroker", "--tenantry-topics", "4"});
      auto line = broker_->wait_for_line("bootstrap.servers=", std::chrono::seconds(30));
      REQUIRE(line.has_value());
      bootstrap_ = line->substr(line->find('=') + 1);
      args.insert(args.end(), {"--engine", "kafka", "--kafka-bootstrap", bootstrap_});
    }
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    serve_ = std::make_unique<ChildProcess>(args);
    port_ = listening_port(*serve_);
  }

  ~ServeFixture() {
    // Stops cleanly; a test that wants the exit code calls stop() itself.
    if (serve_) stop();
  }

  // SIGTERM, and the exit code.
  int stop() {
    serve_->signal(SIGTERM);
    const int code = serve_->wait();
    serve_.reset();
    if (broker_) {
      broker_->signal(SIGINT);
      broker_->wait();
      broker_.reset();
    }
    return code;
  }

  uint16_t port() const { return port_; }
  // The development broker's bootstrap servers (Kafka engine only), for a test that
  // produces onto a topic as any Kafka client would.
  const std::string& bootstrap() const { return bootstrap_; }
  // The server's --data-dir (the embedded log is in its "log" folder).
  const std::filesystem::path& data_dir() const { return dir_.path(); }

 private:
  ScratchDir dir_;
  std::unique_ptr<ChildProcess> broker_;
  std::unique_ptr<ChildProcess> serve_;
  uint16_t port_ = 0;
  std::string bootstrap_;
};

}  // namespace tenantry::testing
