#include "connectors/http/http_server.h"

#include <Poco/JSON/Object.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/ThreadPool.h>

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Timestamp.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <sstream>

namespace tenantry::http {

namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A client's X-Request-ID is echoed only when it is 1-128 of [A-Za-z0-9._:-]: anything
// else (CR/LF for header injection, huge values) is replaced by a generated id.
std::string request_id_from(const std::map<std::string, std::string>& headers) {
  if (auto it = headers.find("x-request-id"); it != headers.end()) {
    const std::string& id = it->second;
    const bool well_formed = !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
      return std::isalnum(c) || c == '.' || c == '_' || c == ':' || c == '-';
    });
    if (well_formed) return id;
  }
  thread_local std::mt19937_64 random(std::random_device{}());
  char id[40];
  std::snprintf(id, sizeof id, "req-%016llx%08llx", static_cast<unsigned long long>(random()),
                static_cast<unsigned long long>(random() & 0xffffffffu));
  return id;
}

bool has_dot_segment(const std::string& path) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string_view segment(path.data() + start, end - start);
    if (segment == "." || segment == ".." || segment == "%2e%2e" || segment == "%2E%2E" || segment == ".%2e" ||
        segment == "%2e.") {
      return true;
    }
    start = end + 1;
  }
  return false;
}

// Matches a route template against a path, binding {name} segments.
bool match(const std::string& pattern, const std::string& path, std::map<std::string, std::string>& params) {
  size_t p = 0;
  size_t q = 0;
  while (p < pattern.size() && q < path.size()) {
    const size_t p_end = std::min(pattern.find('/', p), pattern.size());
    const size_t q_end = std::min(path.find('/', q), path.size());
    const std::string_view want(pattern.data() + p, p_end - p);
    const std::string_view got(path.data() + q, q_end - q);
    if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
      if (got.empty()) return false;
      params[std::string(want.substr(1, want.size() - 2))] = std::string(got);
    } else if (want != got) {
      return false;
    }
    p = p_end + 1;
    q = q_end + 1;
  }
  return !pattern.empty() && p >= pattern.size() && q >= path.size();
}

class Dispatch final : public Poco::Net::HTTPRequestHandler {
 public:
  Dispatch(const std::vector<Route>& routes, size_t max_body_bytes)
      : routes_(routes), max_body_bytes_(max_body_bytes) {}

  void handleRequest(Poco::Net::HTTPServerRequest& in, Poco::Net::HTTPServerResponse& out) override {
    // Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm
    // holds the body back until the client's delayed ACK of the headers (tens of ms).
    if (auto* impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl*>(&in)) impl->socket().setNoDelay(true);
    HttpResponse response = handle(in);
    if (auto id = response.headers.find("X-Request-ID"); id == response.headers.end() && !last_request_id_.empty()) {
      response.headers["X-Request-ID"] = last_request_id_;
    }
    out.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(response.status));
    out.setContentType(response.content_type);
    for (const auto& [name, value] : response.headers) out.set(name, value);
    if (response.stream) {
      out.setChunkedTransferEncoding(true);
      auto& body = out.send();
      const bool complete = response.stream([&body](std::string_view piece) {
        body.write(piece.data(), static_cast<std::streamsize>(piece.size()));
        return static_cast<bool>(body);
      });
      // An aborted stream must not look complete: without the final empty chunk the
      // client sees a truncated transfer, not a short file.
      if (!complete) throw Poco::IOException("response stream aborted");
      return;
    }
    out.setContentLength(static_cast<std::streamsize>(response.body.size()));
    out.send() << response.body;
  }

 private:
  HttpResponse handle(Poco::Net::HTTPServerRequest& in) {
    HttpRequest request;
    last_request_id_.clear();
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
    request.request_id = request_id_from(request.headers);
    last_request_id_ = request.request_id;
    request.received_at_us = now_us();
    // An encoded slash, backslash or dot segment never names a resource here; refuse
    // it rather than let a handler see a path it might resolve somewhere else.
    if (request.path.find("%2f") != std::string::npos || request.path.find("%2F") != std::string::npos ||
        request.path.find('\\') != std::string::npos || has_dot_segment(request.path)) {
      return error_response(request, 400, "invalid_path", "the path has dot segments or encoded separators");
    }
    bool path_known = false;
    for (const auto& route : routes_) {
      std::map<std::string, std::string> params;
      if (!match(route.path, request.path, params)) continue;
      path_known = true;
      if (route.method == request.method) {
        request.path_params = std::move(params);
        try {
          return route.handler(request);
        } catch (const std::exception& e) {
          return error_response(request, 500, "internal_error", "the request could not be handled");
        }
      }
    }
    if (path_known) {
      return error_response(request, 405, "method_not_allowed", request.method + " is not allowed on " + request.path);
    }
    return error_response(request, 404, "not_found", "no such endpoint: " + request.path);
  }

  const std::vector<Route>& routes_;
  size_t max_body_bytes_;
  std::string last_request_id_;
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

namespace {

Poco::JSON::Object::Ptr meta_of(const HttpRequest& request) {
  Poco::JSON::Object::Ptr meta = new Poco::JSON::Object;
  const int64_t now = now_us();
  meta->set("requestId", request.request_id);
  meta->set("timestamp", Poco::DateTimeFormatter::format(Poco::Timestamp(now), Poco::DateTimeFormat::ISO8601_FRAC_FORMAT));
  meta->set("durationMs", request.received_at_us > 0 ? static_cast<double>(now - request.received_at_us) / 1000.0 : 0.0);
  return meta;
}

HttpResponse envelope(const HttpRequest* request, int status, bool success, const std::string& message,
                      const std::string& data_json, Poco::JSON::Object::Ptr error) {
  // The data is already JSON: splice it in rather than parse it back.
  Poco::JSON::Object body;
  body.set("success", success);
  body.set("code", status);
  body.set("message", message);
  if (error) body.set("error", error);
  if (request != nullptr) body.set("meta", meta_of(*request));
  std::ostringstream out;
  body.stringify(out);
  std::string text = out.str();
  text.insert(text.size() - 1, ",\"data\":" + (data_json.empty() ? std::string("null") : data_json));
  HttpResponse response{status, "application/json", std::move(text), {}};
  if (request != nullptr) response.headers["X-Request-ID"] = request->request_id;
  return response;
}

Poco::JSON::Object::Ptr error_object(const std::string& type, const std::vector<FieldDetail>& details) {
  Poco::JSON::Object::Ptr error = new Poco::JSON::Object;
  error->set("type", type);
  Poco::JSON::Array list;
  for (const auto& detail : details) {
    Poco::JSON::Object one;
    one.set("field", detail.field);
    one.set("message", detail.message);
    list.add(one);
  }
  error->set("details", list);
  return error;
}

}  // namespace

HttpResponse ok_response(const HttpRequest& request, int status, const std::string& message,
                         const std::string& data_json) {
  return envelope(&request, status, true, message, data_json, nullptr);
}

HttpResponse error_response(const HttpRequest& request, int status, const std::string& type,
                            const std::string& message, const std::vector<FieldDetail>& details) {
  return envelope(&request, status, false, message, "null", error_object(type, details));
}

HttpResponse error_response(int status, const std::string& type, const std::string& message) {
  return envelope(nullptr, status, false, message, "null", error_object(type, {}));
}

std::string openapi_document(const std::vector<Route>& routes, const std::string& title, const std::string& version) {
  Poco::JSON::Object doc;
  doc.set("openapi", "3.0.3");
  Poco::JSON::Object info;
  info.set("title", title);
  info.set("version", version);
  doc.set("info", info);
  Poco::JSON::Object paths;
  for (const auto& route : routes) {
    Poco::JSON::Object::Ptr item = paths.has(route.path) ? paths.getObject(route.path) : Poco::JSON::Object::Ptr(new Poco::JSON::Object);
    Poco::JSON::Object operation;
    operation.set("summary", route.summary);
    Poco::JSON::Array parameters;
    for (size_t at = route.path.find('{'); at != std::string::npos; at = route.path.find('{', at + 1)) {
      const size_t end = route.path.find('}', at);
      Poco::JSON::Object parameter;
      parameter.set("name", route.path.substr(at + 1, end - at - 1));
      parameter.set("in", "path");
      parameter.set("required", true);
      Poco::JSON::Object schema;
      schema.set("type", "string");
      parameter.set("schema", schema);
      parameters.add(parameter);
    }
    if (parameters.size() > 0) operation.set("parameters", parameters);
    if (!route.roles.empty()) {
      Poco::JSON::Array security;
      Poco::JSON::Object bearer;
      bearer.set("bearer", Poco::JSON::Array());
      security.add(bearer);
      operation.set("security", security);
      Poco::JSON::Array roles;
      for (const auto& role : route.roles) roles.add(role);
      operation.set("x-roles", roles);
    }
    Poco::JSON::Object responses;
    Poco::JSON::Object fallback;
    fallback.set("description", "the /v1 envelope: success, code, message, data, meta; error{type, details} on failure");
    responses.set("default", fallback);
    operation.set("responses", responses);
    std::string method = route.method;
    std::transform(method.begin(), method.end(), method.begin(), [](unsigned char c) { return std::tolower(c); });
    item->set(method, operation);
    paths.set(route.path, item);
  }
  doc.set("paths", paths);
  Poco::JSON::Object components;
  Poco::JSON::Object schemes;
  Poco::JSON::Object bearer;
  bearer.set("type", "http");
  bearer.set("scheme", "bearer");
  bearer.set("bearerFormat", "JWT");
  schemes.set("bearer", bearer);
  components.set("securitySchemes", schemes);
  doc.set("components", components);
  std::ostringstream out;
  doc.stringify(out);
  return out.str();
}

}  // namespace tenantry::http
