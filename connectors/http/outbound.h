// Outbound HTTP for everything Tenantry calls (JWKS documents, webhooks): https with
// the system's CAs and strict verification (TLS 1.2 or later), or plain http to a
// loopback host only.
#pragma once

#include <chrono>
#include <expected>
#include <map>
#include <memory>
#include <string>

namespace Poco::Net {
class HTTPClientSession;
}

namespace tenantry::http {

bool is_loopback_host(const std::string& host);

// Why `url` may not be called ("" when it may): not a URL, no host, another scheme,
// or plain http to a host that is not loopback.
std::string outbound_url_problem(const std::string& url);

// A session for the URL's host (https or http), per-operation timeout set. Throws
// Poco exceptions; the caller catches.
std::unique_ptr<Poco::Net::HTTPClientSession> open_session(const std::string& url, std::chrono::milliseconds timeout);

struct PostResult {
  int status = 0;     // 0 when there was no answer
  std::string error;  // why there was no answer
  std::string body;   // the first 4 KiB of the answer
};

// POSTs `body`; never throws.
PostResult post(const std::string& url, const std::map<std::string, std::string>& headers, const std::string& body,
                const std::string& content_type, std::chrono::milliseconds timeout);

}  // namespace tenantry::http
