#include "sagas/metered_usage.h"

#include <cmath>

namespace tenantry::sagas {

namespace {
constexpr size_t kTransactionsMax = 1000000;
constexpr size_t kPage = 10000;
}  // namespace

UsageSource metered_usage(projections::UsageQueries& queries, const projections::UsageModel& model) {
  return [&queries, &model](const std::string& tenant_id, const std::vector<std::string>& meters,
                            const domain::billing::Period& period) -> log::Result<std::map<std::string, v1::MeterUsage>> {
    std::map<std::string, v1::MeterUsage> out;
    for (const auto& name : meters) {
      const auto* meter = model.meter(name);
      if (meter == nullptr) continue;
      // Hour windows starting inside the period (docs/architecture.md, known limits).
      projections::UsageQuery query;
      query.tenant_id = tenant_id;
      query.meter = name;
      query.window = domain::usage::Window::hour;
      query.from_us = period.start_us;
      query.to_us = period.end_us;
      auto totals = queries.query(query);
      if (!totals) return std::unexpected(totals.error());
      auto& usage = out[name];
      usage.set_units(static_cast<int64_t>(std::llround(totals->total)));
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
