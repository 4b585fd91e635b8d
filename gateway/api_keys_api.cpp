#include "gateway/api_keys_api.h"

#include <Poco/JSON/Array.h>
#include <Poco/URI.h>

#include <algorithm>
#include <sstream>

namespace tenantry::gateway {

namespace {

using http::FieldDetail;
using http::HttpRequest;
using http::HttpResponse;
using http::auth::ApiKeyInfo;
using http::auth::AuthError;
using http::auth::AuthErrorCode;
using http::auth::Principal;
using http::auth::Role;

// What a tenant_admin may put on a key of its own tenant: every tenant-level role.
const std::vector<Role> kTenantGrantable = {Role::tenant_admin, Role::tenant_member, Role::analyst, Role::auditor};
// Who may see keys, beside a tenant_admin on its own tenant's.
const std::vector<Role> kKeyReaders = {Role::platform_admin, Role::operator_, Role::auditor};
constexpr size_t kMaxRolesInRequest = 16;

bool holds_any(const Principal& principal, const std::vector<Role>& roles) {
  return std::any_of(roles.begin(), roles.end(), [&](Role role) { return principal.has(role); });
}

std::string role_list() {
  std::string out;
  for (const auto& [role, name] : http::auth::kRoleNames) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

HttpResponse store_failure(const HttpRequest& request, const AuthError& error) {
  if (error.code == AuthErrorCode::storage) return http::error_response(request, 503, "unavailable", error.message);
  return http::error_response(request, 500, "internal_error", error.message);
}

const char* key_status(const ApiKeyInfo& key, int64_t now_us) {
  if (key.revoked_at_us != 0) return "revoked";
  if (key.expires_at_us != 0 && now_us >= key.expires_at_us) return "expired";
  return "active";
}

Poco::JSON::Object::Ptr key_json(const ApiKeyInfo& key, int64_t now_us) {
  Poco::JSON::Object::Ptr out = new Poco::JSON::Object;
  out->set("keyId", key.key_id);
  out->set("subject", key.subject);
  if (key.tenant_id.empty()) {
    out->set("tenantId", Poco::Dynamic::Var());
  } else {
    out->set("tenantId", key.tenant_id);
  }
  Poco::JSON::Array roles;
  for (Role role : key.roles) roles.add(std::string(http::auth::to_string(role)));
  out->set("roles", roles);
  out->set("status", std::string(key_status(key, now_us)));
  out->set("createdAtUs", key.created_at_us);
  out->set("expiresAtUs", key.expires_at_us);
  out->set("revokedAtUs", key.revoked_at_us);
  return out;
}

// Keys of `tenant_id` ("": the platform keys): a platform principal with one of
// `platform_roles`, or a principal bound to that very tenant with one of `own_roles`.
std::optional<HttpResponse> authorize_keys(const HttpRequest& request, const Principal& principal,
                                           const std::string& tenant_id, const std::vector<Role>& platform_roles,
                                           const std::vector<Role>& own_roles) {
  if (!principal.is_platform()) {
    if (tenant_id.empty()) {
      return http::error_response(request, 403, "forbidden", "platform keys are for platform principals only");
    }
    if (tenant_id != principal.tenant_id) {
      return http::error_response(request, 403, "tenant_mismatch", "the principal is bound to another tenant");
    }
    if (holds_any(principal, own_roles)) return std::nullopt;
    return http::error_response(request, 403, "forbidden", "the principal's roles do not allow this");
  }
  if (holds_any(principal, platform_roles)) return std::nullopt;
  return http::error_response(request, 403, "forbidden", "the principal's roles do not allow this");
}

// The tenant must be one the directory knows and has not deleted.
std::optional<HttpResponse> require_live_tenant(GatewayDeps& deps, const HttpRequest& request,
                                                const std::string& tenant_id) {
  auto entry = deps.directory.get(tenant_id);
  if (!entry) return http::error_response(request, 503, "unavailable", entry.error().message);
  if (!*entry || (*entry)->status() == v1::TENANT_STATUS_DELETED) {
    return http::error_response(request, 422, "validation_error", "no such tenant", {{"tenantId", "no such tenant"}});
  }
  return std::nullopt;
}

HttpResponse issue_key(GatewayDeps& deps, const HttpRequest& request) {
  auto principal = authenticate(deps, request);
  if (!principal) return principal.error();
  // Who may issue at all, before the body is looked at.
  if (!principal->has(Role::platform_admin) && !principal->has(Role::tenant_admin)) {
    return http::error_response(request, 403, "forbidden", "only platform_admin and tenant_admin issue API keys");
  }
  auto body = json_body(request, {"subject", "tenantId", "roles", "expiresAtUs"});
  if (!body) return body.error();

  std::vector<FieldDetail> errors;
  const size_t errors_before_subject = errors.size();
  const auto subject = text(*body, "subject", "subject", errors);
  if (!subject && errors.size() == errors_before_subject) errors.push_back({"subject", "required"});
  if (subject && (subject->empty() || subject->size() > http::auth::ApiKeyRegistry::kMaxSubjectBytes)) {
    errors.push_back({"subject", "must be 1-256 bytes"});
  }
  const auto tenant_id = text(*body, "tenantId", "tenantId", errors);
  if (tenant_id && !well_formed_id(*tenant_id)) errors.push_back({"tenantId", "must be 1-128 of [A-Za-z0-9._:-]"});

  std::vector<Role> roles;
  if (!(*body)->has("roles")) {
    errors.push_back({"roles", "required: a non-empty array of role names"});
  } else if (!(*body)->isArray("roles")) {
    errors.push_back({"roles", "must be an array of role names"});
  } else {
    auto entries = (*body)->getArray("roles");
    if (entries->size() == 0) errors.push_back({"roles", "at least one role"});
    if (entries->size() > kMaxRolesInRequest) errors.push_back({"roles", "at most 16 entries"});
    for (size_t i = 0; i < entries->size() && i < kMaxRolesInRequest; ++i) {
      const std::string path = "roles[" + std::to_string(i) + "]";
      const auto entry = entries->get(static_cast<unsigned>(i));
      if (!entry.isString()) {
        errors.push_back({path, "must be a role name"});
        continue;
      }
      const std::string name = entry.convert<std::string>();
      auto role = http::auth::role_from_string(name);
      if (!role) {
        errors.push_back({path, "unknown role \"" + name + "\"; one of " + role_list()});
      } else if (std::find(roles.begin(), roles.end(), *role) == roles.end()) {
        roles.push_back(*role);
      }
    }
  }

  int64_t expires_at_us = 0;
  if ((*body)->has("expiresAtUs") && !(*body)->isNull("expiresAtUs")) {
    const auto value = (*body)->get("expiresAtUs");
    if (value.isBoolean() || !value.isInteger()) {
      errors.push_back({"expiresAtUs", "must be an integer (microseconds since the epoch)"});
    } else {
      expires_at_us = value.convert<int64_t>();
      if (expires_at_us <= deps.now_us()) errors.push_back({"expiresAtUs", "must be in the future"});
    }
  }
  if (!errors.empty()) return http::error_response(request, 400, "validation_error", "the body has invalid fields", errors);

  // A tenant_admin acts inside its own tenant only, and grants tenant roles only.
  const std::string tenant = tenant_id.value_or("");
  if (!principal->has(Role::platform_admin)) {
    if (tenant.empty()) {
      return http::error_response(request, 403, "forbidden", "a tenant_admin issues keys for its own tenant only",
                                  {{"tenantId", "required: the principal's own tenant"}});
    }
    if (auto denied = authorize_keys(request, *principal, tenant, {}, {Role::tenant_admin})) {
      audit_denial(deps, request, *principal, tenant, "body", error_type_of(*denied));
      return *denied;
    }
  }
  for (size_t i = 0; i < roles.size(); ++i) {
    const Role role = roles[i];
    const bool needs = tenant.empty() && http::auth::role_requires_tenant(role);
    const bool forbids = !tenant.empty() && http::auth::role_forbids_tenant(role);
    if (needs || forbids) {
      return http::error_response(request, 400, "validation_error", "a role conflicts with the tenant binding",
                                  {{"roles", std::string(http::auth::to_string(role)) +
                                                 (needs ? " needs a tenant (tenantId)" : " cannot be bound to a tenant")}});
    }
    if (!principal->has(Role::platform_admin) &&
        std::find(kTenantGrantable.begin(), kTenantGrantable.end(), role) == kTenantGrantable.end()) {
      return http::error_response(request, 403, "forbidden", "a tenant_admin grants tenant roles only",
                                  {{"roles", std::string(http::auth::to_string(role)) + " may not be granted"}});
    }
  }
  if (!tenant.empty()) {
    if (auto missing = require_live_tenant(deps, request, tenant)) return *missing;
    // A suspended tenant's own admins issue nothing, as they do nothing else.
    if (!principal->is_platform()) {
      auto entry = deps.directory.get(tenant);
      if (entry && *entry && (*entry)->status() == v1::TENANT_STATUS_SUSPENDED) {
        return http::error_response(request, 403, "tenant_suspended",
                                    "tenant " + tenant + " is suspended: " + (*entry)->suspension_reason(),
                                    {{"tenant", (*entry)->suspension_reason()}});
      }
    }
  }

  const int64_t now_us = deps.now_us();
  auto issued = deps.api_keys->issue(*subject, tenant, roles, now_us, expires_at_us);
  if (!issued) {
    if (issued.error().code == AuthErrorCode::invalid_argument) {
      return http::error_response(request, 400, "validation_error", issued.error().message);
    }
    return store_failure(request, issued.error());
  }
  auto shown = deps.api_keys->find(issued->key_id);
  if (!shown || !*shown) return http::error_response(request, 500, "internal_error", "issued key not found");
  auto data = key_json(**shown, now_us);
  data->set("key", issued->secret_shown_once);
  auto response = http::ok_response(request, 201, "API key issued; the key is shown only this once", stringify(data));
  response.headers["Cache-Control"] = "no-store";
  return response;
}

HttpResponse list_keys(GatewayDeps& deps, const HttpRequest& request) {
  auto principal = authenticate(deps, request);
  if (!principal) return principal.error();
  std::string tenant_id;
  std::vector<FieldDetail> errors;
  std::istringstream pairs(request.query);
  for (std::string pair; std::getline(pairs, pair, '&');) {
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const std::string name = pair.substr(0, eq);
    std::string value;
    try {
      value = eq == std::string::npos ? "" : Poco::URI("?" + pair.substr(eq + 1)).getQuery();
    } catch (const Poco::Exception&) {
      errors.push_back({name, "malformed percent-encoding"});
      continue;
    }
    if (name == "tenantId") {
      if (well_formed_id(value)) tenant_id = value;
      else errors.push_back({"tenantId", "must be 1-128 of [A-Za-z0-9._:-]"});
    } else {
      errors.push_back({name, "unknown query parameter"});
    }
  }
  if (!errors.empty()) return http::error_response(request, 400, "validation_error", "invalid query parameters", errors);
  if (auto denied = authorize_keys(request, *principal, tenant_id, kKeyReaders, {Role::tenant_admin})) {
    audit_denial(deps, request, *principal, tenant_id, "query", error_type_of(*denied));
    return *denied;
  }
  auto keys = deps.api_keys->list(tenant_id);
  if (!keys) return store_failure(request, keys.error());
  const int64_t now_us = deps.now_us();
  Poco::JSON::Array listed;
  for (const auto& key : *keys) listed.add(key_json(key, now_us));
  Poco::JSON::Object data;
  data.set("keys", listed);
  return http::ok_response(request, 200, "API keys", stringify(data));
}

HttpResponse revoke_key(GatewayDeps& deps, const HttpRequest& request) {
  auto principal = authenticate(deps, request);
  if (!principal) return principal.error();
  if (!principal->has(Role::platform_admin) && !principal->has(Role::tenant_admin)) {
    return http::error_response(request, 403, "forbidden", "only platform_admin and tenant_admin revoke API keys");
  }
  const std::string& key_id = request.path_params.at("id");
  if (!http::auth::ApiKeyRegistry::well_formed_key_id(key_id)) {
    return http::error_response(request, 400, "validation_error", "malformed key id",
                                {{"keyId", "must be 24 lowercase hex characters"}});
  }
  auto found = deps.api_keys->find(key_id);
  if (!found) return store_failure(request, found.error());
  if (!*found) return http::error_response(request, 404, "not_found", "no API key " + key_id);
  if (!principal->has(Role::platform_admin)) {
    if (auto denied = authorize_keys(request, *principal, (*found)->tenant_id, {}, {Role::tenant_admin})) {
      audit_denial(deps, request, *principal, (*found)->tenant_id, "key", error_type_of(*denied));
      return *denied;
    }
  }
  const int64_t now_us = deps.now_us();
  if (auto revoked = deps.api_keys->revoke(key_id, now_us); !revoked) {
    if (revoked.error().code == AuthErrorCode::not_found) {
      return http::error_response(request, 404, "not_found", "no API key " + key_id);
    }
    return store_failure(request, revoked.error());
  }
  auto after = deps.api_keys->find(key_id);
  if (!after || !*after) return http::error_response(request, 500, "internal_error", "revoked key not found");
  return http::ok_response(request, 200, "API key revoked", stringify(key_json(**after, now_us)));
}

HttpResponse without_keys(const HttpRequest& request) {
  return http::error_response(request, 503, "unavailable", "API keys are not configured on this server");
}

}  // namespace

std::vector<http::Route> api_key_routes(GatewayDeps& deps) {
  auto guarded = [&deps](HttpResponse (*handler)(GatewayDeps&, const HttpRequest&)) {
    return [&deps, handler](const HttpRequest& r) { return deps.api_keys ? handler(deps, r) : without_keys(r); };
  };
  return {
      {"POST", "/v1/api-keys", guarded(issue_key),
       "Issue an API key (subject, tenantId, roles, expiresAtUs); the key is in the answer only",
       {"platform_admin", "tenant_admin (own tenant; tenant roles only)"}},
      {"GET", "/v1/api-keys", guarded(list_keys), "List API keys of a tenant (tenantId; none: platform keys), no secrets",
       {"platform_admin", "operator", "auditor", "tenant_admin (own)"}},
      {"DELETE", "/v1/api-keys/{id}", guarded(revoke_key), "Revoke an API key (idempotent)",
       {"platform_admin", "tenant_admin (own)"}},
  };
}

}  // namespace tenantry::gateway
