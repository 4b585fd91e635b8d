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

#include <mutex>

namespace tenantry::http {

namespace {

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

bool is_loopback_host(const std::string& host) {
  if (host == "localhost") return true;
  Poco::Net::IPAddress address;
  return Poco::Net::IPAddress::tryParse(host, address) && address.isLoopback();
}

std::string outbound_url_problem(const std::string& url) {
  try {
    const Poco::URI uri(url);
    if (uri.getHost().empty()) return "no host";
    if (uri.getScheme() == "https") return "";
    if (uri.getScheme() == "http") {
      return is_loopback_host(uri.getHost()) ? "" : "plain http to a host that is not loopback: use https";
    }
    return "the scheme must be https (or http to loopback)";
  } catch (const Poco::Exception& e) {
    return e.displayText();
  }
}

std::unique_ptr<Poco::Net::HTTPClientSession> open_session(const std::string& url, std::chrono::milliseconds timeout) {
  const Poco::URI uri(url);
  std::unique_ptr<Poco::Net::HTTPClientSession> session;
  if (uri.getScheme() == "https") {
    session = std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(), client_context());
  } else {
    session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
  }
  session->setTimeout(Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(timeout).count()));
  return session;
}

PostResult post(const std::string& url, const std::map<std::string, std::string>& headers, const std::string& body,
                const std::string& content_type, std::chrono::milliseconds timeout) {
  PostResult result;
  if (auto problem = outbound_url_problem(url); !problem.empty()) {
    result.error = problem;
    return result;
  }
  try {
    auto session = open_session(url, timeout);
    const Poco::URI uri(url);
    const std::string target = uri.getPathAndQuery().empty() ? "/" : uri.getPathAndQuery();
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, target, Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [name, value] : headers) request.set(name, value);
    request.setContentType(content_type);
    request.setContentLength(static_cast<std::streamsize>(body.size()));
    session->sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session->receiveResponse(response);
    result.status = static_cast<int>(response.getStatus());
    char chunk[4096];
    in.read(chunk, sizeof chunk);
    result.body.assign(chunk, static_cast<size_t>(in.gcount()));
  } catch (const Poco::Exception& e) {
    result.error = e.displayText();
  } catch (const std::exception& e) {
    result.error = e.what();
  }
  return result;
}

}  // namespace tenantry::http
