// What every /v1 endpoint shares: the dependencies they are built from, who is
// calling (authenticate), what they may do (authorize), JSON bodies in, the /v1
// envelope out, and commands sent through the command client with their reply mapped
// onto HTTP. Endpoint files (tenants_api, ...) hold only their own routes.
#pragma once

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Object.h>

#include <chrono>
#include <expected>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "commands/command_client.h"
#include "connectors/http/auth/api_keys.h"
#include "connectors/http/auth/jwt_verifier.h"
#include "connectors/http/http_server.h"
#include "gateway/tenant_resolution.h"
#include "projections/tenant_directory/tenant_directory.h"
#include "tenantry/v1/tenant.pb.h"

namespace tenantry::gateway {

struct GatewayDeps {
  commands::CommandClient& client;
  projections::TenantDirectory& directory;
  const http::auth::JwtVerifier& jwt;
  std::function<int64_t()> now_us;
  std::chrono::milliseconds command_timeout{10000};
  ResolutionOptions resolution;
  // Null: API keys are not accepted (only Bearer tokens).
  http::auth::ApiKeyRegistry* api_keys = nullptr;
};

// The roles most endpoints allow, as lists an endpoint names in its table.
extern const std::vector<http::auth::Role> kPlatformWriters;  // platform_admin, operator
extern const std::vector<http::auth::Role> kPlatformReaders;  // those, analyst, auditor

std::string stringify(const Poco::Dynamic::Var& value);

// 1-128 of [A-Za-z0-9._:-]: what may serve as a command id or tenant id from a client.
bool well_formed_id(std::string_view id);
// `prefix` then 24 random hex characters.
std::string random_id(std::string_view prefix);

const char* tier_name(v1::IsolationTier tier);
std::optional<v1::IsolationTier> tier_from(std::string_view name);
const char* status_name(v1::TenantStatus status);
std::optional<v1::TenantStatus> status_from(std::string_view name);
Poco::JSON::Object::Ptr tenant_json(const v1::TenantDirectoryEntry& entry);

// Who is calling ("Authorization: Bearer <jwt>", or an API key as
// "Authorization: ApiKey <key>" or "X-API-Key: <key>"), or the 401 that says why not.
std::expected<http::auth::Principal, http::HttpResponse> authenticate(const GatewayDeps& deps,
                                                                      const http::HttpRequest& request);

// Null when one of the platform roles in `allowed` is held, or a tenant role on
// `tenant_id` itself when `tenant_roles_on_own` is set; otherwise the 403. A
// tenant-bound principal naming another tenant is told so (403 tenant_mismatch)
// whatever its roles.
std::optional<http::HttpResponse> authorize(const http::HttpRequest& request, const http::auth::Principal& principal,
                                            const std::vector<http::auth::Role>& allowed,
                                            const std::string& tenant_id, bool tenant_roles_on_own);

// The request body as a JSON object with only `allowed` keys, or the 400 that names
// what is wrong.
std::expected<Poco::JSON::Object::Ptr, http::HttpResponse> json_body(const http::HttpRequest& request,
                                                                     const std::set<std::string>& allowed);

// A string member, absent as nullopt; a member of another type adds a field error
// under `path`.
std::optional<std::string> text(const Poco::JSON::Object::Ptr& object, const std::string& name,
                                const std::string& path, std::vector<http::FieldDetail>& errors);

// A command envelope for `tenant_id` carrying `body` (type name from its descriptor).
v1::CommandEnvelope command_for(const std::string& tenant_id, const google::protobuf::Message& body);

// Sends the command (Idempotency-Key header as its id, If-Match as its expected
// version, the principal as its actor) and answers with its reply mapped onto HTTP.
http::HttpResponse run_command(GatewayDeps& deps, const http::HttpRequest& request, v1::CommandEnvelope command,
                               const http::auth::Principal& principal, int success_status,
                               const std::string& success_message);

}  // namespace tenantry::gateway
