// Fetching a JWKS document over HTTP(S), bounded in time and size. Only the transport:
// what the document means is jwt_verifier's business.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "connectors/http/auth/principal.h"

namespace tenantry::http::auth {

// invalid_configuration unless `url` is https://HOST[:PORT]/PATH, or http:// to a
// loopback host (127.0.0.0/8, ::1, localhost). Plain HTTP to anywhere else is refused:
// whoever can alter the document in transit can sign any token they like.
AuthResult<void> check_jwks_url(const std::string& url);

// GET `url` (checked as above): 200 with a body of at most `max_bytes`, all within
// `timeout` (connect, send and the whole body together). HTTPS verifies the server's
// certificate against the system CAs and its host name. Redirects are not followed.
// Failures are invalid_configuration with the reason; nothing is thrown.
AuthResult<std::string> fetch_jwks_document(const std::string& url, std::chrono::milliseconds timeout,
                                            size_t max_bytes);

}  // namespace tenantry::http::auth
