// The usage endpoints: POST /v1/usage takes a batch of CloudEvents (JSON) and lands the
// acceptable ones on tenantry.usage, reporting each refused event by index; a
// tenant's usage per meter and window (and platform-wide totals for analysts) comes
// from the metering projection, with its lag.
//
// Ingestion: a tenant-bound principal (tenant_admin, tenant_member) records usage of
// its own tenant (the event's `tenantid` extension may only name it); a platform
// principal (platform_admin, operator) names the tenant of each event in `tenantid`.
#pragma once

#include <functional>
#include <vector>

#include "connectors/clock/time_zones.h"
#include "connectors/http/http_server.h"
#include "gateway/api_support.h"
#include "projections/usage/usage_model.h"

namespace tenantry::gateway {

struct UsageLag {
  int64_t records = 0;  // usage records on the topic not yet in the projection
  int64_t newest_counted_us = 0;  // ingestion time of the newest record counted
};

struct UsageApiDeps {
  GatewayDeps& gateway;
  log::EventLog& log;
  projections::UsageModel& model;
  projections::UsageQueries& queries;
  clock::TimeZones& zones;
  std::function<UsageLag()> lag;
  std::string topic = "tenantry.usage";
  size_t max_batch_events = 1000;
};

std::vector<http::Route> usage_routes(UsageApiDeps& deps);

// The UTC offset at `time_us` of a tenant's configured zone (setting general.timezone;
// UTC when unset or unknown to the database).
int32_t tenant_utc_offset(clock::TimeZones& zones, const TenantContext* context, int64_t time_us);

}  // namespace tenantry::gateway
