// The /v1 billing API: a tenant's subscription (start, change, cancel, resume, payment
// method), its invoices (JSON, or HTML a person can read), the preview of the next
// invoice (also of a plan change before making it), credits and voids (platform), test
// clocks (attach, advance: advancing runs every cycle, retry and timeout that fell due,
// in order, before it answers), the plan catalog, revenue (MRR, ARR, churn) for
// analysts, and the payment provider's signed result webhooks.
//
// Every change is a command on the tenant's stream (domain/billing/account decides);
// reads come from the billing read model.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "gateway/api_support.h"
#include "projections/billing/billing_model.h"
#include "sagas/billing_cycle.h"

namespace tenantry::gateway {

struct BillingApiDeps {
  GatewayDeps& gateway;
  projections::BillingQueries& billing;
  // Drives a test-clock tenant after an advance; null: the saga's next pass does.
  sagas::BillingSaga* saga = nullptr;
  // The usage a period has so far, per meter the plan prices (for previews).
  sagas::UsageSource usage;
  // What the tenant uses now against quotas a downgrade must leave room for
  // ("storage_bytes", "api_calls_per_month", ...).
  std::function<std::map<std::string, int64_t>(const std::string& tenant_id)> current_usage;
  // The payment provider's webhook signing secret; empty: webhooks are refused (503).
  std::string payment_webhook_secret;
};

std::vector<http::Route> billing_routes(BillingApiDeps& deps);

// The invoice as a document a person reads (HTML, everything escaped).
std::string invoice_html(const v1::InvoiceDocument& invoice, const std::string& tenant_name);

}  // namespace tenantry::gateway
