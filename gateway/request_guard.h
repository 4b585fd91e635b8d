// What every /v1 request of a tenant's own principal passes before its endpoint runs,
// from the tenant's quotas (domain/usage/quotas.h: plan defaults and the tenant's
// quota.* settings, read from the tenant context, so a change applies at once):
//   - rate limits with GCRA, per tenant and per API key, exact on this node; a hard
//     limit answers 429 with Retry-After, a soft one lets the request through and
//     raises an alert; RateLimit-Limit/-Remaining/-Reset on every answer;
//   - API calls per day (the tenant's local day) and per month;
//   - requests in flight at once, and the tenant's share of the worker pool;
//   - custom rules on any meter (block, throttle or alert);
//   - stored bytes: writes refused (507) at the storage quota;
//   - a subscription degraded for non-payment: writes refused (402), but for billing's own;
//   - threshold alerts (default 80% and 100%), once per window per threshold.
// Refused requests consume no quota. Platform principals are not a tenant's usage and
// pass unmetered.
//
// The gateway meters itself here too: calls and request/response bytes per tenant are
// counted in memory and flushed as one usage event per tenant per interval onto
// tenantry.usage (meters api_calls, api_request_bytes, api_response_bytes): no write on
// a request's path.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "connectors/clock/time_zones.h"
#include "connectors/http/http_server.h"
#include "domain/usage/gcra.h"
#include "domain/usage/quotas.h"
#include "gateway/api_support.h"
#include "projections/usage/usage_model.h"

namespace tenantry::gateway {

// An alert the guard raises: a quota crossed a threshold in a window, or a soft rate
// limit let a request through. `alert_id` is the same on every node for one crossing.
struct QuotaAlert {
  std::string alert_id;
  std::string tenant_id;
  std::string quota;          // "api_calls_per_day", "rule:tokens/day<=1000:alert", "rate_limit"
  int threshold_percent = 0;  // 0 for a soft rate limit
  int64_t limit = 0;
  int64_t used = 0;
  int64_t window_start_us = 0;  // civil time, as meter.h
  int64_t at_us = 0;
};

// The usage of a meter in the window holding `at_us` for a tenant, from the metering
// projection (the guard caches answers for a second).
using UsageReader = std::function<double(const std::string& tenant_id, const std::string& meter,
                                         domain::usage::Window window, int64_t at_us, int32_t utc_offset_s)>;

// The usage reader over the metering projection's queries (the window holding the instant).
UsageReader projection_usage_reader(projections::UsageQueries& queries);

struct GuardOptions {
  int worker_threads = 16;  // the HTTP worker pool a tenant's share is of
  std::chrono::milliseconds meter_flush_interval{1000};
  std::string usage_topic = "tenantry.usage";
  std::string node_id;  // names this node's self-metering events; random when empty
};

// One admitted request, to be released when it is answered.
struct Admission {
  bool allowed = true;
  http::HttpResponse refusal;       // when not allowed
  std::string tenant_id;            // "" for platform principals
  // The binding rate limit, for the RateLimit-* headers (formatted only when answered).
  bool rate_limited = false;
  int64_t limit = 0;
  int64_t remaining = 0;
  int64_t reset_s = 0;
  // RateLimit-Limit, -Remaining and -Reset onto a response.
  void add_headers(http::HttpResponse& response) const;
};

class RequestGuard {
 public:
  RequestGuard(GatewayDeps& deps, log::EventLog& log, clock::TimeZones& zones, UsageReader usage,
               std::function<void(const QuotaAlert&)> on_alert, GuardOptions options);
  ~RequestGuard();

  // The handler with the guard in front of it.
  http::HttpHandler wrap(http::HttpHandler handler);

  // The decision for a tenant-bound principal, as wrap() makes it: the tenant's context
  // from the guard's own copy while the context cache's generation for the tenant has
  // not moved (else from the cache). Null context: the tenant is unknown (the endpoint
  // answers). An allowed admission must be released.
  std::optional<Admission> admit(const http::HttpRequest& request, const http::auth::Principal& principal,
                                 int64_t now_us);
  // The decision given the context.
  Admission admit(const http::HttpRequest& request, const http::auth::Principal& principal,
                  const TenantContext& context, int64_t now_us);
  void release(const Admission& admission, size_t request_bytes, size_t response_bytes);

  // Where the tenant's stored bytes are read (cached a second per tenant) for the
  // storage quota: over it, writes (any method but GET and HEAD) answer 507.
  void set_storage_reader(std::function<int64_t(const std::string& tenant_id)> reader) {
    storage_ = std::move(reader);
  }

  // Where the features of the tenant's subscribed plan are read when its quotas are
  // recomputed (after any event of the tenant): their quota.* entries apply beneath the
  // tenant's own quota.* settings.
  void set_plan_features_reader(std::function<std::map<std::string, std::string>(const std::string& tenant_id)> reader) {
    plan_features_ = std::move(reader);
  }

  // Where the reason writes are refused for non-payment is read (cached a second per
  // tenant; "" when they are not): a degraded subscription answers writes 402.
  void set_billing_reader(std::function<std::string(const std::string& tenant_id)> reader) {
    billing_ = std::move(reader);
  }

  // Starts and stops the self-metering flush; flush() writes what is counted now.
  void start();
  void stop();
  log::Result<void> flush();

 private:
  struct Stripe;
  struct TenantState;
  Stripe& stripe_of(const std::string& key);
  const domain::usage::Quotas& quotas_of(TenantState& state, const TenantContext& context);
  Admission decide(TenantState& state, const http::HttpRequest& request, const http::auth::Principal& principal,
                   const TenantContext& context, int64_t now_us, std::vector<QuotaAlert>& alerts);
  void raise(const std::string& tenant_id, std::vector<QuotaAlert>& alerts);
  void check_thresholds(TenantState& state, const std::string& quota, int64_t used, int64_t limit,
                        int64_t window_start, int64_t now_us, std::vector<QuotaAlert>& alerts);
  double rule_usage(TenantState& state, const domain::usage::MeterRule& rule, const std::string& tenant_id,
                    int64_t now_us, int32_t offset_s);

  GatewayDeps& deps_;
  log::EventLog& log_;
  clock::TimeZones& zones_;
  UsageReader usage_;
  std::function<int64_t(const std::string&)> storage_;
  std::function<std::string(const std::string&)> billing_;
  std::function<std::map<std::string, std::string>(const std::string&)> plan_features_;
  std::function<void(const QuotaAlert&)> on_alert_;
  GuardOptions options_;
  std::array<std::unique_ptr<Stripe>, 64> stripes_;
  std::atomic<uint64_t> flushes_{0};
  std::mutex flush_mutex_;
  std::condition_variable flush_wake_;
  bool stopping_ = false;
  std::thread flusher_;
};

}  // namespace tenantry::gateway
