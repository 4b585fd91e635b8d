// The operator's view of alert webhooks: the dead-letter list, and replaying a dead
// delivery (platform_admin, operator).
#pragma once

#include <vector>

#include "connectors/webhooks/alert_webhooks.h"
#include "gateway/api_support.h"

namespace tenantry::gateway {

struct WebhooksApiDeps {
  GatewayDeps& gateway;
  webhooks::AlertWebhooks& webhooks;
};

std::vector<http::Route> webhook_routes(WebhooksApiDeps& deps);

}  // namespace tenantry::gateway
