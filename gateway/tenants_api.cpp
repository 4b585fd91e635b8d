#include "gateway/tenants_api.h"

#include "domain/tenant/settings.h"

#include <Poco/JSON/Array.h>
#include <Poco/URI.h>

#include <sstream>

namespace tenantry::gateway {

namespace {

using http::FieldDetail;
using http::HttpRequest;
using http::HttpResponse;

// The body's adminContact {name, email}, when present; field errors when malformed.
std::optional<v1::AdminContact> read_admin_contact(const Poco::JSON::Object::Ptr& body,
                                                   std::vector<FieldDetail>& errors) {
  if (!body->has("adminContact")) return std::nullopt;
  auto contact = body->getObject("adminContact");
  if (!contact) {
    errors.push_back({"adminContact", "must be an object with name and email"});
    return std::nullopt;
  }
  for (const auto& name : contact->getNames()) {
    if (name != "name" && name != "email") errors.push_back({"adminContact." + name, "unknown field"});
  }
  v1::AdminContact out;
  out.set_name(text(contact, "name", "adminContact.name", errors).value_or(""));
  out.set_email(text(contact, "email", "adminContact.email", errors).value_or(""));
  return out;
}

// The body's isolationTier, when present and known; a field error when unknown.
std::optional<v1::IsolationTier> read_tier(const Poco::JSON::Object::Ptr& body, std::vector<FieldDetail>& errors) {
  auto tier = text(body, "isolationTier", "isolationTier", errors);
  if (!tier) return std::nullopt;
  if (auto parsed = tier_from(*tier)) return parsed;
  errors.push_back({"isolationTier", "must be shared, schema or dedicated"});
  return std::nullopt;
}

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
  if (auto tier = read_tier(*body, errors)) registration.set_isolation_tier(*tier);
  if (auto contact = read_admin_contact(*body, errors)) *registration.mutable_admin_contact() = *contact;
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

std::optional<size_t> parse_limit(const std::string& value) {
  try {
    size_t used = 0;
    const long limit = std::stol(value, &used);
    if (used != value.size() || limit < 1 || limit > static_cast<long>(projections::kPageSizeMax)) return std::nullopt;
    return static_cast<size_t>(limit);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// The tenant's directory entry, read again (the context says it exists).
HttpResponse show_tenant(GatewayDeps& deps, const HttpRequest& request, const TenantAccess& access) {
  auto entry = deps.directory.get(access.tenant_id);
  if (!entry) return http::error_response(request, 500, "internal_error", entry.error().message);
  if (!*entry) return http::error_response(request, 404, "tenant_not_found", "no tenant " + access.tenant_id);
  return http::ok_response(request, 200, "tenant", stringify(tenant_json(**entry)));
}

HttpResponse get_tenant(GatewayDeps& deps, const HttpRequest& request) {
  auto access = access_tenant(deps, request, kPlatformReaders, OwnTenant::admin_or_member);
  if (!access) return access.error();
  return show_tenant(deps, request, *access);
}

// settings: {"key": "value"} sets, {"key": null} unsets (the default applies again).
HttpResponse configure_tenant(GatewayDeps& deps, const HttpRequest& request) {
  auto access = access_tenant(deps, request, kPlatformWriters, OwnTenant::admin);
  if (!access) return access.error();
  auto body = json_body(request, {"displayName", "plan", "adminContact", "settings"});
  if (!body) return body.error();
  std::vector<FieldDetail> errors;
  v1::ConfigureTenant change;
  if (auto name = text(*body, "displayName", "displayName", errors)) change.set_display_name(*name);
  if (auto plan = text(*body, "plan", "plan", errors)) {
    // A tenant's own admins configure the tenant; the plan is the platform's to set.
    if (!access->principal.is_platform()) errors.push_back({"plan", "only platform roles change the plan"});
    else change.set_plan(*plan);
  }
  if (auto contact = read_admin_contact(*body, errors)) *change.mutable_admin_contact() = *contact;
  if ((*body)->has("settings")) {
    auto settings = (*body)->getObject("settings");
    if (!settings) {
      errors.push_back({"settings", "must be an object of strings (null unsets)"});
    } else {
      for (const auto& name : settings->getNames()) {
        // Quotas are the platform's to set, as the plan is.
        if (name.starts_with(domain::tenant::kQuotaPrefix) && !access->principal.is_platform()) {
          errors.push_back({"settings." + name, "only platform roles change quotas"});
          continue;
        }
        if (settings->isNull(name)) change.add_unset_settings(name);
        else if (auto value = text(settings, name, "settings." + name, errors)) (*change.mutable_set_settings())[name] = *value;
      }
    }
  }
  if (!errors.empty()) return http::error_response(request, 400, "validation_error", "the body has invalid fields", errors);
  return run_command(deps, request, command_for(access->tenant_id, change), access->principal, 200, "tenant configured");
}

HttpResponse request_deletion(GatewayDeps& deps, const HttpRequest& request) {
  auto access = access_tenant(deps, request, kPlatformWriters, OwnTenant::admin);
  if (!access) return access.error();
  v1::RequestTenantDeletion deletion;
  if (!request.body.empty()) {
    auto body = json_body(request, {"gracePeriodDays"});
    if (!body) return body.error();
    if ((*body)->has("gracePeriodDays")) {
      const auto days = (*body)->get("gracePeriodDays");
      if (!days.isInteger() || days.convert<int64_t>() < 0 || days.convert<int64_t>() > 90) {
        return http::error_response(request, 400, "validation_error", "the body has invalid fields",
                                    {{"gracePeriodDays", "must be an integer from 0 to 90"}});
      }
      deletion.set_grace_period_days(days.convert<uint32_t>());
    }
  }
  return run_command(deps, request, command_for(access->tenant_id, deletion), access->principal, 202,
                     "tenant deletion requested");
}

HttpResponse cancel_deletion(GatewayDeps& deps, const HttpRequest& request) {
  auto access = access_tenant(deps, request, kPlatformWriters, OwnTenant::admin);
  if (!access) return access.error();
  return run_command(deps, request, command_for(access->tenant_id, v1::CancelTenantDeletion()), access->principal, 200,
                     "tenant deletion cancelled");
}

HttpResponse add_domain(GatewayDeps& deps, const HttpRequest& request) {
  auto access = access_tenant(deps, request, kPlatformWriters, OwnTenant::admin);
  if (!access) return access.error();
  auto body = json_body(request, {"domain"});
  if (!body) return body.error();
  std::vector<FieldDetail> errors;
  v1::AddCustomDomain add;
  add.set_domain(text(*body, "domain", "domain", errors).value_or(""));
  if (!errors.empty()) return http::error_response(request, 400, "validation_error", "the body has invalid fields", errors);
  return run_command(deps, request, command_for(access->tenant_id, add), access->principal, 201,
                     "custom domain added; publish its verificationToken, then have it verified");
}

// Called by whatever checked the tenant's DNS (an operator or a verification worker),
// never by the tenant itself: presenting the token proves nothing when the tenant can
// read it from this API.
HttpResponse verify_domain(GatewayDeps& deps, const HttpRequest& request) {
  auto access = access_tenant(deps, request, kPlatformWriters, OwnTenant::none);
  if (!access) return access.error();
  auto body = json_body(request, {"token"});
  if (!body) return body.error();
  std::vector<FieldDetail> errors;
  v1::VerifyCustomDomain verify;
  verify.set_domain(request.path_params.at("domain"));
  verify.set_presented_token(text(*body, "token", "token", errors).value_or(""));
  if (!errors.empty()) return http::error_response(request, 400, "validation_error", "the body has invalid fields", errors);
  return run_command(deps, request, command_for(access->tenant_id, verify), access->principal, 200,
                     "custom domain verified");
}

HttpResponse remove_domain(GatewayDeps& deps, const HttpRequest& request) {
  auto access = access_tenant(deps, request, kPlatformWriters, OwnTenant::admin);
  if (!access) return access.error();
  v1::RemoveCustomDomain remove;
  remove.set_domain(request.path_params.at("domain"));
  return run_command(deps, request, command_for(access->tenant_id, remove), access->principal, 200,
                     "custom domain removed");
}

HttpResponse tenant_operations(GatewayDeps& deps, const HttpRequest& request) {
  auto access = access_tenant(deps, request, kPlatformReaders, OwnTenant::admin);
  if (!access) return access.error();
  size_t limit = projections::kPageSizeDefault;
  std::string cursor;
  std::vector<FieldDetail> errors;
  for (const auto& [name, value] : query_pairs(request.query, errors)) {
    if (name == "limit") {
      if (auto parsed = parse_limit(value)) limit = *parsed;
      else errors.push_back({"limit", "must be 1 to " + std::to_string(projections::kPageSizeMax)});
    } else if (name == "cursor") {
      cursor = value;
    } else {
      errors.push_back({name, "unknown query parameter"});
    }
  }
  if (!errors.empty()) return http::error_response(request, 400, "validation_error", "invalid query parameters", errors);
  auto page = deps.directory.operations(access->tenant_id, limit, cursor);
  if (!page) {
    if (page.error().code == log::ErrorCode::invalid_argument) {
      return http::error_response(request, 400, "validation_error", page.error().message, {{"cursor", "invalid"}});
    }
    return http::error_response(request, 500, "internal_error", page.error().message);
  }
  Poco::JSON::Array operations;
  for (const auto& op : page->entries) {
    Poco::JSON::Object one;
    one.set("sequence", static_cast<uint64_t>(op.sequence()));
    one.set("eventType", op.event_type());
    one.set("eventId", op.event_id());
    one.set("occurredAtUs", op.occurred_at_us());
    one.set("commandId", op.command_id());
    one.set("correlationId", op.correlation_id());
    Poco::JSON::Object actor;
    actor.set("kind", op.actor().kind());
    actor.set("id", op.actor().id());
    actor.set("tenantId", op.actor().tenant_id());
    actor.set("role", op.actor().role());
    one.set("actor", actor);
    if (op.payload_unreadable()) one.set("payloadUnreadable", true);
    operations.add(one);
  }
  Poco::JSON::Object data;
  data.set("operations", operations);
  data.set("nextCursor", page->next_cursor);
  return http::ok_response(request, 200, "operations", stringify(data));
}

// The source tenant's state, as the clone command carries it.
v1::TenantSnapshot snapshot_of(const v1::TenantDirectoryEntry& entry) {
  v1::TenantSnapshot snapshot;
  snapshot.set_tenant_id(entry.tenant_id());
  snapshot.set_plan(entry.plan());
  snapshot.set_isolation_tier(entry.isolation_tier());
  snapshot.set_region(entry.region());
  snapshot.set_status(entry.status());
  for (const auto& [key, value] : entry.settings()) (*snapshot.mutable_settings())[key] = value;
  return snapshot;
}

// POST /v1/tenants/{id}/clones (from a tenant) and POST /v1/templates/{name}/tenants.
HttpResponse clone_tenant(GatewayDeps& deps, const HttpRequest& request) {
  auto principal = authenticate(deps, request);
  if (!principal) return principal.error();
  const auto source_param = request.path_params.find("id");
  const std::string source_id = source_param != request.path_params.end() ? source_param->second : "";
  if (auto denied = authorize(request, *principal, kPlatformWriters, source_id, false)) return *denied;
  auto body = json_body(request, {"id", "slug", "displayName", "adminContact", "region", "isolationTier"});
  if (!body) return body.error();
  std::vector<FieldDetail> errors;
  v1::CloneTenant clone;
  const auto id = text(*body, "id", "id", errors);
  clone.set_slug(text(*body, "slug", "slug", errors).value_or(""));
  clone.set_display_name(text(*body, "displayName", "displayName", errors).value_or(""));
  clone.set_region(text(*body, "region", "region", errors).value_or(""));
  if (auto tier = read_tier(*body, errors)) clone.set_isolation_tier(*tier);
  if (auto contact = read_admin_contact(*body, errors)) *clone.mutable_admin_contact() = *contact;
  if (id && !well_formed_id(*id)) errors.push_back({"id", "must be 1-128 of [A-Za-z0-9._:-]"});
  if (!errors.empty()) return http::error_response(request, 400, "validation_error", "the body has invalid fields", errors);
  if (auto source = request.path_params.find("id"); source != request.path_params.end()) {
    auto entry = deps.directory.get(source->second);
    if (!entry) return http::error_response(request, 500, "internal_error", entry.error().message);
    if (!*entry || (*entry)->status() == v1::TENANT_STATUS_DELETED) {
      return http::error_response(request, 404, "tenant_not_found", "no tenant " + source->second + " to clone");
    }
    *clone.mutable_source_tenant() = snapshot_of(**entry);
  } else {
    clone.set_template_name(request.path_params.at("name"));
  }
  return run_command(deps, request, command_for(id.value_or(random_id("t-")), clone), *principal, 201, "tenant cloned");
}

// Filters (status, plan, isolationTier, region, createdFrom, createdBefore), a page
// (limit, cursor); q=prefix searches slugs and names instead; format=csv|ndjson
// streams every match as an export instead of a page.
HttpResponse list_tenants(GatewayDeps& deps, const HttpRequest& request) {
  auto principal = authenticate(deps, request);
  if (!principal) return principal.error();
  if (auto denied = authorize(request, *principal, kPlatformReaders, "", false)) return *denied;
  if (!principal->is_platform()) return http::error_response(request, 403, "forbidden", "listing is for platform roles");
  projections::ListQuery query;
  std::optional<std::string> search;
  std::optional<projections::ExportFormat> format;
  std::vector<FieldDetail> errors;
  auto time_us = [&errors](const std::string& name, const std::string& value) -> std::optional<int64_t> {
    try {
      size_t used = 0;
      const int64_t parsed = std::stoll(value, &used);
      if (used == value.size()) return parsed;
    } catch (const std::exception&) {
    }
    errors.push_back({name, "must be microseconds since the epoch"});
    return std::nullopt;
  };
  for (const auto& [name, value] : query_pairs(request.query, errors)) {
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
    } else if (name == "createdFrom") {
      query.created_from_us = time_us(name, value);
    } else if (name == "createdBefore") {
      query.created_before_us = time_us(name, value);
    } else if (name == "limit") {
      if (auto limit = parse_limit(value)) query.page_size = *limit;
      else errors.push_back({"limit", "must be 1 to " + std::to_string(projections::kPageSizeMax)});
    } else if (name == "cursor") {
      query.cursor = value;
    } else if (name == "q") {
      if (value.empty() || value.size() > 128) errors.push_back({"q", "must be 1 to 128 characters"});
      else search = value;
    } else if (name == "format") {
      if (value == "csv") format = projections::ExportFormat::csv;
      else if (value == "ndjson") format = projections::ExportFormat::ndjson;
      else errors.push_back({"format", "must be csv or ndjson"});
    } else {
      errors.push_back({name, "unknown query parameter"});
    }
  }
  if (search && format) errors.push_back({"format", "exports take filters, not q"});
  if (!errors.empty()) return http::error_response(request, 400, "validation_error", "invalid query parameters", errors);

  if (format) {
    HttpResponse response;
    response.status = 200;
    response.content_type = *format == projections::ExportFormat::csv ? "text/csv; charset=utf-8" : "application/x-ndjson";
    response.headers["X-Request-ID"] = request.request_id;
    response.headers["Content-Disposition"] =
        std::string("attachment; filename=\"tenants.") + (*format == projections::ExportFormat::csv ? "csv" : "ndjson") + "\"";
    auto& directory = deps.directory;
    response.stream = [&directory, query, export_format = *format](const http::BodyWriter& write) {
      auto exported = directory.export_rows(query, export_format, [&write](std::string_view chunk) { return write(chunk); });
      return exported.has_value();
    };
    return response;
  }
  auto page = search ? deps.directory.search(*search, query.page_size, query.cursor) : deps.directory.list(query);
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
  auto access = access_tenant(deps, request, kPlatformWriters, OwnTenant::none);
  if (!access) return access.error();
  if (suspend) {
    auto body = json_body(request, {"reason"});
    if (!body) return body.error();
    std::vector<FieldDetail> errors;
    v1::SuspendTenant suspension;
    suspension.set_reason(text(*body, "reason", "reason", errors).value_or(""));
    if (!errors.empty()) return http::error_response(request, 400, "validation_error", "the body has invalid fields", errors);
    return run_command(deps, request, command_for(access->tenant_id, suspension), access->principal, 200,
                       "tenant suspended");
  }
  return run_command(deps, request, command_for(access->tenant_id, v1::ReactivateTenant()), access->principal, 200,
                     "tenant reactivated");
}

}  // namespace

std::vector<http::Route> tenant_routes(GatewayDeps& deps) {
  const std::vector<std::string> writers = {"platform_admin", "operator"};
  const std::vector<std::string> readers = {"platform_admin", "operator", "analyst", "auditor"};
  const std::vector<std::string> own = {"platform_admin", "operator", "analyst", "auditor", "tenant_admin (own)",
                                        "tenant_member (own)"};
  const std::vector<std::string> admins = {"platform_admin", "operator", "tenant_admin (own)"};
  const std::vector<std::string> own_readers = {"platform_admin", "operator", "analyst", "auditor", "tenant_admin (own)"};
  auto bind = [&deps](HttpResponse (*handler)(GatewayDeps&, const HttpRequest&)) {
    return [&deps, handler](const HttpRequest& r) { return handler(deps, r); };
  };
  std::vector<http::Route> routes = {
      {"POST", "/v1/tenants", bind(register_tenant), "Register a tenant (Idempotency-Key: the command id)", writers},
      {"GET", "/v1/tenants", bind(list_tenants),
       "List tenants (status, plan, isolationTier, region, createdFrom, createdBefore, limit, cursor); "
       "q=prefix searches slugs and names; format=csv|ndjson exports every match",
       readers},
      {"POST", "/v1/templates/{name}/tenants", bind(clone_tenant), "Register a tenant from a template", writers},
      {"POST", "/v1/tenants/{id}/clones", bind(clone_tenant),
       "Register a tenant as a copy of this one (settings and plan; never secrets or domains)", writers},
      {"POST", "/v1/tenants/{id}/suspend", [&deps](const HttpRequest& r) { return change_status(deps, r, true); },
       "Suspend a tenant with a reason (If-Match: expected version)", writers},
      {"POST", "/v1/tenants/{id}/reactivate", [&deps](const HttpRequest& r) { return change_status(deps, r, false); },
       "Reactivate a suspended tenant (If-Match: expected version)", writers},
      {"POST", "/v1/tenants/{id}/domains/{domain}/verify", bind(verify_domain),
       "Mark a custom domain verified, with the token found in its DNS", writers},
  };
  // The tenant-scoped endpoints, in each form a request can name its tenant: by id,
  // and by resolution (subdomain, custom domain, X-Tenant-ID, token; or the /t/{slug}
  // path prefix).
  struct Scoped {
    const char* method;
    const char* suffix;
    HttpResponse (*handler)(GatewayDeps&, const HttpRequest&);
    const char* summary;
    const std::vector<std::string>* roles;
  };
  const Scoped scoped[] = {
      {"GET", "", get_tenant, "Get the tenant", &own},
      {"PATCH", "", configure_tenant, "Configure the tenant (displayName, adminContact, settings; plan: platform roles)",
       &admins},
      {"GET", "/operations", tenant_operations, "The tenant's operation log: who did what, when, by which command",
       &own_readers},
      {"POST", "/domains", add_domain, "Add a custom domain (answers with the token to publish)", &admins},
      {"DELETE", "/domains/{domain}", remove_domain, "Remove a custom domain", &admins},
      {"POST", "/deletion", request_deletion, "Request the tenant's deletion (gracePeriodDays, default 30)", &admins},
      {"DELETE", "/deletion", cancel_deletion, "Cancel a pending deletion", &admins},
  };
  for (const auto& route : scoped) {
    for (const char* prefix : {"/v1/tenants/{id}", "/v1/tenant", "/t/{slug}/v1/tenant"}) {
      routes.push_back({route.method, std::string(prefix) + route.suffix, bind(route.handler), route.summary,
                        *route.roles});
    }
  }
  return routes;
}

}  // namespace tenantry::gateway
