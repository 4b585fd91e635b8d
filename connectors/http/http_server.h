// A small HTTP server on Poco: exact-path routes to handlers, bounded threads and
// queue, bounded request bodies. The gateway builds on it.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tenantry::http {

struct HttpRequest {
  std::string method;
  std::string path;
  std::string query;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct Route {
  std::string method;
  std::string path;
  HttpHandler handler;
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;       // 0: any free port
  int max_threads = 16;
  int max_queued = 256;       // connections waiting beyond this are refused
  size_t max_body_bytes = 1u << 20;
};

class HttpServer {
 public:
  static std::expected<std::unique_ptr<HttpServer>, std::string> start(const HttpServerOptions& options,
                                                                       std::vector<Route> routes);
  virtual ~HttpServer() = default;
  virtual uint16_t port() const = 0;
  // Stops accepting and waits for in-flight requests to finish.
  virtual void stop() = 0;
};

// {"success":false,"code":status,"message":...,"error":{"type":...,"details":[...]}}
HttpResponse error_response(int status, const std::string& type, const std::string& message);

}  // namespace tenantry::http
