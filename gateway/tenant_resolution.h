// Which tenant a request is for. Each configured method that finds a target in the
// request names a tenant: the path prefix /t/{slug}/, the Host as a subdomain of the
// base domain (slug.base), the Host as a verified custom domain, the X-Tenant-ID
// header. The first present in the configured order is the target; two present that
// disagree make the request ambiguous (400). With no target, the token's tenant claim
// is used (when "token" is in the order). A principal bound to one tenant whose
// request targets another is refused (403 tenant_mismatch), whatever its roles.
#pragma once

#include <expected>
#include <string>
#include <vector>

#include "connectors/http/auth/principal.h"
#include "connectors/http/http_server.h"
#include "projections/tenant_directory/tenant_directory.h"

namespace tenantry::gateway {

enum class ResolutionMethod { token, path, subdomain, domain, header };

struct ResolutionOptions {
  std::vector<ResolutionMethod> order = {ResolutionMethod::path, ResolutionMethod::subdomain,
                                         ResolutionMethod::domain, ResolutionMethod::header,
                                         ResolutionMethod::token};
  std::string base_domain;  // empty: the subdomain method finds nothing
};

// "token,path,subdomain,domain,header" in any order; an unknown name is an error.
std::expected<std::vector<ResolutionMethod>, std::string> parse_resolution_order(const std::string& text);

struct ResolvedTenant {
  std::string tenant_id;
  ResolutionMethod method;
};

const char* resolution_method_name(ResolutionMethod method);

// Set when the request was refused because it targets another tenant than the
// principal's: what it reached for, for the audit record.
struct ResolutionDenial {
  std::string target_tenant_id;  // empty when the target names no known tenant
  std::string named;             // what the request said
  ResolutionMethod method = ResolutionMethod::token;
};

// The tenant the request is for, or the response that says why there is none.
std::expected<ResolvedTenant, http::HttpResponse> resolve_tenant(const http::HttpRequest& request,
                                                                 const http::auth::Principal& principal,
                                                                 const ResolutionOptions& options,
                                                                 projections::TenantDirectory& directory,
                                                                 ResolutionDenial* denial = nullptr);

}  // namespace tenantry::gateway
