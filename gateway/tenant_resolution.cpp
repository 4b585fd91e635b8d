#include "gateway/tenant_resolution.h"

#include <algorithm>
#include <sstream>

namespace tenantry::gateway {

const char* resolution_method_name(ResolutionMethod method) {
  switch (method) {
    case ResolutionMethod::token: return "token";
    case ResolutionMethod::path: return "path";
    case ResolutionMethod::subdomain: return "subdomain";
    case ResolutionMethod::domain: return "domain";
    case ResolutionMethod::header: return "header";
  }
  return "unknown";
}

namespace {

const char* method_name(ResolutionMethod method) { return resolution_method_name(method); }

// The Host header without port, lower-cased, without a trailing dot.
std::string host_of(const http::HttpRequest& request) {
  auto it = request.headers.find("host");
  if (it == request.headers.end()) return "";
  std::string host = it->second.substr(0, it->second.rfind(':') == std::string::npos ? it->second.size()
                                                                                      : it->second.rfind(':'));
  std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
  if (!host.empty() && host.back() == '.') host.pop_back();
  return host;
}

struct Target {
  bool present = false;       // the request carries this kind of target
  std::string tenant_id;      // empty while present: it names no known tenant
  std::string named;          // what the request said, for messages
};

log::Result<Target> target_of(ResolutionMethod method, const http::HttpRequest& request,
                              const ResolutionOptions& options, projections::TenantDirectory& directory) {
  Target target;
  auto by_slug = [&](const std::string& slug) -> log::Result<void> {
    target.present = true;
    target.named = slug;
    auto entry = directory.find_by_slug(slug);
    if (!entry) return std::unexpected(entry.error());
    if (*entry) target.tenant_id = (*entry)->tenant_id();
    return {};
  };
  switch (method) {
    case ResolutionMethod::token: break;
    case ResolutionMethod::path:
      if (auto slug = request.path_params.find("slug"); slug != request.path_params.end()) {
        if (auto found = by_slug(slug->second); !found) return std::unexpected(found.error());
      }
      break;
    case ResolutionMethod::subdomain: {
      const std::string host = host_of(request);
      const std::string suffix = "." + options.base_domain;
      if (!options.base_domain.empty() && host.size() > suffix.size() && host.ends_with(suffix)) {
        const std::string label = host.substr(0, host.size() - suffix.size());
        if (label.find('.') == std::string::npos) {
          if (auto found = by_slug(label); !found) return std::unexpected(found.error());
        }
      }
      break;
    }
    case ResolutionMethod::domain: {
      const std::string host = host_of(request);
      if (host.empty() || host == "localhost" || host.find('.') == std::string::npos) break;
      if (!options.base_domain.empty() && (host == options.base_domain || host.ends_with("." + options.base_domain))) break;
      if (std::all_of(host.begin(), host.end(), [](unsigned char c) { return std::isdigit(c) || c == '.'; })) break;
      auto entry = directory.find_by_domain(host);
      if (!entry) return std::unexpected(entry.error());
      // Only a verified domain names a tenant; an unverified claim proves nothing.
      if (*entry) {
        for (const auto& domain : (*entry)->custom_domains()) {
          if (domain.domain() == host && domain.verified()) {
            target.present = true;
            target.named = host;
            target.tenant_id = (*entry)->tenant_id();
          }
        }
      }
      break;
    }
    case ResolutionMethod::header:
      if (auto header = request.headers.find("x-tenant-id"); header != request.headers.end()) {
        target.present = true;
        target.named = header->second;
        auto entry = directory.get(header->second);
        if (!entry) return std::unexpected(entry.error());
        if (*entry) target.tenant_id = header->second;
      }
      break;
  }
  return target;
}

}  // namespace

std::expected<std::vector<ResolutionMethod>, std::string> parse_resolution_order(const std::string& text) {
  std::vector<ResolutionMethod> order;
  std::istringstream parts(text);
  for (std::string part; std::getline(parts, part, ',');) {
    part.erase(std::remove_if(part.begin(), part.end(), [](unsigned char c) { return std::isspace(c); }), part.end());
    bool known = false;
    for (auto method : {ResolutionMethod::token, ResolutionMethod::path, ResolutionMethod::subdomain,
                        ResolutionMethod::domain, ResolutionMethod::header}) {
      if (part == method_name(method)) {
        if (std::find(order.begin(), order.end(), method) != order.end()) return std::unexpected(part + " given twice");
        order.push_back(method);
        known = true;
      }
    }
    if (!known) return std::unexpected("unknown method '" + part + "' (token, path, subdomain, domain, header)");
  }
  if (order.empty()) return std::unexpected("at least one method is needed");
  return order;
}

std::expected<ResolvedTenant, http::HttpResponse> resolve_tenant(const http::HttpRequest& request,
                                                                 const http::auth::Principal& principal,
                                                                 const ResolutionOptions& options,
                                                                 projections::TenantDirectory& directory,
                                                                 ResolutionDenial* denial) {
  std::optional<ResolvedTenant> chosen;
  std::string chosen_named;
  for (ResolutionMethod method : options.order) {
    auto target = target_of(method, request, options, directory);
    if (!target) return std::unexpected(http::error_response(request, 500, "internal_error", target.error().message));
    if (!target->present) continue;
    // A foreign target is refused before anything says whether it exists.
    if (!principal.is_platform() && target->tenant_id != principal.tenant_id) {
      if (denial) *denial = ResolutionDenial{target->tenant_id, target->named, method};
      return std::unexpected(http::error_response(request, 403, "tenant_mismatch",
                                                  "the principal is bound to another tenant"));
    }
    if (target->tenant_id.empty()) {
      return std::unexpected(http::error_response(request, 404, "tenant_not_found",
                                                  std::string("no tenant for ") + method_name(method) + " '" +
                                                      target->named + "'"));
    }
    if (!chosen) {
      chosen = ResolvedTenant{target->tenant_id, method};
      chosen_named = target->named;
    } else if (chosen->tenant_id != target->tenant_id) {
      return std::unexpected(http::error_response(
          request, 400, "ambiguous_tenant",
          std::string("the request names two tenants (") + method_name(chosen->method) + " and " + method_name(method) + ")",
          {{method_name(method), "names another tenant than " + std::string(method_name(chosen->method))}}));
    }
  }
  if (chosen) return *chosen;
  if (std::find(options.order.begin(), options.order.end(), ResolutionMethod::token) != options.order.end() &&
      !principal.tenant_id.empty()) {
    return ResolvedTenant{principal.tenant_id, ResolutionMethod::token};
  }
  return std::unexpected(http::error_response(request, 400, "tenant_required", "the request names no tenant"));
}

}  // namespace tenantry::gateway
