#include "gateway/request_guard.h"

#include <algorithm>
#include <random>

#include <google/protobuf/struct.pb.h>

#include "gateway/usage_api.h"
#include "tenantry/v1/usage.pb.h"

namespace tenantry::gateway {

namespace {

using domain::usage::GcraDecision;
using domain::usage::GcraLimit;
using domain::usage::GcraState;
using domain::usage::Quotas;
using domain::usage::RuleAction;
using domain::usage::Window;
using http::HttpRequest;
using http::HttpResponse;

constexpr int64_t kSecondUs = 1000000;
constexpr int64_t kUsageCacheUs = kSecondUs;  // how stale a rule's usage may be
// A throttled tenant gets one request a second while over its rule.
const GcraLimit kThrottled{60, 60 * kSecondUs, 0};

// Never read (INT64_MIN), or read a cache period ago; no overflow on the sentinel.
bool stale(int64_t read_at_us, int64_t now_us) { return read_at_us == INT64_MIN || now_us - read_at_us >= kUsageCacheUs; }

// The tenant's billing endpoints: open to a degraded tenant, so that it can pay.
bool settles_debt(const std::string& path) {
  for (const char* part : {"/subscription", "/payment-method", "/invoices", "/test-clock", "/credits"}) {
    if (path.find(part) != std::string::npos) return true;
  }
  return false;
}

int64_t ceil_seconds(int64_t us) { return us <= 0 ? 0 : (us + kSecondUs - 1) / kSecondUs; }

std::string random_node_id() {
  std::random_device device;
  std::mt19937_64 random(device());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 12; ++i) id += kHex[random() & 15];
  return id;
}

}  // namespace

struct RequestGuard::TenantState {
  std::shared_ptr<const TenantContext> context;  // the guard's copy, current while
  uint64_t context_generation = 0;               // the cache's generation reads this
  std::shared_ptr<const clock::TimeZone> zone;  // of the context below; null: UTC
  uint64_t context_version = 0;
  std::string context_plan;
  const TenantContext* context_seen = nullptr;
  Quotas quotas;
  bool quotas_valid = false;
  GcraState rate;
  GcraState throttle;
  std::unordered_map<std::string, GcraState> keys;
  int64_t in_flight = 0;
  int64_t day_start = INT64_MIN;
  int64_t day_calls = 0;
  int64_t month_start = INT64_MIN;
  int64_t month_calls = 0;
  struct RuleUsage {
    std::string rule;
    int64_t read_at_us = INT64_MIN;
    int64_t window_start = INT64_MIN;
    double value = 0;
  };
  std::vector<RuleUsage> rule_usage;
  int64_t storage_read_at_us = INT64_MIN;
  int64_t storage_bytes = 0;
  int64_t billing_read_at_us = INT64_MIN;
  std::string billing_block;  // why writes are refused for non-payment ("" when they are not)
  std::unordered_set<std::string> fired;  // alert ids raised by this node
  // Self-metering since the last flush.
  int64_t calls = 0;
  int64_t request_bytes = 0;
  int64_t response_bytes = 0;
};

struct RequestGuard::Stripe {
  std::mutex mutex;
  std::unordered_map<std::string, TenantState> tenants;
};

UsageReader projection_usage_reader(projections::UsageQueries& queries) {
  return [&queries](const std::string& tenant_id, const std::string& meter, Window window, int64_t at_us,
                    int32_t offset_s) {
    projections::UsageQuery query;
    query.tenant_id = tenant_id;
    query.meter = meter;
    query.window = window;
    query.from_us = at_us;
    query.to_us = at_us + 1;
    query.from_offset_s = query.to_offset_s = offset_s;
    auto result = queries.query(query);
    return result ? result->total : 0.0;
  };
}

RequestGuard::RequestGuard(GatewayDeps& deps, log::EventLog& log, clock::TimeZones& zones, UsageReader usage,
                           std::function<void(const QuotaAlert&)> on_alert, GuardOptions options)
    : deps_(deps),
      log_(log),
      zones_(zones),
      usage_(std::move(usage)),
      on_alert_(std::move(on_alert)),
      options_(std::move(options)) {
  if (options_.node_id.empty()) options_.node_id = random_node_id();
  for (auto& stripe : stripes_) stripe = std::make_unique<Stripe>();
}

RequestGuard::~RequestGuard() { stop(); }

RequestGuard::Stripe& RequestGuard::stripe_of(const std::string& key) {
  return *stripes_[std::hash<std::string>{}(key) % stripes_.size()];
}

void Admission::add_headers(http::HttpResponse& response) const {
  if (!rate_limited) return;
  response.headers["RateLimit-Limit"] = std::to_string(limit);
  response.headers["RateLimit-Remaining"] = std::to_string(remaining);
  response.headers["RateLimit-Reset"] = std::to_string(reset_s);
}

const Quotas& RequestGuard::quotas_of(TenantState& state, const TenantContext& context) {
  // Recomputed when the tenant changed (plan or quota.* settings are in its version).
  if (state.quotas_valid && state.context_seen == &context && state.context_version == context.version) {
    return state.quotas;
  }
  state.context_seen = &context;
  if (!state.quotas_valid || state.context_version != context.version || state.context_plan != context.plan) {
    // The subscription's plan may carry quota.* features; the tenant's own quota.*
    // settings (the platform's overrides) win over them.
    std::map<std::string, std::string> quota_settings;
    if (plan_features_) {
      for (auto& [key, value] : plan_features_(context.tenant_id)) {
        if (key.starts_with("quota.")) quota_settings[key] = std::move(value);
      }
    }
    for (const auto& [key, value] : context.settings) quota_settings[key] = value;
    state.quotas = domain::usage::effective_quotas(context.plan, quota_settings);
    const auto zone = context.settings.find("general.timezone");
    state.zone = zone == context.settings.end() ? nullptr : zones_.find(zone->second);
    state.context_version = context.version;
    state.context_plan = context.plan;
    state.quotas_valid = true;
  }
  return state.quotas;
}

void RequestGuard::check_thresholds(TenantState& state, const std::string& quota, int64_t used, int64_t limit,
                                    int64_t window_start, int64_t now_us, std::vector<QuotaAlert>& alerts) {
  if (limit <= 0) return;
  for (const int threshold : state.quotas.alert_thresholds) {
    // Crossed: at or over threshold% of the limit.
    if (used * 100 < static_cast<int64_t>(threshold) * limit) break;
    QuotaAlert alert;
    alert.quota = quota;
    alert.threshold_percent = threshold;
    alert.limit = limit;
    alert.used = used;
    alert.window_start_us = window_start;
    alert.at_us = now_us;
    alert.alert_id = quota + "@" + std::to_string(window_start) + "#" + std::to_string(threshold);
    if (state.fired.insert(alert.alert_id).second) alerts.push_back(std::move(alert));
  }
}

double RequestGuard::rule_usage(TenantState& state, const domain::usage::MeterRule& rule, const std::string& tenant_id,
                                int64_t now_us, int32_t offset_s) {
  const std::string name = domain::usage::rule_text(rule);
  auto it = std::find_if(state.rule_usage.begin(), state.rule_usage.end(),
                         [&](const TenantState::RuleUsage& usage) { return usage.rule == name; });
  if (it == state.rule_usage.end()) {
    state.rule_usage.push_back({name});
    it = state.rule_usage.end() - 1;
  }
  const bool local = rule.window == Window::day || rule.window == Window::month;
  const int64_t start = domain::usage::window_start(rule.window, now_us, local ? offset_s : 0);
  if (it->window_start != start || stale(it->read_at_us, now_us)) {
    it->value = usage_ ? usage_(tenant_id, rule.meter, rule.window, now_us, local ? offset_s : 0) : 0;
    it->read_at_us = now_us;
    it->window_start = start;
  }
  return it->value;
}

Admission RequestGuard::admit(const http::HttpRequest& request, const http::auth::Principal& principal,
                              const TenantContext& context, int64_t now_us) {
  std::vector<QuotaAlert> alerts;
  Admission admission;
  {
    Stripe& stripe = stripe_of(principal.tenant_id);
    std::lock_guard lock(stripe.mutex);
    admission = decide(stripe.tenants[principal.tenant_id], request, principal, context, now_us, alerts);
  }
  raise(principal.tenant_id, alerts);
  return admission;
}

std::optional<Admission> RequestGuard::admit(const http::HttpRequest& request, const http::auth::Principal& principal,
                                             int64_t now_us) {
  std::vector<QuotaAlert> alerts;
  Admission admission;
  Stripe& stripe = stripe_of(principal.tenant_id);
  const uint64_t generation = deps_.contexts != nullptr ? deps_.contexts->generation(principal.tenant_id) : 0;
  {
    std::lock_guard lock(stripe.mutex);
    TenantState& state = stripe.tenants[principal.tenant_id];
    if (deps_.contexts != nullptr && state.context && state.context_generation == generation) {
      admission = decide(state, request, principal, *state.context, now_us, alerts);
      raise(principal.tenant_id, alerts);
      return admission;
    }
  }
  // A miss: the current context from the cache (or the directory), kept for next time.
  std::shared_ptr<const TenantContext> context;
  if (deps_.contexts != nullptr) {
    auto loaded = deps_.contexts->get(principal.tenant_id);
    if (loaded) context = *loaded;
  } else if (auto loaded = load_tenant_context(deps_.directory, principal.tenant_id)) {
    context = *loaded;
  }
  if (!context) return std::nullopt;
  {
    std::lock_guard lock(stripe.mutex);
    TenantState& state = stripe.tenants[principal.tenant_id];
    state.context = context;
    state.context_generation = generation;
    admission = decide(state, request, principal, *context, now_us, alerts);
  }
  raise(principal.tenant_id, alerts);
  return admission;
}

void RequestGuard::raise(const std::string& tenant_id, std::vector<QuotaAlert>& alerts) {
  if (!on_alert_) return;
  for (auto& alert : alerts) {
    alert.tenant_id = tenant_id;
    on_alert_(alert);
  }
}

Admission RequestGuard::decide(TenantState& state, const http::HttpRequest& request,
                               const http::auth::Principal& principal, const TenantContext& context, int64_t now_us,
                               std::vector<QuotaAlert>& alerts) {
  Admission admission;
  admission.tenant_id = principal.tenant_id;
  auto refuse = [&](const std::string& type, const std::string& message, const std::string& quota,
                    int64_t retry_after_us) {
    admission.allowed = false;
    admission.refusal = http::error_response(request, 429, type, message, {{quota, message}});
    admission.refusal.headers["Retry-After"] = std::to_string(std::max<int64_t>(1, ceil_seconds(retry_after_us)));
    admission.add_headers(admission.refusal);
  };
  {
    const Quotas& quotas = quotas_of(state, context);

    // The rate first: its headers go on every answer.
    std::optional<GcraDecision> tenant_decision, key_decision;
    GcraState tenant_next = state.rate;
    GcraState key_next;
    // Revoked and idle keys go; a fresh bucket is a full one.
    if (state.keys.size() > 10000) state.keys.clear();
    GcraState* key_state = nullptr;
    if (auto limit = domain::usage::tenant_rate(quotas)) tenant_decision = domain::usage::gcra(tenant_next, now_us, *limit);
    // Per API key (a token's kid names a signing key, not a client).
    if (principal.credential == "api_key" && !principal.key_id.empty()) {
      if (auto limit = domain::usage::key_rate(quotas)) {
        key_state = &state.keys[principal.key_id];
        key_next = *key_state;
        key_decision = domain::usage::gcra(key_next, now_us, *limit);
      }
    }
    const GcraDecision* binding = nullptr;
    for (const auto* decision : {tenant_decision ? &*tenant_decision : nullptr, key_decision ? &*key_decision : nullptr}) {
      if (decision == nullptr) continue;
      if (binding == nullptr || (!decision->allowed && binding->allowed) ||
          (decision->allowed == binding->allowed && decision->remaining < binding->remaining)) {
        binding = decision;
      }
    }
    if (binding != nullptr) {
      admission.rate_limited = true;
      admission.limit = binding->limit;
      admission.remaining = binding->remaining;
      admission.reset_s = ceil_seconds(binding->reset_after_us);
    }
    const bool over_rate = binding != nullptr && !binding->allowed;
    if (over_rate && quotas.hard_rate_limit) {
      refuse("rate_limited",
             binding == (key_decision ? &*key_decision : nullptr) ? "the API key's request rate is exceeded"
                                                                  : "the tenant's request rate is exceeded",
             binding == (key_decision ? &*key_decision : nullptr) ? "key_requests_per_minute" : "requests_per_minute",
             binding->retry_after_us);
      return admission;
    }

    // Requests in flight, within the tenant's share of the workers.
    int64_t cap = (options_.worker_threads * quotas.worker_share_percent + 99) / 100;
    if (quotas.concurrent_requests > 0) cap = std::min(cap, quotas.concurrent_requests);
    if (cap > 0 && state.in_flight >= cap) {
      refuse("too_many_concurrent_requests", "the tenant has " + std::to_string(state.in_flight) + " requests in flight",
             "concurrent_requests", kSecondUs);
      return admission;
    }

    // Calls per local day and month, seeded from the metering projection once per window.
    const int32_t offset = state.zone ? state.zone->offset_at(now_us) : 0;
    const int64_t day = domain::usage::window_start(Window::day, now_us, offset);
    const int64_t month = domain::usage::window_start(Window::month, now_us, offset);
    if (state.day_start != day) {
      state.day_start = day;
      state.day_calls = usage_ ? static_cast<int64_t>(usage_(principal.tenant_id, "api_calls", Window::day, now_us, offset)) : 0;
    }
    if (state.month_start != month) {
      state.month_start = month;
      state.month_calls =
          usage_ ? static_cast<int64_t>(usage_(principal.tenant_id, "api_calls", Window::month, now_us, offset)) : 0;
    }
    const int64_t local_now = now_us + int64_t{offset} * kSecondUs;
    if (quotas.api_calls_per_day > 0 && state.day_calls >= quotas.api_calls_per_day) {
      refuse("quota_exceeded", "the tenant's API calls per day are used up", "api_calls_per_day",
             domain::usage::next_window(Window::day, day) - local_now);
      return admission;
    }
    if (quotas.api_calls_per_month > 0 && state.month_calls >= quotas.api_calls_per_month) {
      refuse("quota_exceeded", "the tenant's API calls per month are used up", "api_calls_per_month",
             domain::usage::next_window(Window::month, month) - local_now);
      return admission;
    }

    // A subscription degraded for non-payment: reads go on, writes answer 402, except
    // billing's own (what settles the debt).
    const bool write = request.method != "GET" && request.method != "HEAD";
    if (billing_ && write && !settles_debt(request.path)) {
      if (stale(state.billing_read_at_us, now_us)) {
        state.billing_block = billing_(principal.tenant_id);
        state.billing_read_at_us = now_us;
      }
      if (!state.billing_block.empty()) {
        admission.allowed = false;
        admission.refusal = http::error_response(request, 402, "payment_required", state.billing_block,
                                                 {{"subscription", state.billing_block}});
        admission.add_headers(admission.refusal);
        return admission;
      }
    }

    // Stored bytes: reads go on, writes stop at the quota.
    if (quotas.storage_bytes > 0 && storage_) {
      if (stale(state.storage_read_at_us, now_us)) {
        state.storage_bytes = storage_(principal.tenant_id);
        state.storage_read_at_us = now_us;
      }
      check_thresholds(state, "storage_bytes", state.storage_bytes, quotas.storage_bytes,
                       domain::usage::window_start(Window::month, now_us, 0), now_us, alerts);
      if (state.storage_bytes >= quotas.storage_bytes && request.method != "GET" && request.method != "HEAD") {
        admission.allowed = false;
        const std::string message = "the tenant stores " + std::to_string(state.storage_bytes) +
                                    " bytes, at its quota of " + std::to_string(quotas.storage_bytes);
        admission.refusal = http::error_response(request, 507, "storage_quota_exceeded", message,
                                                 {{"storage_bytes", message}});
        admission.add_headers(admission.refusal);
        return admission;
      }
    }

    // Custom rules on meters.
    for (const auto& rule : quotas.rules) {
      const double used = rule_usage(state, rule, principal.tenant_id, now_us, offset);
      const bool local = rule.window == Window::day || rule.window == Window::month;
      const int64_t start = domain::usage::window_start(rule.window, now_us, local ? offset : 0);
      check_thresholds(state, "rule:" + domain::usage::rule_text(rule), static_cast<int64_t>(used), rule.limit, start,
                       now_us, alerts);
      if (used < static_cast<double>(rule.limit) || rule.action == RuleAction::alert) continue;
      const int64_t until = domain::usage::next_window(rule.window, start) - (local ? local_now : now_us);
      if (rule.action == RuleAction::block) {
        refuse("quota_exceeded", "usage of " + rule.meter + " is over the rule " + domain::usage::rule_text(rule),
               "rules", until);
        break;
      }
      GcraState throttled = state.throttle;
      auto decision = domain::usage::gcra(throttled, now_us, kThrottled);
      if (!decision.allowed) {
        refuse("throttled", "usage of " + rule.meter + " is over the rule " + domain::usage::rule_text(rule) +
                                "; requests are slowed to one a second",
               "rules", decision.retry_after_us);
        break;
      }
      state.throttle = throttled;
    }
    if (admission.allowed) {
      // Admitted: now, and only now, the request counts.
      state.rate = tenant_next;
      if (key_decision) *key_state = key_next;
      ++state.in_flight;
      ++state.day_calls;
      ++state.month_calls;
      check_thresholds(state, "api_calls_per_day", state.day_calls, quotas.api_calls_per_day, day, now_us, alerts);
      check_thresholds(state, "api_calls_per_month", state.month_calls, quotas.api_calls_per_month, month, now_us,
                       alerts);
      if (over_rate) {
        // A soft limit: through, with an alert once per minute.
        QuotaAlert alert;
        alert.quota = "rate_limit";
        alert.limit = binding->limit;
        alert.window_start_us = domain::usage::window_start(Window::minute, now_us, 0);
        alert.at_us = now_us;
        alert.alert_id = "rate_limit@" + std::to_string(alert.window_start_us);
        if (state.fired.insert(alert.alert_id).second) alerts.push_back(std::move(alert));
      }
    }
    if (state.fired.size() > 4096) state.fired.clear();  // old windows' ids; a repeat is deduplicated downstream
  }
  return admission;
}

void RequestGuard::release(const Admission& admission, size_t request_bytes, size_t response_bytes) {
  if (!admission.allowed || admission.tenant_id.empty()) return;
  Stripe& stripe = stripe_of(admission.tenant_id);
  std::lock_guard lock(stripe.mutex);
  TenantState& state = stripe.tenants[admission.tenant_id];
  if (state.in_flight > 0) --state.in_flight;
  ++state.calls;
  state.request_bytes += static_cast<int64_t>(request_bytes);
  state.response_bytes += static_cast<int64_t>(response_bytes);
}

http::HttpHandler RequestGuard::wrap(http::HttpHandler handler) {
  return [this, handler = std::move(handler)](const HttpRequest& request) {
    auto principal = authenticate(deps_, request);
    // Unauthenticated requests get their 401 from the endpoint; platform staff are not
    // a tenant's usage.
    if (!principal || principal->is_platform()) return handler(request);
    auto decided = admit(request, *principal, deps_.now_us());
    if (!decided) return handler(request);  // the endpoint says what is wrong with the tenant
    Admission& admission = *decided;
    if (!admission.allowed) return admission.refusal;
    HttpResponse response = handler(request);
    admission.add_headers(response);
    release(admission, request.body.size(), response.body.size());
    return response;
  };
}

log::Result<void> RequestGuard::flush() {
  std::lock_guard serial(flush_mutex_);
  const int64_t now_us = deps_.now_us();
  const uint64_t sequence = ++flushes_;
  log::AppendRequest append;
  for (auto& stripe : stripes_) {
    std::lock_guard lock(stripe->mutex);
    for (auto& [tenant, state] : stripe->tenants) {
      if (state.calls == 0) continue;
      v1::UsageEvent event;
      event.set_tenant_id(tenant);
      event.set_id("gateway-" + options_.node_id + "-" + std::to_string(sequence));
      event.set_source("tenantry/gateway/" + options_.node_id);
      event.set_type("tenantry.api.requests");
      event.set_time_us(now_us);
      event.set_ingested_at_us(now_us);
      auto& fields = *event.mutable_data()->mutable_fields();
      fields["calls"].set_number_value(static_cast<double>(state.calls));
      fields["requestBytes"].set_number_value(static_cast<double>(state.request_bytes));
      fields["responseBytes"].set_number_value(static_cast<double>(state.response_bytes));
      state.calls = state.request_bytes = state.response_bytes = 0;
      append.records.push_back({options_.usage_topic, tenant, event.SerializeAsString(), {}, std::nullopt});
    }
  }
  if (append.records.empty()) return {};
  // One append for every tenant's counts; the ids make a retried record count once.
  for (int attempt = 0;; ++attempt) {
    auto appended = log_.append(append);
    if (appended) return {};
    if (attempt == 2) return std::unexpected(appended.error());
  }
}

void RequestGuard::start() {
  if (flusher_.joinable()) return;
  stopping_ = false;
  flusher_ = std::thread([this] {
    std::unique_lock lock(flush_mutex_);
    while (!flush_wake_.wait_for(lock, options_.meter_flush_interval, [this] { return stopping_; })) {
      lock.unlock();
      flush();
      lock.lock();
    }
  });
}

void RequestGuard::stop() {
  {
    std::lock_guard lock(flush_mutex_);
    stopping_ = true;
  }
  flush_wake_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  flush();
}

}  // namespace tenantry::gateway
