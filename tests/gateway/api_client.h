// An HTTP client for the gateway's end-to-end tests: one request per call over a real
// socket, the /v1 envelope parsed back, and the helpers the tests read replies with.
#pragma once

#include <catch2/catch.hpp>

#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <chrono>
#include <map>
#include <string>

#include "test_support.h"

namespace tenantry::testing {

struct Reply {
  int status = 0;
  Poco::JSON::Object::Ptr body;  // null when the body is not a JSON object (exports)
  std::string text;
  std::string content_type;
  std::map<std::string, std::string> headers;  // as the server spelled the names
};

// `bearer` empty: no Authorization header (a test sets one in `headers` for API keys).
inline Reply http_call(uint16_t port, const std::string& method, const std::string& path, const std::string& bearer,
                       const std::string& body = {}, const std::map<std::string, std::string>& headers = {}) {
  Poco::Net::HTTPClientSession session("127.0.0.1", port);
  Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  if (!bearer.empty()) request.set("Authorization", "Bearer " + bearer);
  for (const auto& [name, value] : headers) request.set(name, value);
  request.setContentType("application/json");
  request.setContentLength(static_cast<std::streamsize>(body.size()));
  session.sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  Reply reply;
  Poco::StreamCopier::copyToString(session.receiveResponse(response), reply.text);
  reply.status = static_cast<int>(response.getStatus());
  reply.content_type = response.getContentType();
  for (const auto& [name, value] : response) reply.headers[name] = value;
  if (reply.content_type.starts_with("application/json")) {
    reply.body = Poco::JSON::Parser().parse(reply.text).extract<Poco::JSON::Object::Ptr>();
  }
  return reply;
}

// For crash tests: the status of a call to a server that may be killed meanwhile; 0
// when there was no answer within `timeout_s`.
inline int status_or_none(uint16_t port, const std::string& method, const std::string& path,
                          const std::string& bearer, const std::string& body,
                          const std::map<std::string, std::string>& headers = {}, int timeout_s = 30) {
  try {
    Poco::Net::HTTPClientSession session("127.0.0.1", port);
    session.setTimeout(Poco::Timespan(timeout_s, 0));
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("Authorization", "Bearer " + bearer);
    for (const auto& [name, value] : headers) request.set(name, value);
    request.setContentType("application/json");
    request.setContentLength(static_cast<std::streamsize>(body.size()));
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::string text;
    Poco::StreamCopier::copyToString(session.receiveResponse(response), text);
    return static_cast<int>(response.getStatus());
  } catch (const std::exception&) {
    return 0;
  }
}

inline std::string error_type(const Reply& reply) {
  return reply.body->getObject("error")->getValue<std::string>("type");
}

inline std::string first_field(const Reply& reply) {
  auto details = reply.body->getObject("error")->getArray("details");
  return details->size() == 0 ? "" : details->getObject(0)->getValue<std::string>("field");
}

inline Poco::JSON::Object::Ptr data_of(const Reply& reply) { return reply.body->getObject("data"); }

// One server's API: calls, and waiting for a read to show what a write did (reads come
// from a projection, so they may lag).
struct ApiClient {
  uint16_t port;

  Reply call(const std::string& method, const std::string& path, const std::string& bearer,
             const std::string& body = {}, const std::map<std::string, std::string>& headers = {}) const {
    return http_call(port, method, path, bearer, body, headers);
  }

  // Waits until GET `path` (as `bearer`) satisfies `ok`, and returns that reply.
  template <class Ok>
  Reply until(const std::string& path, const std::string& bearer, Ok ok,
              const std::map<std::string, std::string>& headers = {}) const {
    Reply got;
    const bool reached = eventually(std::chrono::seconds(20), [&] {
      got = call("GET", path, bearer, "", headers);
      return ok(got);
    });
    INFO(got.text);
    REQUIRE(reached);
    return got;
  }
};

}  // namespace tenantry::testing
