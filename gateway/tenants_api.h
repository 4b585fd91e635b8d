// /v1/tenants: register, read, list, suspend and reactivate tenants over HTTP.
//
// | method, path                        | roles                                            |
// |-------------------------------------|--------------------------------------------------|
// | POST /v1/tenants                    | platform_admin, operator                         |
// | GET  /v1/tenants                    | platform_admin, operator, analyst, auditor       |
// | GET  /v1/tenants/{id}               | those, or tenant_admin / tenant_member of {id}   |
// | POST /v1/tenants/{id}/suspend       | platform_admin, operator                         |
// | POST /v1/tenants/{id}/reactivate    | platform_admin, operator                         |
// | GET  /v1/tenant, /t/{slug}/v1/tenant| the tenant the request resolves to (see          |
// |                                     | tenant_resolution.h), for the same roles as GET  |
//
// A principal bound to one tenant that names another gets 403 tenant_mismatch.
// Writes take an Idempotency-Key header (the command id; generated when absent) and
// an optional If-Match: "<version>" (the expected tenant version).
#pragma once

#include <vector>

#include "gateway/api_support.h"

namespace tenantry::gateway {

std::vector<http::Route> tenant_routes(GatewayDeps& deps);

}  // namespace tenantry::gateway
