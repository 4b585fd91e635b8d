#include "gateway/webhooks_api.h"

#include "audit/json_writer.h"

namespace tenantry::gateway {

namespace {

using http::HttpRequest;
using http::HttpResponse;

std::optional<HttpResponse> operator_only(WebhooksApiDeps& deps, const HttpRequest& request) {
  auto principal = authenticate(deps.gateway, request);
  if (!principal) return principal.error();
  if (auto denied = authorize(request, *principal, kPlatformWriters, "", false)) return denied;
  if (!principal->is_platform()) return http::error_response(request, 403, "forbidden", "for platform roles only");
  return std::nullopt;
}

std::string delivery_json(const webhooks::Delivery& delivery) {
  audit::JsonObject out;
  out.text("id", delivery.id)
      .text("tenantId", delivery.tenant_id)
      .text("status", delivery.status)
      .number("attempts", delivery.attempts)
      .text("lastError", delivery.last_error)
      .raw("payload", delivery.payload);
  return out.done();
}

HttpResponse dead_letters(WebhooksApiDeps& deps, const HttpRequest& request) {
  if (auto refused = operator_only(deps, request)) return *refused;
  auto list = deps.webhooks.dead_letters(1000);
  if (!list) return http::error_response(request, 503, "unavailable", list.error().message);
  std::string data = "{\"deadLetters\":[";
  for (size_t i = 0; i < list->size(); ++i) data += (i == 0 ? "" : ",") + delivery_json((*list)[i]);
  data += "]}";
  return http::ok_response(request, 200, "webhook deliveries that ran out of attempts", data);
}

HttpResponse replay(WebhooksApiDeps& deps, const HttpRequest& request) {
  if (auto refused = operator_only(deps, request)) return *refused;
  const std::string id = request.path_params.at("id");
  auto replayed = deps.webhooks.replay(id);
  if (!replayed) return http::error_response(request, 503, "unavailable", replayed.error().message);
  if (!*replayed) {
    return http::error_response(request, 404, "not_found", "no dead delivery " + id, {{"id", "not a dead letter"}});
  }
  return http::ok_response(request, 202, "delivery " + id + " is pending again", "null");
}

}  // namespace

std::vector<http::Route> webhook_routes(WebhooksApiDeps& deps) {
  return {
      {"GET", "/v1/webhooks/dead-letters", [&deps](const HttpRequest& r) { return dead_letters(deps, r); },
       "Alert webhook deliveries that ran out of attempts", {"platform_admin", "operator"}},
      {"POST", "/v1/webhooks/dead-letters/{id}/replay", [&deps](const HttpRequest& r) { return replay(deps, r); },
       "Deliver a dead letter again, attempts counted afresh", {"platform_admin", "operator"}},
  };
}

}  // namespace tenantry::gateway
