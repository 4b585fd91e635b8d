// A local HTTP server that serves a JWKS document the test controls: what it answers
// (status, body, chunked or not, a delay), and how many times it was asked.
#pragma once

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace tenantry::testing {

class JwksTestServer {
 public:
  struct Answer {
    int status = 200;
    std::string body;
    bool chunked = false;  // no Content-Length
    std::chrono::milliseconds delay{0};
  };

  JwksTestServer() : socket_(Poco::Net::SocketAddress("127.0.0.1", 0)) {
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(4);
    params->setKeepAlive(false);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), socket_, params);
    server_->start();
  }
  ~JwksTestServer() { server_->stopAll(true); }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(socket_.address().port()) + "/jwks.json"; }

  void serve(Answer answer) {
    std::lock_guard lock(mutex_);
    answer_ = std::move(answer);
  }
  // A JWKS of these JWK objects (comma-separated JSON objects).
  void serve_keys(const std::string& jwks_members) { serve({200, R"({"keys":[)" + jwks_members + "]}"}); }

  int fetches() const {
    std::lock_guard lock(mutex_);
    return fetches_;
  }
  // Blocks until at least `count` requests have arrived, or the deadline.
  bool wait_for_fetches(int count, std::chrono::milliseconds deadline) {
    std::unique_lock lock(mutex_);
    return answered_.wait_for(lock, deadline, [&] { return fetches_ >= count; });
  }

 private:
  class Handler final : public Poco::Net::HTTPRequestHandler {
   public:
    explicit Handler(JwksTestServer& server) : server_(server) {}
    void handleRequest(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse& response) override {
      // Counted on arrival, so a caller that has its answer sees the count include it.
      Answer answer;
      {
        std::lock_guard lock(server_.mutex_);
        answer = server_.answer_;
        ++server_.fetches_;
      }
      server_.answered_.notify_all();
      if (answer.delay.count() > 0) std::this_thread::sleep_for(answer.delay);  // a slow server, on purpose
      response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(answer.status));
      response.setContentType("application/json");
      if (answer.chunked) {
        response.setChunkedTransferEncoding(true);
      } else {
        response.setContentLength64(static_cast<Poco::Int64>(answer.body.size()));
      }
      response.send() << answer.body;
    }

   private:
    JwksTestServer& server_;
  };

  class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
   public:
    explicit Factory(JwksTestServer& server) : server_(server) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
      return new Handler(server_);
    }

   private:
    JwksTestServer& server_;
  };

  Poco::Net::ServerSocket socket_;
  mutable std::mutex mutex_;
  std::condition_variable answered_;
  Answer answer_{404, "{}"};
  int fetches_ = 0;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

}  // namespace tenantry::testing
