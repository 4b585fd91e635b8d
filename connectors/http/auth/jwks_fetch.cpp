#include "connectors/http/auth/jwks_fetch.h"

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

bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  Poco::Net::IPAddress address;
  return Poco::Net::IPAddress::tryParse(host, address) && address.isLoopback();
}

// One client context for the process: system CAs, strict verification, TLS 1.2 or
// later. A certificate that fails verification is rejected (never a console prompt,
// Poco's default handler).
Poco::Net::Context::Ptr client_context() {
  static std::once_flag once;
  static Poco::Net::Context::Ptr context;
  std::call_once(once, [] {
    Poco::Net::initializeSSL();
    context = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", Poco::Net::Context::VERIFY_STRICT, 9, true);
    context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
    Poco::Net::SSLManager::instance().initializeClient(nullptr, new Poco::Net::RejectCertificateHandler(false), context);
  });
  return context;
}

}  // namespace

AuthResult<void> check_jwks_url(const std::string& url) {
  try {
    const Poco::URI uri(url);
    if (uri.getHost().empty()) return auth_fail(AuthErrorCode::invalid_configuration, "JWKS URL without a host");
    if (uri.getScheme() == "https") return {};
    if (uri.getScheme() == "http") {
      if (is_loopback(uri.getHost())) return {};
      return auth_fail(AuthErrorCode::invalid_configuration,
                       "JWKS URL over plain http to a host that is not loopback: use https");
    }
    return auth_fail(AuthErrorCode::invalid_configuration, "JWKS URL scheme must be https (or http to loopback)");
  } catch (const Poco::Exception& e) {
    return auth_fail(AuthErrorCode::invalid_configuration, "JWKS URL: " + e.displayText());
  }
}

AuthResult<std::string> fetch_jwks_document(const std::string& url, std::chrono::milliseconds timeout,
                                            size_t max_bytes) {
  if (auto checked = check_jwks_url(url); !checked) return std::unexpected(checked.error());
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto fail = [&url](const std::string& why) { return auth_fail(AuthErrorCode::invalid_configuration, "JWKS " + url + ": " + why); };
  try {
    const Poco::URI uri(url);
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    if (uri.getScheme() == "https") {
      session = std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(), client_context());
    } else {
      session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
    }
    // Per socket operation; the deadline below bounds the whole exchange.
    session->setTimeout(Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(timeout).count()));
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
