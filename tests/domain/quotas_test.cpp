// Quota arithmetic: plan defaults, the tenant's quota.* settings over them, custom
// rules on meters, and the settings schema refusing what would not parse.
#include <catch2/catch.hpp>

#include "domain/tenant/settings.h"
#include "domain/usage/quotas.h"

using namespace tenantry::domain;
using namespace tenantry::domain::usage;

TEST_CASE("quotas: plan defaults, overridden by the tenant's quota settings", "[domain][quotas]") {
  const Quotas free = plan_quotas("free");
  const Quotas pro = plan_quotas("pro");
  CHECK(free.requests_per_minute < pro.requests_per_minute);
  CHECK(free.api_calls_per_day == 10'000);
  CHECK(plan_quotas("enterprise").api_calls_per_month == 0);  // unlimited
  CHECK(plan_quotas("custom-plan").requests_per_minute == plan_quotas("basic").requests_per_minute);

  const Quotas raised = effective_quotas("free", {{"quota.requests_per_minute", "120"},
                                                  {"quota.api_calls_per_day", "unlimited"},
                                                  {"quota.rate_limit_mode", "soft"},
                                                  {"quota.alert_thresholds", "50,90,100"},
                                                  {"quota.rules", "tokens/day<=1000:block;users/month<=5:alert"},
                                                  {"general.timezone", "Europe/Paris"}});
  CHECK(raised.requests_per_minute == 120);
  CHECK(raised.api_calls_per_day == 0);
  CHECK(raised.api_calls_per_month == free.api_calls_per_month);
  CHECK_FALSE(raised.hard_rate_limit);
  CHECK(raised.alert_thresholds == std::vector<int>{50, 90, 100});
  REQUIRE(raised.rules.size() == 2);
  CHECK(raised.rules[0] == MeterRule{"tokens", Window::day, 1000, RuleAction::block});
  CHECK(rule_text(raised.rules[1]) == "users/month<=5:alert");

  auto rate = tenant_rate(raised);
  REQUIRE(rate);
  CHECK(rate->rate == 120);
  CHECK(rate->burst == free.burst);
  CHECK_FALSE(tenant_rate(effective_quotas("free", {{"quota.requests_per_minute", "unlimited"}})));
}

TEST_CASE("quotas: rules, counts and thresholds parse strictly", "[domain][quotas]") {
  for (const char* bad : {"tokens", "tokens/week<=1:block", "tokens/day<=x:block", "tokens/day<=1:ignore",
                          "/day<=1:block", "tokens/day=1:block"}) {
    INFO(bad);
    CHECK_FALSE(parse_rules(bad).has_value());
  }
  CHECK(parse_rules("").value().empty());
  CHECK(parse_count("unlimited") == 0);
  CHECK(parse_count("42") == 42);
  CHECK_FALSE(parse_count("-1"));
  CHECK_FALSE(parse_count("1e9"));
  CHECK_FALSE(parse_thresholds("100,80"));
  CHECK_FALSE(parse_thresholds("0"));
  CHECK_FALSE(parse_thresholds("80,"));

  auto errors = tenant::validate_settings({{"quota.requests_per_minute", "lots"},
                                           {"quota.rules", "tokens/day<=1:explode"},
                                           {"quota.worker_share_percent", "150"},
                                           {"quota.alert_thresholds", "90,80"},
                                           {"quota.burst", "10"}});
  REQUIRE(errors.size() == 4);
  CHECK(errors[0].field == "settings.quota.alert_thresholds");
  CHECK(errors[1].field == "settings.quota.requests_per_minute");
  CHECK(errors[2].field == "settings.quota.rules");
  CHECK(errors[3].field == "settings.quota.worker_share_percent");
}
