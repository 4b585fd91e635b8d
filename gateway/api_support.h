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
#include "gateway/access_audit.h"
#include "gateway/tenant_context.h"
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
  // Null: every request reads the tenant's context from the directory.
  TenantContextCache* contexts = nullptr;
  // Null: access is not audited (tools and tests that do not need it).
  AccessAudit* audit = nullptr;
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
// The tenant as the API shows it; settings with defaults filled in.
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

// Which tenant roles an endpoint allows on the principal's own tenant.
enum class OwnTenant { none, admin, admin_or_member };

// A request allowed to act on one tenant, with that tenant's context.
struct TenantAccess {
  http::auth::Principal principal;
  std::string tenant_id;
  // Null only on a write to a tenant the directory does not show yet (its decider answers).
  std::shared_ptr<const TenantContext> context;
  bool resolved = false;  // named by resolution (/v1/tenant, /t/{slug}/...), not by /v1/tenants/{id}
};

// Everything a tenant-scoped endpoint checks, in order: who is calling; which tenant
// the request is for (path parameter "id", else the resolution chain); whether the
// principal may act on it (refusals are audited); whether the tenant exists (404 on
// reads; writes are left to the tenant's decider, as the directory may lag); and its
// status: a tenant-bound principal of a suspended tenant gets 403
// tenant_suspended with the reason, of a deleted one 404 tenant_deleted. The
// resolved forms (/v1/tenant, /t/{slug}/...) are the tenant's own surface and apply
// the status rules to everyone; platform principals manage tenants in any status
// through /v1/tenants/{id}. A platform principal's access is audited as such.
std::expected<TenantAccess, http::HttpResponse> access_tenant(GatewayDeps& deps, const http::HttpRequest& request,
                                                              const std::vector<http::auth::Role>& platform_roles,
                                                              OwnTenant own);

// The request body as a JSON object with only `allowed` keys, or the 400 that names
// what is wrong.
std::expected<Poco::JSON::Object::Ptr, http::HttpResponse> json_body(const http::HttpRequest& request,
                                                                     const std::set<std::string>& allowed);

// name=value pairs of a query string, percent-decoded; a malformed pair is a field
// error under its name.
std::vector<std::pair<std::string, std::string>> query_pairs(const std::string& query,
                                                               std::vector<http::FieldDetail>& errors);

// A string member, absent as nullopt; a member of another type adds a field error
// under `path`.
std::optional<std::string> text(const Poco::JSON::Object::Ptr& object, const std::string& name,
                                const std::string& path, std::vector<http::FieldDetail>& errors);

// A command envelope for `tenant_id` carrying `body` (type name from its descriptor).
v1::CommandEnvelope command_for(const std::string& tenant_id, const google::protobuf::Message& body);

// Records a refusal of `principal` reaching for `target` (a tenant id) on the audit
// topic, when an audit is configured; returns once it is durable.
void audit_denial(GatewayDeps& deps, const http::HttpRequest& request, const http::auth::Principal& principal,
                  const std::string& target, const std::string& resolved_by, const std::string& reason);

// The error type of a response made by error_response ("" for a success).
std::string error_type_of(const http::HttpResponse& response);

// Sends the command (Idempotency-Key header as its id, If-Match as its expected
// version, the principal as its actor) and answers with its reply mapped onto HTTP.
http::HttpResponse run_command(GatewayDeps& deps, const http::HttpRequest& request, v1::CommandEnvelope command,
                               const http::auth::Principal& principal, int success_status,
                               const std::string& success_message);

}  // namespace tenantry::gateway
