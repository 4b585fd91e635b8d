#include "gateway/tenants_api.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/URI.h>

#include <random>
#include <set>
#include <sstream>

#include "tenantry/v1/tenant.pb.h"

namespace tenantry::gateway {

namespace {

using http::FieldDetail;
using http::HttpRequest;
using http::HttpResponse;
using http::auth::Principal;
using http::auth::Role;

const std::vector<Role> kPlatformWriters = {Role::platform_admin, Role::operator_};
const std::vector<Role> kPlatformReaders = {Role::platform_admin, Role::operator_, Role::analyst, Role::auditor};

std::string stringify(const Poco::Dynamic::Var& value) {
  std::ostringstream out;
  Poco::JSON::Stringifier::stringify(value, out);
  return out.str();
}

// 1-128 of [A-Za-z0-9._:-]: what may serve as a command id or tenant id from a client.
bool well_formed_id(std::string_view id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == ':' || c == '-';
  });
}

std::string random_id(std::string_view prefix) {
  thread_local std::mt19937_64 random(std::random_device{}());
  char text[40];
  std::snprintf(text, sizeof text, "%.*s%016llx%08llx", static_cast<int>(prefix.size()), prefix.data(),
                static_cast<unsigned long long>(random()), static_cast<unsigned long long>(random() & 0xffffffffu));
  return text;
}

const char* tier_name(v1::IsolationTier tier) {
  switch (tier) {
    case v1::ISOLATION_TIER_SHARED: return "shared";
    case v1::ISOLATION_TIER_SCHEMA: return "schema";
    case v1::ISOLATION_TIER_DEDICATED: return "dedicated";
    default: return "unspecified";
  }
}

std::optional<v1::IsolationTier> tier_from(std::string_view name) {
  if (name == "shared") return v1::ISOLATION_TIER_SHARED;
  if (name == "schema") return v1::ISOLATION_TIER_SCHEMA;
  if (name == "dedicated") return v1::ISOLATION_TIER_DEDICATED;
  return std::nullopt;
}

const char* status_name(v1::TenantStatus status) {
  switch (status) {
    case v1::TENANT_STATUS_ACTIVE: return "active";
    case v1::TENANT_STATUS_SUSPENDED: return "suspended";
    case v1::TENANT_STATUS_PENDING_DELETION: return "pending_deletion";
    case v1::TENANT_STATUS_DELETED: return "deleted";
    default: return "unspecified";
  }
}

std::optional<v1::TenantStatus> status_from(std::string_view name) {
  for (auto status : {v1::TENANT_STATUS_ACTIVE, v1::TENANT_STATUS_SUSPENDED, v1::TENANT_STATUS_PENDING_DELETION,
                      v1::TENANT_STATUS_DELETED}) {
    if (name == status_name(status)) return status;
  }
  return std::nullopt;
}

Poco::JSON::Object::Ptr tenant_json(const v1::TenantDirectoryEntry& entry) {
  Poco::JSON::Object::Ptr out = new Poco::JSON::Object;
  out->set("id", entry.tenant_id());
  out->set("slug", entry.slug());
  out->set("displayName", entry.display_name());
  out->set("plan", entry.plan());
  out->set("isolationTier", std::string(tier_name(entry.isolation_tier())));
  out->set("region", entry.region());
  out->set("status", std::string(status_name(entry.status())));
  if (!entry.suspension_reason().empty()) out->set("suspensionReason", entry.suspension_reason());
  out->set("version", static_cast<uint64_t>(entry.version()));
  out->set("createdAtUs", entry.created_at_us());
  out->set("updatedAtUs", entry.updated_at_us());
  Poco::JSON::Array domains;
  for (const auto& domain : entry.custom_domains()) {
    Poco::JSON::Object one;
    one.set("domain", domain.domain());
    one.set("verified", domain.verified());
    domains.add(one);
  }
  out->set("customDomains", domains);
  return out;
}

// Who is calling, or the response that says why nobody is.
std::expected<Principal, HttpResponse> authenticate(const TenantsApiDeps& deps, const HttpRequest& request) {
  auto header = request.headers.find("authorization");
  if (header == request.headers.end() || !header->second.starts_with("Bearer ")) {
    return std::unexpected(http::error_response(request, 401, "unauthenticated", "a Bearer token is required"));
  }
  auto principal = deps.jwt.verify(std::string_view(header->second).substr(7), deps.now_us());
  if (!principal) {
    return std::unexpected(http::error_response(request, 401, principal.error().type(), principal.error().message));
  }
  return *principal;
}

// The platform roles in `allowed`, or a tenant role on `tenant_id` itself when
// `tenant_roles_on_own` is set. A tenant-bound principal naming another tenant is
// told so (403 tenant_mismatch) whatever its roles.
std::optional<HttpResponse> authorize(const HttpRequest& request, const Principal& principal,
                                      const std::vector<Role>& allowed, const std::string& tenant_id,
                                      bool tenant_roles_on_own) {
  if (!principal.is_platform() && !tenant_id.empty() && principal.tenant_id != tenant_id) {
    return http::error_response(request, 403, "tenant_mismatch", "the principal is bound to another tenant");
  }
  for (Role role : allowed) {
    if (principal.has(role)) return std::nullopt;
  }
  if (tenant_roles_on_own && !principal.is_platform() && principal.tenant_id == tenant_id &&
      (principal.has(Role::tenant_admin) || principal.has(Role::tenant_member))) {
    return std::nullopt;
  }
  return http::error_response(request, 403, "forbidden", "the principal's roles do not allow this");
}

// The request body as a JSON object with only `allowed` keys, or the response that
// names what is wrong.
std::expected<Poco::JSON::Object::Ptr, HttpResponse> json_body(const HttpRequest& request,
                                                               const std::set<std::string>& allowed) {
  if (request.body.empty()) {
    return std::unexpected(http::error_response(request, 400, "invalid_json", "the request body is empty"));
  }
  Poco::Dynamic::Var parsed;
  try {
    parsed = Poco::JSON::Parser().parse(request.body);
  } catch (const Poco::Exception& e) {
    return std::unexpected(http::error_response(request, 400, "invalid_json", "the body is not JSON: " + e.message()));
  }
  if (parsed.type() != typeid(Poco::JSON::Object::Ptr)) {
    return std::unexpected(http::error_response(request, 400, "invalid_json", "the body must be a JSON object"));
  }
  auto object = parsed.extract<Poco::JSON::Object::Ptr>();
  std::vector<FieldDetail> unknown;
  for (const auto& name : object->getNames()) {
    if (allowed.count(name) == 0) unknown.push_back({name, "unknown field"});
  }
  if (!unknown.empty()) {
    return std::unexpected(http::error_response(request, 400, "unknown_field", "the body has unknown fields", unknown));
  }
  return object;
}

// A string member, absent as nullopt; a member of another type is a field error.
std::optional<std::string> text(const Poco::JSON::Object::Ptr& object, const std::string& name,
                                 const std::string& path, std::vector<FieldDetail>& errors) {
  if (!object->has(name) || object->isNull(name)) return std::nullopt;
  const auto value = object->get(name);
  if (!value.isString()) {
    errors.push_back({path, "must be a string"});
    return std::nullopt;
  }
  return value.convert<std::string>();
}

// Sends the command and answers with its reply, mapped onto HTTP.
HttpResponse run_command(TenantsApiDeps& deps, const HttpRequest& request, v1::CommandEnvelope command,
                         const Principal& principal, int success_status, const std::string& success_message) {
  auto key = request.headers.find("idempotency-key");
  if (key != request.headers.end()) {
    if (!well_formed_id(key->second)) {
      return http::error_response(request, 400, "validation_error", "Idempotency-Key must be 1-128 of [A-Za-z0-9._:-]",
                                  {{"Idempotency-Key", "malformed"}});
    }
    command.set_command_id(key->second);
  } else {
    command.set_command_id(random_id("cmd-"));
  }
  if (auto match = request.headers.find("if-match"); match != request.headers.end()) {
    std::string version = match->second;
    if (version.size() >= 2 && version.front() == '"' && version.back() == '"') version = version.substr(1, version.size() - 2);
    try {
      size_t used = 0;
      const uint64_t expected = std::stoull(version, &used);
      if (used != version.size()) throw std::invalid_argument("trailing");
      command.set_expected_version(expected);
    } catch (const std::exception&) {
      return http::error_response(request, 400, "validation_error", "If-Match must be a tenant version",
                                  {{"If-Match", "not a version"}});
    }
  }
  command.set_correlation_id(request.request_id);
  command.set_issued_at_us(deps.now_us());
  auto* actor = command.mutable_actor();
  actor->set_kind(principal.credential == "api_key" ? "service" : "user");
  actor->set_id(principal.subject);
  actor->set_tenant_id(principal.tenant_id);
  if (!principal.roles.empty()) actor->set_role(http::auth::to_string(principal.roles.front()));

  auto reply = deps.client.execute(command, deps.command_timeout);
  if (!reply) {
    if (reply.error().code == log::ErrorCode::timeout) {
      return http::error_response(request, 504, "command_timeout",
                                  "no reply in time; retry with the same Idempotency-Key: " + command.command_id());
    }
    return http::error_response(request, 503, "unavailable", reply.error().message);
  }
  Poco::JSON::Object data;
  data.set("tenantId", command.tenant_id());
  data.set("commandId", command.command_id());
  data.set("version", static_cast<uint64_t>(reply->resulting_sequence()));
  switch (reply->status()) {
    case v1::CommandReply::STATUS_ACCEPTED: return http::ok_response(request, success_status, success_message, stringify(data));
    case v1::CommandReply::STATUS_CONFLICT: {
      auto response = http::error_response(request, 409, reply->error_type(), reply->message());
      return response;
    }
    case v1::CommandReply::STATUS_REJECTED: {
      std::vector<FieldDetail> details;
      for (const auto& f : reply->field_errors()) details.push_back({f.field(), f.message()});
      const std::string& type = reply->error_type();
      const int status = type == "not_found"                                      ? 404
                         : type == "already_exists" || type == "invalid_transition" ? 409
                         : type == "validation_error" || type == "limit_exceeded"  ? 422
                                                                                   : 400;
      return http::error_response(request, status, type, reply->message(), details);
    }
    default: return http::error_response(request, 500, "command_failed", reply->message());
  }
}

v1::CommandEnvelope command_for(const std::string& tenant_id, const google::protobuf::Message& body) {
  v1::CommandEnvelope command;
  command.set_tenant_id(tenant_id);
  command.set_command_type(body.GetDescriptor()->full_name());
  command.set_schema_version(1);
  command.set_payload(body.SerializeAsString());
  return command;
}

HttpResponse register_tenant(TenantsApiDeps& deps, const HttpRequest& request) {
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

HttpResponse get_tenant(TenantsApiDeps& deps, const HttpRequest& request) {
  auto principal = authenticate(deps, request);
  if (!principal) return principal.error();
  const std::string& id = request.path_params.at("id");
  if (auto denied = authorize(request, *principal, kPlatformReaders, id, true)) return *denied;
  auto entry = deps.directory.get(id);
  if (!entry) return http::error_response(request, 500, "internal_error", entry.error().message);
  if (!*entry) return http::error_response(request, 404, "not_found", "no tenant " + id);
  return http::ok_response(request, 200, "tenant", stringify(tenant_json(**entry)));
}

HttpResponse current_tenant(TenantsApiDeps& deps, const HttpRequest& request) {
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

HttpResponse list_tenants(TenantsApiDeps& deps, const HttpRequest& request) {
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

HttpResponse change_status(TenantsApiDeps& deps, const HttpRequest& request, bool suspend) {
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

std::vector<http::Route> tenant_routes(TenantsApiDeps& deps) {
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
