#include "domain/usage/quotas.h"

#include <algorithm>
#include <charconv>

namespace tenantry::domain::usage {

namespace {

constexpr int64_t kMinuteUs = int64_t{60} * 1000000;
constexpr size_t kMaxRules = 16;

std::optional<int64_t> parse_int(std::string_view text) {
  if (text.empty() || text.size() > 15) return std::nullopt;
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

const char* action_name(RuleAction action) {
  switch (action) {
    case RuleAction::block: return "block";
    case RuleAction::throttle: return "throttle";
    case RuleAction::alert: return "alert";
  }
  return "alert";
}

}  // namespace

Quotas plan_quotas(std::string_view plan) {
  Quotas quotas;
  if (plan == "free") {
    quotas.requests_per_minute = 60;
    quotas.burst = 20;
    quotas.key_requests_per_minute = 60;
    quotas.api_calls_per_day = 10'000;
    quotas.api_calls_per_month = 200'000;
    quotas.concurrent_requests = 4;
    quotas.worker_share_percent = 25;
    quotas.storage_bytes = int64_t{1} << 30;
  } else if (plan == "pro") {
    quotas.requests_per_minute = 6'000;
    quotas.burst = 1'000;
    quotas.key_requests_per_minute = 3'000;
    quotas.api_calls_per_day = 5'000'000;
    quotas.api_calls_per_month = 100'000'000;
    quotas.concurrent_requests = 64;
    quotas.worker_share_percent = 50;
    quotas.storage_bytes = int64_t{100} << 30;
  } else if (plan == "enterprise") {
    quotas.requests_per_minute = 60'000;
    quotas.burst = 10'000;
    quotas.key_requests_per_minute = 30'000;
    quotas.concurrent_requests = 256;
    quotas.worker_share_percent = 75;
  } else {  // basic, and plans this table does not know
    quotas.requests_per_minute = 600;
    quotas.burst = 100;
    quotas.key_requests_per_minute = 600;
    quotas.api_calls_per_day = 200'000;
    quotas.api_calls_per_month = 5'000'000;
    quotas.concurrent_requests = 16;
    quotas.worker_share_percent = 25;
    quotas.storage_bytes = int64_t{10} << 30;
  }
  return quotas;
}

std::optional<int64_t> parse_count(std::string_view text) {
  if (text == "unlimited") return 0;
  return parse_int(text);
}

std::optional<std::vector<int>> parse_thresholds(std::string_view text) {
  std::vector<int> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    auto value = parse_int(text.substr(0, comma));
    if (!value || *value < 1 || *value > 1000 || (!out.empty() && *value <= out.back())) return std::nullopt;
    out.push_back(static_cast<int>(*value));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
    if (text.empty()) return std::nullopt;
  }
  if (out.empty() || out.size() > 8) return std::nullopt;
  return out;
}

std::expected<std::vector<MeterRule>, std::string> parse_rules(std::string_view text) {
  std::vector<MeterRule> rules;
  const std::string shape = "rules are meter/window<=limit:action (window minute, hour, day or month; action block, "
                            "throttle or alert), separated by ';'";
  while (!text.empty()) {
    const auto end = text.find(';');
    const std::string_view rule_text = text.substr(0, end);
    const auto slash = rule_text.find('/');
    const auto le = rule_text.find("<=");
    const auto colon = rule_text.rfind(':');
    if (slash == std::string_view::npos || le == std::string_view::npos || colon == std::string_view::npos ||
        !(slash < le && le < colon)) {
      return std::unexpected(shape);
    }
    MeterRule rule;
    rule.meter = std::string(rule_text.substr(0, slash));
    auto window = window_from(rule_text.substr(slash + 1, le - slash - 1));
    auto limit = parse_int(rule_text.substr(le + 2, colon - le - 2));
    const std::string_view action = rule_text.substr(colon + 1);
    if (rule.meter.empty() || rule.meter.size() > 64 || !window || !limit) return std::unexpected(shape);
    rule.window = *window;
    rule.limit = *limit;
    if (action == "block") rule.action = RuleAction::block;
    else if (action == "throttle") rule.action = RuleAction::throttle;
    else if (action == "alert") rule.action = RuleAction::alert;
    else return std::unexpected(shape);
    rules.push_back(std::move(rule));
    if (rules.size() > kMaxRules) return std::unexpected("at most 16 rules");
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return rules;
}

std::string rule_text(const MeterRule& rule) {
  return rule.meter + "/" + window_name(rule.window) + "<=" + std::to_string(rule.limit) + ":" +
         action_name(rule.action);
}

Quotas effective_quotas(std::string_view plan, const std::map<std::string, std::string>& settings) {
  Quotas quotas = plan_quotas(plan);
  auto count = [&settings](const char* key, int64_t& into) {
    if (auto it = settings.find(key); it != settings.end()) {
      if (auto value = parse_count(it->second)) into = *value;
    }
  };
  count("quota.requests_per_minute", quotas.requests_per_minute);
  count("quota.burst", quotas.burst);
  count("quota.key_requests_per_minute", quotas.key_requests_per_minute);
  count("quota.api_calls_per_day", quotas.api_calls_per_day);
  count("quota.api_calls_per_month", quotas.api_calls_per_month);
  count("quota.concurrent_requests", quotas.concurrent_requests);
  count("quota.storage_bytes", quotas.storage_bytes);
  if (auto it = settings.find("quota.worker_share_percent"); it != settings.end()) {
    if (auto value = parse_int(it->second); value && *value >= 1 && *value <= 100) quotas.worker_share_percent = *value;
  }
  if (auto it = settings.find("quota.rate_limit_mode"); it != settings.end()) quotas.hard_rate_limit = it->second != "soft";
  if (auto it = settings.find("quota.alert_thresholds"); it != settings.end()) {
    if (auto thresholds = parse_thresholds(it->second)) quotas.alert_thresholds = std::move(*thresholds);
  }
  if (auto it = settings.find("quota.rules"); it != settings.end()) {
    if (auto rules = parse_rules(it->second)) quotas.rules = std::move(*rules);
  }
  return quotas;
}

std::optional<GcraLimit> tenant_rate(const Quotas& quotas) {
  if (quotas.requests_per_minute <= 0) return std::nullopt;
  return GcraLimit{quotas.requests_per_minute, kMinuteUs, quotas.burst};
}

std::optional<GcraLimit> key_rate(const Quotas& quotas) {
  if (quotas.key_requests_per_minute <= 0) return std::nullopt;
  // The key's burst in proportion to its rate.
  const int64_t burst = quotas.requests_per_minute > 0
                            ? quotas.burst * quotas.key_requests_per_minute / quotas.requests_per_minute
                            : quotas.burst;
  return GcraLimit{quotas.key_requests_per_minute, kMinuteUs, burst};
}

}  // namespace tenantry::domain::usage
