#include "gateway/api_support.h"

#include "domain/tenant/settings.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/URI.h>

#include <algorithm>
#include <random>
#include <sstream>

namespace tenantry::gateway {

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
    if (!domain.verified()) {
      // Published by the tenant (DNS TXT record) to prove control of the domain.
      one.set("verificationTxtName", "_tenantry-challenge." + domain.domain());
      one.set("verificationToken", domain.verification_token());
    }
    domains.add(one);
  }
  out->set("customDomains", domains);
  if (entry.deletion_due_at_us() != 0) out->set("deletionDueAtUs", entry.deletion_due_at_us());
  Poco::JSON::Object contact;
  contact.set("name", entry.admin_contact().name());
  contact.set("email", entry.admin_contact().email());
  out->set("adminContact", contact);
  // Defaults filled on read; a secret setting shows that it is set, never its value.
  Poco::JSON::Object settings;
  const domain::tenant::Settings stored(entry.settings().begin(), entry.settings().end());
  for (const auto& [key, value] : domain::tenant::with_defaults(stored)) {
    if (domain::tenant::is_secret_setting(key)) settings.set(key, std::string("(set)"));
    else settings.set(key, value);
  }
  out->set("settings", settings);
  if (entry.cloned_from().has_tenant_id()) out->set("clonedFromTenant", entry.cloned_from().tenant_id());
  if (entry.cloned_from().has_template_name()) out->set("clonedFromTemplate", entry.cloned_from().template_name());
  return out;
}

namespace {

std::expected<Principal, HttpResponse> authenticate_now(const GatewayDeps& deps, const HttpRequest& request);

// The request guard and the endpoint both ask who is calling; one request is
// authenticated once. Keyed by the request's identity on this thread (a worker thread
// serves one request at a time): its id, receipt time and credentials.
struct Memo {
  std::string request_id;
  int64_t received_at_us = -1;
  std::string credentials;
  std::optional<std::expected<Principal, HttpResponse>> result;
};

std::string credentials_of(const HttpRequest& request) {
  std::string out;
  if (auto it = request.headers.find("authorization"); it != request.headers.end()) out += it->second;
  out += '\n';
  if (auto it = request.headers.find("x-api-key"); it != request.headers.end()) out += it->second;
  return out;
}

}  // namespace

std::expected<Principal, HttpResponse> authenticate(const GatewayDeps& deps, const HttpRequest& request) {
  thread_local Memo memo;
  std::string credentials = credentials_of(request);
  if (memo.result && memo.request_id == request.request_id && memo.received_at_us == request.received_at_us &&
      memo.credentials == credentials) {
    return *memo.result;
  }
  auto result = authenticate_now(deps, request);
  memo = Memo{request.request_id, request.received_at_us, std::move(credentials), result};
  return result;
}

namespace {

std::expected<Principal, HttpResponse> authenticate_now(const GatewayDeps& deps, const HttpRequest& request) {
  std::string_view api_key;
  auto header = request.headers.find("authorization");
  if (header != request.headers.end()) {
    std::string_view value = header->second;
    if (value.starts_with("Bearer ")) {
      auto principal = deps.jwt.verify(value.substr(7), deps.now_us());
      if (!principal) {
        return std::unexpected(http::error_response(request, 401, principal.error().type(), principal.error().message));
      }
      return *principal;
    }
    if (value.starts_with("ApiKey ")) api_key = value.substr(7);
  }
  if (api_key.empty()) {
    if (auto key = request.headers.find("x-api-key"); key != request.headers.end()) api_key = key->second;
  }
  if (api_key.empty()) {
    return std::unexpected(http::error_response(request, 401, "unauthenticated",
                                                deps.api_keys ? "a Bearer token or an API key is required"
                                                              : "a Bearer token is required"));
  }
  if (!deps.api_keys) {
    return std::unexpected(http::error_response(request, 401, "unauthenticated", "API keys are not accepted here"));
  }
  auto principal = deps.api_keys->verify(api_key, deps.now_us());
  if (!principal) {
    const int status = principal.error().code == http::auth::AuthErrorCode::storage ? 503 : 401;
    return std::unexpected(http::error_response(request, status, principal.error().type(), principal.error().message));
  }
  return *principal;
}

}  // namespace

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

namespace {

v1::AccessRecord access_record(const HttpRequest& request, const Principal& principal, const std::string& target,
                               const std::string& resolved_by, int64_t now_us) {
  v1::AccessRecord record;
  record.set_occurred_at_us(now_us);
  record.set_request_id(request.request_id);
  record.set_subject(principal.subject);
  record.set_principal_tenant_id(principal.tenant_id);
  for (Role role : principal.roles) record.add_roles(http::auth::to_string(role));
  record.set_credential(principal.credential);
  record.set_key_id(principal.key_id);
  record.set_target_tenant_id(target);
  record.set_resolved_by(resolved_by);
  record.set_method(request.method);
  record.set_path(request.path);
  return record;
}


}  // namespace

void audit_denial(GatewayDeps& deps, const HttpRequest& request, const Principal& principal, const std::string& target,
                  const std::string& resolved_by, const std::string& reason) {
  if (!deps.audit) return;
  auto record = access_record(request, principal, target, resolved_by, deps.now_us());
  record.set_outcome(v1::ACCESS_OUTCOME_DENIED);
  record.set_reason(reason);
  deps.audit->record_denial(record);
}

std::string error_type_of(const HttpResponse& response) {
  if (response.status < 400) return "";
  // The envelope's error.type, without parsing the whole body back.
  const auto at = response.body.find("\"type\":\"");
  if (at == std::string::npos) return "";
  const auto start = at + 8;
  return response.body.substr(start, response.body.find('"', start) - start);
}

std::expected<TenantAccess, HttpResponse> access_tenant(GatewayDeps& deps, const HttpRequest& request,
                                                        const std::vector<Role>& platform_roles, OwnTenant own) {
  auto principal = authenticate(deps, request);
  if (!principal) return std::unexpected(principal.error());
  TenantAccess access;
  std::string resolved_by = "path_id";
  if (auto id = request.path_params.find("id"); id != request.path_params.end()) {
    if (!well_formed_id(id->second)) {
      return std::unexpected(
          http::error_response(request, 400, "validation_error", "malformed tenant id", {{"id", "malformed"}}));
    }
    access.tenant_id = id->second;
  } else {
    ResolutionDenial denial;
    denial.method = ResolutionMethod::token;
    auto resolved = resolve_tenant(request, *principal, deps.resolution, deps.directory, &denial);
    if (!resolved) {
      if (!denial.named.empty() || !denial.target_tenant_id.empty()) {
        audit_denial(deps, request, *principal, denial.target_tenant_id.empty() ? denial.named : denial.target_tenant_id,
                     resolution_method_name(denial.method), "tenant_mismatch");
      }
      return std::unexpected(resolved.error());
    }
    access.tenant_id = resolved->tenant_id;
    access.resolved = true;
    resolved_by = resolution_method_name(resolved->method);
  }
  if (auto denied = authorize(request, *principal, platform_roles, access.tenant_id, own != OwnTenant::none)) {
    audit_denial(deps, request, *principal, access.tenant_id, resolved_by, error_type_of(*denied));
    return std::unexpected(*denied);
  }
  // tenant_member is refused where only the tenant's admins may act.
  if (own == OwnTenant::admin && !principal->is_platform() && principal->has(Role::tenant_member) &&
      !principal->has(Role::tenant_admin) &&
      std::none_of(platform_roles.begin(), platform_roles.end(), [&](Role r) { return principal->has(r); })) {
    audit_denial(deps, request, *principal, access.tenant_id, resolved_by, "forbidden");
    return std::unexpected(http::error_response(request, 403, "forbidden", "only the tenant's admins may do this"));
  }
  auto context = deps.contexts ? deps.contexts->get(access.tenant_id)
                               : load_tenant_context(deps.directory, access.tenant_id);
  if (!context) return std::unexpected(http::error_response(request, 500, "internal_error", context.error().message));
  // A read of a tenant the directory does not know is a 404. A write goes on to the
  // tenant's decider, which knows best: the directory may not show a tenant registered
  // a moment ago yet.
  if (!*context && request.method == "GET") {
    return std::unexpected(http::error_response(request, 404, "tenant_not_found", "no tenant " + access.tenant_id));
  }
  const bool status_rules = *context && (access.resolved || !principal->is_platform());
  if (status_rules && (*context)->status == v1::TENANT_STATUS_DELETED) {
    return std::unexpected(
        http::error_response(request, 404, "tenant_deleted", "tenant " + access.tenant_id + " is deleted"));
  }
  if (status_rules && (*context)->status == v1::TENANT_STATUS_SUSPENDED) {
    return std::unexpected(http::error_response(request, 403, "tenant_suspended",
                                                "tenant " + access.tenant_id + " is suspended: " +
                                                    (*context)->suspension_reason,
                                                {{"tenant", (*context)->suspension_reason}}));
  }
  if (principal->is_platform() && deps.audit) {
    auto record = access_record(request, *principal, access.tenant_id, resolved_by, deps.now_us());
    record.set_outcome(v1::ACCESS_OUTCOME_PLATFORM_ACTING);
    deps.audit->record_platform_access(record);
  }
  access.principal = std::move(*principal);
  access.context = std::move(*context);
  return access;
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
HttpResponse run_command(GatewayDeps& deps, const HttpRequest& request, v1::CommandEnvelope command,
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

std::vector<std::pair<std::string, std::string>> query_pairs(const std::string& query,
                                                               std::vector<http::FieldDetail>& errors) {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::istringstream in(query);
  for (std::string pair; std::getline(in, pair, '&');) {
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const std::string name = pair.substr(0, eq);
    try {
      pairs.emplace_back(name, eq == std::string::npos ? "" : Poco::URI("?" + pair.substr(eq + 1)).getQuery());
    } catch (const Poco::Exception&) {
      errors.push_back({name, "malformed percent-encoding"});
    }
  }
  return pairs;
}

}  // namespace tenantry::gateway
