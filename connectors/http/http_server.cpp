#include "connectors/http/http_server.h"

#include <Poco/JSON/Object.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/ThreadPool.h>

#include <algorithm>
#include <sstream>

namespace tenantry::http {

namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

class Dispatch final : public Poco::Net::HTTPRequestHandler {
 public:
  Dispatch(const std::vector<Route>& routes, size_t max_body_bytes)
      : routes_(routes), max_body_bytes_(max_body_bytes) {}

  void handleRequest(Poco::Net::HTTPServerRequest& in, Poco::Net::HTTPServerResponse& out) override {
    HttpResponse response = handle(in);
    out.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(response.status));
    out.setContentType(response.content_type);
    for (const auto& [name, value] : response.headers) out.set(name, value);
    out.setContentLength(static_cast<std::streamsize>(response.body.size()));
    out.send() << response.body;
  }

 private:
  HttpResponse handle(Poco::Net::HTTPServerRequest& in) {
    HttpRequest request;
    request.method = in.getMethod();
    const std::string& uri = in.getURI();
    const auto question = uri.find('?');
    request.path = uri.substr(0, question);
    if (question != std::string::npos) request.query = uri.substr(question + 1);
    for (const auto& [name, value] : in) request.headers[lower(name)] = value;
    if (in.hasContentLength() && static_cast<size_t>(in.getContentLength64()) > max_body_bytes_) {
      return error_response(413, "payload_too_large",
                            "request body exceeds " + std::to_string(max_body_bytes_) + " bytes");
    }
    // Read at most one byte past the limit, so a body without a length is bounded too.
    std::string body;
    char buffer[8192];
    auto& stream = in.stream();
    while (stream.read(buffer, sizeof buffer) || stream.gcount() > 0) {
      body.append(buffer, static_cast<size_t>(stream.gcount()));
      if (body.size() > max_body_bytes_) {
        return error_response(413, "payload_too_large",
                              "request body exceeds " + std::to_string(max_body_bytes_) + " bytes");
      }
    }
    request.body = std::move(body);
    bool path_known = false;
    for (const auto& route : routes_) {
      if (route.path != request.path) continue;
      path_known = true;
      if (route.method == request.method) {
        try {
          return route.handler(request);
        } catch (const std::exception& e) {
          return error_response(500, "internal_error", "the request could not be handled");
        }
      }
    }
    if (path_known) return error_response(405, "method_not_allowed", request.method + " is not allowed on " + request.path);
    return error_response(404, "not_found", "no such endpoint: " + request.path);
  }

  const std::vector<Route>& routes_;
  size_t max_body_bytes_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(const std::vector<Route>& routes, size_t max_body_bytes)
      : routes_(routes), max_body_bytes_(max_body_bytes) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Dispatch(routes_, max_body_bytes_);
  }

 private:
  const std::vector<Route>& routes_;
  size_t max_body_bytes_;
};

class PocoHttpServer final : public HttpServer {
 public:
  explicit PocoHttpServer(std::vector<Route> routes) : routes_(std::move(routes)) {}
  ~PocoHttpServer() override { stop(); }

  std::expected<void, std::string> start(const HttpServerOptions& options) {
    try {
      Poco::Net::SocketAddress address(options.host, options.port);
      socket_ = std::make_unique<Poco::Net::ServerSocket>(address, 64);
      pool_ = std::make_unique<Poco::ThreadPool>(2, options.max_threads);
      auto* params = new Poco::Net::HTTPServerParams;
      params->setMaxThreads(options.max_threads);
      params->setMaxQueued(options.max_queued);
      params->setKeepAlive(true);
      server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(routes_, options.max_body_bytes), *pool_,
                                                        *socket_, params);
      server_->start();
      port_ = socket_->address().port();
      return {};
    } catch (const Poco::Exception& e) {
      return std::unexpected("cannot listen on " + options.host + ":" + std::to_string(options.port) + ": " +
                             e.displayText());
    }
  }

  uint16_t port() const override { return port_; }

  void stop() override {
    if (!server_) return;
    server_->stopAll(false);  // stop accepting; in-flight requests run to completion
    pool_->joinAll();
    server_.reset();
    pool_.reset();
    socket_.reset();
  }

 private:
  std::vector<Route> routes_;
  std::unique_ptr<Poco::Net::ServerSocket> socket_;
  std::unique_ptr<Poco::ThreadPool> pool_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  uint16_t port_ = 0;
};

}  // namespace

std::expected<std::unique_ptr<HttpServer>, std::string> HttpServer::start(const HttpServerOptions& options,
                                                                          std::vector<Route> routes) {
  auto server = std::make_unique<PocoHttpServer>(std::move(routes));
  if (auto started = server->start(options); !started) return std::unexpected(started.error());
  return std::unique_ptr<HttpServer>(std::move(server));
}

HttpResponse error_response(int status, const std::string& type, const std::string& message) {
  Poco::JSON::Object error;
  error.set("type", type);
  error.set("details", Poco::JSON::Array());
  Poco::JSON::Object body;
  body.set("success", false);
  body.set("code", status);
  body.set("message", message);
  body.set("error", error);
  std::ostringstream out;
  body.stringify(out);
  return HttpResponse{status, "application/json", out.str(), {}};
}

}  // namespace tenantry::http
