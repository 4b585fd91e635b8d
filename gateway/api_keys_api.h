// /v1/api-keys: issue, list and revoke API keys over HTTP.
//
// | method, path                 | roles                                                     |
// |------------------------------|-----------------------------------------------------------|
// | POST   /v1/api-keys          | platform_admin (any key); tenant_admin (keys of its own   |
// |                              | tenant with tenant_admin/tenant_member/analyst/auditor)   |
// | GET    /v1/api-keys          | platform_admin, operator, auditor (any tenant; without    |
// |   ?tenantId=X                | tenantId: the platform keys); tenant_admin (own tenant)   |
// | DELETE /v1/api-keys/{id}     | platform_admin (any key); tenant_admin (own tenant's)     |
//
// POST answers 201 with the key itself in data.key: the only time it is shown (the
// store keeps a salted hash). Lists and revocations show ids, subjects, roles and
// times, never a key, salt or hash. Revoking is idempotent (the first revocation time
// stays). A tenant-bound principal naming another tenant, or another tenant's key,
// gets 403 tenant_mismatch.
//
// Keys for a tenant must name a tenant the directory knows (and that is not deleted),
// so a mistyped id fails at once rather than minting a key that can reach nothing; a
// tenant registered a moment ago may not be known yet (the directory's lag).
#pragma once

#include <vector>

#include "gateway/api_support.h"

namespace tenantry::gateway {

// Needs deps.api_keys.
std::vector<http::Route> api_key_routes(GatewayDeps& deps);

}  // namespace tenantry::gateway
