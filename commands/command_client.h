// Publishes commands on the commands topic and waits for their replies, for the HTTP
// gateway, tools and benchmarks. One reader thread per replies partition tails the
// accepted replies from where they ended when the client started, and hands each
// reply to whoever waits for its command id.
#pragma once

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "connectors/log/accepted_reader.h"
#include "tenantry/v1/command.pb.h"

namespace tenantry::commands {

struct ClientOptions {
  std::string commands_topic = "tenantry.commands";
  std::string replies_topic = "tenantry.replies";
  size_t max_waiting = 100000;                // commands awaiting a reply at most
  std::chrono::milliseconds poll_wait{100};   // bounds how long stop() takes
};

class CommandClient {
 public:
  static log::Result<std::unique_ptr<CommandClient>> start(log::EventLog& log, ClientOptions options = {});
  ~CommandClient();

  // Appends the command (keyed by its tenant) and returns a future for its reply. A
  // command whose reply does not arrive is the caller's to time out (future wait_for).
  std::future<log::Result<v1::CommandReply>> submit(const v1::CommandEnvelope& command);
  // submit + wait up to `timeout`.
  log::Result<v1::CommandReply> execute(const v1::CommandEnvelope& command, std::chrono::milliseconds timeout);

 private:
  using Waiter = std::promise<log::Result<v1::CommandReply>>;
  CommandClient(log::EventLog& log, ClientOptions options) : log_(log), options_(std::move(options)) {}
  void tail(log::AcceptedReader& reader);
  void resolve(const std::string& key, log::Result<v1::CommandReply> outcome);

  log::EventLog& log_;
  ClientOptions options_;
  std::vector<std::unique_ptr<log::AcceptedReader>> readers_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::unordered_map<std::string, Waiter> waiting_;  // tenant \0 command id -> waiter
};

}  // namespace tenantry::commands
