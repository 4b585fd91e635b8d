#include "connectors/http/auth/jwks_fetch.h"

#include "connectors/http/outbound.h"

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/URI.h>

#include <memory>
#include <mutex>

namespace tenantry::http::auth {
namespace {

constexpr size_t kReadChunkBytes = 16 * 1024;

}  // namespace

AuthResult<void> check_jwks_url(const std::string& url) {
  if (auto problem = outbound_url_problem(url); !problem.empty()) {
    return auth_fail(AuthErrorCode::invalid_configuration, "JWKS URL: " + problem);
  }
  return {};
}

AuthResult<std::string> fetch_jwks_document(const std::string& url, std::chrono::milliseconds timeout,
                                            size_t max_bytes) {
  if (auto checked = check_jwks_url(url); !checked) return std::unexpected(checked.error());
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto fail = [&url](const std::string& why) { return auth_fail(AuthErrorCode::invalid_configuration, "JWKS " + url + ": " + why); };
  try {
    const Poco::URI uri(url);
    // Per socket operation; the deadline below bounds the whole exchange.
    auto session = open_session(url, timeout);
    const std::string target = uri.getPathAndQuery().empty() ? "/" : uri.getPathAndQuery();
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, target, Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("Accept", "application/jwk-set+json, application/json");
    session->sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& body = session->receiveResponse(response);
    if (response.getStatus() != Poco::Net::HTTPResponse::HTTP_OK) {
      return fail("answered " + std::to_string(static_cast<int>(response.getStatus())));
    }
    if (response.hasContentLength() && response.getContentLength64() > static_cast<Poco::Int64>(max_bytes)) {
      return fail("document larger than " + std::to_string(max_bytes) + " bytes");
    }
    std::string document;
    char chunk[kReadChunkBytes];
    while (body) {
      if (std::chrono::steady_clock::now() > deadline) return fail("no complete answer in time");
      body.read(chunk, sizeof chunk);
      document.append(chunk, static_cast<size_t>(body.gcount()));
      if (document.size() > max_bytes) return fail("document larger than " + std::to_string(max_bytes) + " bytes");
    }
    if (body.bad()) return fail("reading the answer failed");
    return document;
  } catch (const Poco::TimeoutException&) {
    return fail("no answer in time");
  } catch (const Poco::Exception& e) {
    return fail(e.displayText());
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

}  // namespace tenantry::http::auth
