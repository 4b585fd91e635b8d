#include "sagas/metered_usage.h"

#include <cmath>
#include <tuple>

namespace tenantry::sagas {

namespace {
constexpr size_t kTransactionsMax = 1000000;
constexpr size_t kPage = 10000;

// The start of the first window of this size that starts at or after `time_us` (UTC).
int64_t first_start(domain::usage::Window window, int64_t time_us) {
  const int64_t start = domain::usage::window_start(window, time_us, 0);
  return start == time_us ? start : domain::usage::next_window(window, start);
}

log::Result<projections::UsageResult> query_windows(projections::UsageQueries& queries, const std::string& tenant_id,
                                                    const std::string& meter, domain::usage::Window window,
                                                    int64_t from, int64_t to) {
  projections::UsageQuery query;
  query.tenant_id = tenant_id;
  query.meter = meter;
  query.window = window;
  query.from_us = from;
  query.to_us = to;
  return queries.query(query);
}

// The windows of one size that start in [from, to), both aligned to the size, merged
// into `into`.
log::Result<void> add_windows(projections::UsageQueries& queries, const std::string& tenant_id,
                              const std::string& meter, domain::usage::Window window, int64_t from, int64_t to,
                              domain::usage::Aggregate& into) {
  if (from >= to) return {};
  auto result = query_windows(queries, tenant_id, meter, window, from, to);
  if (!result) return std::unexpected(result.error());
  for (const auto& row : result->rows) domain::usage::merge(into, row.aggregate);
  return {};
}

// A period's units of one meter. Each minute is the period's in which it starts:
// minute windows at the two ends, hour windows between them, so adjacent periods
// never both count a minute and never both miss one. UNIQUE_COUNT cannot add distinct
// counts of separate queries: it takes the hours that start in the period, in one.
log::Result<int64_t> period_units(projections::UsageQueries& queries, const domain::usage::MeterDefinition& meter,
                                  const std::string& tenant_id, const domain::billing::Period& period) {
  using domain::usage::Window;
  const int64_t start = first_start(Window::minute, period.start_us);
  const int64_t end = first_start(Window::minute, period.end_us);
  if (meter.aggregation == domain::usage::Aggregation::unique_count) {
    const int64_t from = first_start(Window::hour, period.start_us);
    const int64_t to = first_start(Window::hour, period.end_us);
    if (from >= to) return 0;
    auto result = query_windows(queries, tenant_id, meter.name, Window::hour, from, to);
    if (!result) return std::unexpected(result.error());
    return static_cast<int64_t>(std::llround(result->total));
  }
  domain::usage::Aggregate total;
  const int64_t hours_from = first_start(Window::hour, start);
  const int64_t hours_to = domain::usage::window_start(Window::hour, end, 0);
  if (hours_from >= hours_to) {
    if (auto added = add_windows(queries, tenant_id, meter.name, Window::minute, start, end, total); !added) {
      return std::unexpected(added.error());
    }
  } else {
    for (const auto& [window, from, to] : {std::tuple{Window::minute, start, hours_from},
                                           std::tuple{Window::hour, hours_from, hours_to},
                                           std::tuple{Window::minute, hours_to, end}}) {
      if (auto added = add_windows(queries, tenant_id, meter.name, window, from, to, total); !added) {
        return std::unexpected(added.error());
      }
    }
  }
  if (total.count == 0) return 0;
  return static_cast<int64_t>(std::llround(domain::usage::result(total, meter.aggregation)));
}
}  // namespace

UsageSource metered_usage(projections::UsageQueries& queries, const projections::UsageModel& model) {
  return [&queries, &model](const std::string& tenant_id, const std::vector<std::string>& meters,
                            const domain::billing::Period& period) -> log::Result<std::map<std::string, v1::MeterUsage>> {
    std::map<std::string, v1::MeterUsage> out;
    for (const auto& name : meters) {
      const auto* meter = model.meter(name);
      if (meter == nullptr) continue;
      auto units = period_units(queries, *meter, tenant_id, period);
      if (!units) return std::unexpected(units.error());
      auto& usage = out[name];
      usage.set_units(*units);
      if (!meter->transactions) continue;
      projections::TransactionQuery page;
      page.tenant_id = tenant_id;
      page.meter = name;
      page.from_us = period.start_us;
      page.to_us = period.end_us;
      page.limit = kPage;
      for (;;) {
        auto listed = queries.transactions(page);
        if (!listed) return std::unexpected(listed.error());
        for (const auto& transaction : *listed) usage.add_transactions_minor(transaction.amount_minor);
        if (static_cast<size_t>(usage.transactions_minor_size()) > kTransactionsMax) {
          return log::fail(log::ErrorCode::invalid_argument,
                           "meter " + name + " has more than 1,000,000 transactions in the period");
        }
        if (listed->size() < kPage) break;
        page.after = listed->back().cursor;
      }
    }
    return out;
  };
}

}  // namespace tenantry::sagas
