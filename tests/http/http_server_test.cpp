// The HTTP server over a real socket: routing with path parameters, the response
// envelope, request ids, and what bad requests meet.
#include <catch2/catch.hpp>

#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>

#include "connectors/http/http_server.h"

using namespace tenantry::http;

namespace {

struct Reply {
  int status;
  std::string body;
  std::string request_id;
};

Reply call(uint16_t port, const std::string& method, const std::string& path, const std::string& body = {},
           const std::map<std::string, std::string>& headers = {}) {
  Poco::Net::HTTPClientSession session("127.0.0.1", port);
  Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  for (const auto& [name, value] : headers) request.set(name, value);
  if (!body.empty()) request.setContentLength(static_cast<std::streamsize>(body.size()));
  session.sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  std::string text;
  Poco::StreamCopier::copyToString(session.receiveResponse(response), text);
  return {static_cast<int>(response.getStatus()), text, response.get("X-Request-ID", "")};
}

Poco::JSON::Object::Ptr json(const std::string& text) {
  return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}

std::unique_ptr<HttpServer> start_server() {
  std::vector<Route> routes = {
      {"GET", "/v1/tenants/{id}",
       [](const HttpRequest& r) { return ok_response(r, 200, "found", "{\"id\":\"" + r.path_params.at("id") + "\"}"); }},
      {"POST", "/v1/tenants/{id}/suspend",
       [](const HttpRequest& r) {
         return error_response(r, 422, "validation_error", "bad reason", {{"reason", "must not be empty"}});
       }},
      {"POST", "/v1/echo", [](const HttpRequest& r) { return ok_response(r, 200, "echo", std::to_string(r.body.size())); }},
  };
  HttpServerOptions options;
  options.port = 0;
  options.max_body_bytes = 1024;
  auto server = HttpServer::start(options, std::move(routes));
  REQUIRE(server.has_value());
  return std::move(*server);
}

}  // namespace

TEST_CASE("http: routes bind path parameters and answer in the envelope", "[http]") {
  auto server = start_server();
  auto found = call(server->port(), "GET", "/v1/tenants/acme");
  CHECK(found.status == 200);
  auto body = json(found.body);
  CHECK(body->getValue<bool>("success"));
  CHECK(body->getValue<int>("code") == 200);
  CHECK(body->getObject("data")->getValue<std::string>("id") == "acme");
  auto meta = body->getObject("meta");
  CHECK(meta->getValue<std::string>("requestId") == found.request_id);
  CHECK(meta->has("timestamp"));
  CHECK(meta->has("durationMs"));

  auto refused = call(server->port(), "POST", "/v1/tenants/acme/suspend");
  CHECK(refused.status == 422);
  auto error = json(refused.body);
  CHECK_FALSE(error->getValue<bool>("success"));
  CHECK(error->getObject("error")->getValue<std::string>("type") == "validation_error");
  auto details = error->getObject("error")->getArray("details");
  REQUIRE(details->size() == 1);
  CHECK(details->getObject(0)->getValue<std::string>("field") == "reason");
}

TEST_CASE("http: unknown paths, wrong methods and oversized bodies get typed errors", "[http]") {
  auto server = start_server();
  auto missing = call(server->port(), "GET", "/v1/nothing");
  CHECK(missing.status == 404);
  CHECK(json(missing.body)->getObject("error")->getValue<std::string>("type") == "not_found");
  auto wrong_method = call(server->port(), "DELETE", "/v1/tenants/acme");
  CHECK(wrong_method.status == 405);
  CHECK(call(server->port(), "GET", "/v1/tenants/").status == 404);  // an empty id binds nothing
  auto big = call(server->port(), "POST", "/v1/echo", std::string(2048, 'x'));
  CHECK(big.status == 413);
  CHECK(json(big.body)->getObject("error")->getValue<std::string>("type") == "payload_too_large");
  CHECK(call(server->port(), "POST", "/v1/echo", std::string(1024, 'x')).status == 200);
}

TEST_CASE("http: path traversal is refused before any handler sees it", "[http]") {
  auto server = start_server();
  for (std::string path : {"/v1/tenants/../admin", "/v1/tenants/%2e%2e/admin", "/v1/tenants/a%2Fb",
                           "/v1/tenants/./acme"}) {
    INFO(path);
    auto reply = call(server->port(), "GET", path);
    CHECK(reply.status == 400);
    CHECK(json(reply.body)->getObject("error")->getValue<std::string>("type") == "invalid_path");
  }
}

TEST_CASE("http: request ids are echoed when well formed, replaced when not", "[http]") {
  auto server = start_server();
  auto echoed = call(server->port(), "GET", "/v1/tenants/acme", {}, {{"X-Request-ID", "trace-42.a_b:c"}});
  CHECK(echoed.request_id == "trace-42.a_b:c");
  auto generated = call(server->port(), "GET", "/v1/tenants/acme");
  CHECK(generated.request_id.starts_with("req-"));
  auto hostile = call(server->port(), "GET", "/v1/tenants/acme", {}, {{"X-Request-ID", std::string(300, 'a')}});
  CHECK(hostile.request_id.starts_with("req-"));
  auto spaced = call(server->port(), "GET", "/v1/tenants/acme", {}, {{"X-Request-ID", "a b;evil=1"}});
  CHECK(spaced.request_id.starts_with("req-"));
  CHECK(json(spaced.body)->getObject("meta")->getValue<std::string>("requestId") == spaced.request_id);
}
