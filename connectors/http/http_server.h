// A small HTTP server on Poco: exact-path routes to handlers, bounded threads and
// queue, bounded request bodies. The gateway builds on it.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tenantry::http {

struct FieldDetail {
  std::string field;
  std::string message;
};

struct HttpRequest {
  std::string method;
  std::string path;
  std::string query;
  std::map<std::string, std::string> headers;       // names lower-cased
  std::map<std::string, std::string> path_params;   // from {name} segments of the route
  std::string body;
  // From a well-formed X-Request-ID header, or generated; echoed in the response.
  std::string request_id;
  int64_t received_at_us = 0;  // for meta.durationMs
};

// Hands a streamed body over piece by piece; returns false once the client is gone.
using BodyWriter = std::function<bool(std::string_view piece)>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
  // When set, the body is produced by this function instead of `body` and sent with
  // chunked transfer encoding as it is written, so a large export never sits in
  // memory whole. It returns false to abort (the connection is then closed).
  std::function<bool(const BodyWriter& write)> stream;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct Route {
  std::string method;
  // Exact segments, or "{name}" for one segment bound to path_params["name"].
  std::string path;
  HttpHandler handler;
  // For the OpenAPI document: one line, and who may call it.
  std::string summary;
  std::vector<std::string> roles;  // empty: no authentication
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

// The response envelope every /v1 endpoint answers with:
// {"success", "code", "message", "data", "meta": {"requestId", "timestamp", "durationMs"}}
// `data_json` is a serialized JSON value ("null" when there is none).
HttpResponse ok_response(const HttpRequest& request, int status, const std::string& message,
                         const std::string& data_json);
// The same envelope with success false and "error": {"type", "details": [{"field", "message"}]}.
HttpResponse error_response(const HttpRequest& request, int status, const std::string& type,
                            const std::string& message, const std::vector<FieldDetail>& details = {});
// An OpenAPI 3.0 document of `routes`, generated from the same table the server
// dispatches on, so it cannot list an endpoint the server lacks or miss one it has.
std::string openapi_document(const std::vector<Route>& routes, const std::string& title, const std::string& version);

// For failures before a request is parsed (no request id yet).
HttpResponse error_response(int status, const std::string& type, const std::string& message);

}  // namespace tenantry::http
