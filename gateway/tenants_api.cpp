#include "gateway/tenants_api.h"

#include <Poco/JSON/Array.h>
#include <Poco/URI.h>

#include <sstream>

namespace tenantry::gateway {

namespace {

using http::FieldDetail;
using http::HttpRequest;
using http::HttpResponse;

HttpResponse register_tenant(GatewayDeps& deps, const HttpRequest& request) {
  auto principal = authenticate(deps, request);
  if (!principal) return principal.error();
  if (auto denied = authorize(request, *principal, kPlatformWriters, "", false)) return *denied;
  auto body = json_body(request, {"id", "slug", "displayName", "plan", "isolationTier", "region", "adminContact", "settings"});
  if (!body) return body.error();
  std::vector<FieldDetail> errors;
  v1::RegisterTenant registration;
  const auto id = text(*body, "id", "id", errors);
  registration.set_slug(text(*body, "slug", "slug", errors).value_or(""));
  registration.set_display_name(text(*body, "displayName", "displayName", errors).value_or(""));
  registration.set_plan(text(*body, "plan", "plan", errors).value_or(""));
  registration.set_region(text(*body, "region", "region", errors).value_or(""));
  if (auto tier = text(*body, "isolationTier", "isolationTier", errors)) {
    if (auto parsed = tier_from(*tier)) registration.set_isolation_tier(*parsed);
    else errors.push_back({"isolationTier", "must be shared, schema or dedicated"});
  }
  if ((*body)->has("adminContact")) {
    auto contact = (*body)->getObject("adminContact");
    if (!contact) {
      errors.push_back({"adminContact", "must be an object with name and email"});
    } else {
      for (const auto& name : contact->getNames()) {
        if (name != "name" && name != "email") errors.push_back({"adminContact." + name, "unknown field"});
      }
      registration.mutable_admin_contact()->set_name(text(contact, "name", "adminContact.name", errors).value_or(""));
      registration.mutable_admin_contact()->set_email(text(contact, "email", "adminContact.email", errors).value_or(""));
    }
  }
  if ((*body)->has("settings")) {
    auto settings = (*body)->getObject("settings");
    if (!settings) {
      errors.push_back({"settings", "must be an object of strings"});
    } else {
      for (const auto& name : settings->getNames()) {
        if (auto value = text(settings, name, "settings." + name, errors)) (*registration.mutable_settings())[name] = *value;
      }
    }
  }
  if (id && !well_formed_id(*id)) errors.push_back({"id", "must be 1-128 of [A-Za-z0-9._:-]"});
  if (!errors.empty()) return http::error_response(request, 400, "validation_error", "the body has invalid fields", errors);
  const std::string tenant_id = id.value_or(random_id("t-"));
  return run_command(deps, request, command_for(tenant_id, registration), *principal, 201, "tenant registered");
}

HttpResponse get_tenant(GatewayDeps& deps, const HttpRequest& request) {
  auto principal = authenticate(deps, request);
  if (!principal) return principal.error();
  const std::string& id = request.path_params.at("id");
  if (auto denied = authorize(request, *principal, kPlatformReaders, id, true)) return *denied;
  auto entry = deps.directory.get(id);
  if (!entry) return http::error_response(request, 500, "internal_error", entry.error().message);
  if (!*entry) return http::error_response(request, 404, "not_found", "no tenant " + id);
  return http::ok_response(request, 200, "tenant", stringify(tenant_json(**entry)));
}

HttpResponse current_tenant(GatewayDeps& deps, const HttpRequest& request) {
  auto principal = authenticate(deps, request);
  if (!principal) return principal.error();
  auto resolved = resolve_tenant(request, *principal, deps.resolution, deps.directory);
  if (!resolved) return resolved.error();
  if (auto denied = authorize(request, *principal, kPlatformReaders, resolved->tenant_id, true)) return *denied;
  auto entry = deps.directory.get(resolved->tenant_id);
  if (!entry) return http::error_response(request, 500, "internal_error", entry.error().message);
  if (!*entry) return http::error_response(request, 404, "not_found", "no tenant " + resolved->tenant_id);
  return http::ok_response(request, 200, "tenant", stringify(tenant_json(**entry)));
}

HttpResponse list_tenants(GatewayDeps& deps, const HttpRequest& request) {
  auto principal = authenticate(deps, request);
  if (!principal) return principal.error();
  if (auto denied = authorize(request, *principal, kPlatformReaders, "", false)) return *denied;
  if (!principal->is_platform()) return http::error_response(request, 403, "forbidden", "listing is for platform roles");
  projections::ListQuery query;
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
    if (name == "status") {
      if (auto status = status_from(value)) query.status = *status;
      else errors.push_back({"status", "must be active, suspended, pending_deletion or deleted"});
    } else if (name == "plan") {
      query.plan = value;
    } else if (name == "region") {
      query.region = value;
    } else if (name == "isolationTier") {
      if (auto tier = tier_from(value)) query.isolation_tier = *tier;
      else errors.push_back({"isolationTier", "must be shared, schema or dedicated"});
    } else if (name == "limit") {
      try {
        const long limit = std::stol(value);
        if (limit < 1 || limit > static_cast<long>(projections::kPageSizeMax)) throw std::out_of_range("limit");
        query.page_size = static_cast<size_t>(limit);
      } catch (const std::exception&) {
        errors.push_back({"limit", "must be 1 to " + std::to_string(projections::kPageSizeMax)});
      }
    } else if (name == "cursor") {
      query.cursor = value;
    } else {
      errors.push_back({name, "unknown query parameter"});
    }
  }
  if (!errors.empty()) return http::error_response(request, 400, "validation_error", "invalid query parameters", errors);
  auto page = deps.directory.list(query);
  if (!page) {
    if (page.error().code == log::ErrorCode::invalid_argument) {
      return http::error_response(request, 400, "validation_error", page.error().message, {{"cursor", "invalid"}});
    }
    return http::error_response(request, 500, "internal_error", page.error().message);
  }
  Poco::JSON::Object data;
  Poco::JSON::Array tenants;
  for (const auto& entry : page->entries) tenants.add(tenant_json(entry));
  data.set("tenants", tenants);
  data.set("nextCursor", page->next_cursor);
  return http::ok_response(request, 200, "tenants", stringify(data));
}

HttpResponse change_status(GatewayDeps& deps, const HttpRequest& request, bool suspend) {
  auto principal = authenticate(deps, request);
  if (!principal) return principal.error();
  const std::string& id = request.path_params.at("id");
  if (auto denied = authorize(request, *principal, kPlatformWriters, id, false)) return *denied;
  if (!well_formed_id(id)) return http::error_response(request, 400, "validation_error", "malformed tenant id", {{"id", "malformed"}});
  if (suspend) {
    auto body = json_body(request, {"reason"});
    if (!body) return body.error();
    std::vector<FieldDetail> errors;
    v1::SuspendTenant suspension;
    suspension.set_reason(text(*body, "reason", "reason", errors).value_or(""));
    if (!errors.empty()) return http::error_response(request, 400, "validation_error", "the body has invalid fields", errors);
    return run_command(deps, request, command_for(id, suspension), *principal, 200, "tenant suspended");
  }
  return run_command(deps, request, command_for(id, v1::ReactivateTenant()), *principal, 200, "tenant reactivated");
}

}  // namespace

std::vector<http::Route> tenant_routes(GatewayDeps& deps) {
  const std::vector<std::string> writers = {"platform_admin", "operator"};
  const std::vector<std::string> readers = {"platform_admin", "operator", "analyst", "auditor"};
  const std::vector<std::string> own = {"platform_admin", "operator", "analyst", "auditor", "tenant_admin (own)",
                                        "tenant_member (own)"};
  return {
      {"POST", "/v1/tenants", [&deps](const HttpRequest& r) { return register_tenant(deps, r); },
       "Register a tenant (Idempotency-Key: the command id)", writers},
      {"GET", "/v1/tenants", [&deps](const HttpRequest& r) { return list_tenants(deps, r); },
       "List tenants (status, plan, isolationTier, region, limit, cursor)", readers},
      {"GET", "/v1/tenants/{id}", [&deps](const HttpRequest& r) { return get_tenant(deps, r); }, "Get a tenant", own},
      {"POST", "/v1/tenants/{id}/suspend", [&deps](const HttpRequest& r) { return change_status(deps, r, true); },
       "Suspend a tenant with a reason (If-Match: expected version)", writers},
      {"POST", "/v1/tenants/{id}/reactivate", [&deps](const HttpRequest& r) { return change_status(deps, r, false); },
       "Reactivate a suspended tenant (If-Match: expected version)", writers},
      {"GET", "/v1/tenant", [&deps](const HttpRequest& r) { return current_tenant(deps, r); },
       "The tenant the request resolves to (subdomain, custom domain, X-Tenant-ID, token)", own},
      {"GET", "/t/{slug}/v1/tenant", [&deps](const HttpRequest& r) { return current_tenant(deps, r); },
       "The tenant named by the path prefix", own},
  };
}

}  // namespace tenantry::gateway
