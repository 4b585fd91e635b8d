// Quotas and limits per tenant: the plan's defaults, overridden per tenant by the
// platform through the tenant's "quota.*" settings (so a change is an event, and takes
// effect as soon as the gateway's tenant context sees it). Pure arithmetic.
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/usage/gcra.h"
#include "domain/usage/meter.h"

namespace tenantry::domain::usage {

enum class RuleAction { block, throttle, alert };

// A custom rule on any meter: "tokens/day<=100000:block".
struct MeterRule {
  std::string meter;
  Window window = Window::day;
  int64_t limit = 0;
  RuleAction action = RuleAction::alert;
  bool operator==(const MeterRule&) const = default;
};

// Zero means no limit, for every count below.
struct Quotas {
  int64_t requests_per_minute = 0;      // per tenant, GCRA
  int64_t burst = 0;                    // beyond the first request, at once
  int64_t key_requests_per_minute = 0;  // per API key, GCRA (burst scaled alike)
  int64_t api_calls_per_day = 0;        // in the tenant's local day
  int64_t api_calls_per_month = 0;
  int64_t concurrent_requests = 0;      // in flight at once
  int64_t worker_share_percent = 100;   // most of the worker pool one tenant may hold
  int64_t storage_bytes = 0;
  bool hard_rate_limit = true;          // soft: over the rate passes, and alerts
  std::vector<int> alert_thresholds = {80, 100};  // percent of a quota
  std::vector<MeterRule> rules;
};

// free, basic, pro and enterprise; any other plan gets basic's.
Quotas plan_quotas(std::string_view plan);
// The plan's quotas with the tenant's "quota.*" settings applied (values already
// validated on write; an unreadable one leaves the plan's value).
Quotas effective_quotas(std::string_view plan, const std::map<std::string, std::string>& settings);

// "meter/window<=limit:action" rules separated by ';' (at most 16).
std::expected<std::vector<MeterRule>, std::string> parse_rules(std::string_view text);
std::string rule_text(const MeterRule& rule);
// A count: digits (at most 15), or "unlimited" (0).
std::optional<int64_t> parse_count(std::string_view text);
// "80,100": 1 to 8 percents from 1 to 1000, ascending.
std::optional<std::vector<int>> parse_thresholds(std::string_view text);

// The GCRA limits the counts above mean; nullopt when unlimited.
std::optional<GcraLimit> tenant_rate(const Quotas& quotas);
std::optional<GcraLimit> key_rate(const Quotas& quotas);

}  // namespace tenantry::domain::usage
