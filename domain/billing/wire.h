// Billing's values in wire form (schemas/tenantry/v1/billing.proto) and back: plan
// versions as subscriptions carry them, periods, anchors, ledger entries, invoice
// lines; and billing commands and events as envelopes carry them (see domain/wire.h).
// Decimals travel as text and are parsed back exactly; a malformed field is a
// validation error naming it under the caller's prefix ("plan.base_fee").
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "domain/billing/invoice.h"
#include "domain/billing/ledger.h"
#include "domain/billing/periods.h"
#include "domain/billing/plans.h"
#include "domain/errors.h"
#include "domain/wire.h"
#include "tenantry/v1/billing.pb.h"

namespace tenantry::domain::billing {

// Parsed and checked (check_plan), errors under `prefix` ("plan" -> "plan.base_fee").
std::expected<PlanVersion, DomainError> plan_from_wire(const v1::PlanSpec& spec, std::string_view prefix);
v1::PlanSpec plan_to_wire(const PlanVersion& plan);

inline Period period_from_wire(const v1::Period& p) { return Period{p.start_us(), p.end_us()}; }
v1::Period period_to_wire(const Period& period);
inline BillingAnchor anchor_from_wire(const v1::BillingAnchorSpec& a) {
  return BillingAnchor{a.day(), a.month(), a.time_of_day_us()};
}
v1::BillingAnchorSpec anchor_to_wire(const BillingAnchor& anchor);

v1::LedgerEntry entry_to_wire(const Entry& entry);
// nullopt for an unknown account name.
std::optional<Entry> entry_from_wire(const v1::LedgerEntry& entry);

// The invoice's lines and totals into a draft event (id and time set by the caller).
void invoice_to_wire(const Invoice& invoice, v1::InvoiceDrafted& out);

WireRead billing_command_from_wire(std::string_view type, std::string_view payload, v1::BillingCommand& out);
WireRead billing_event_from_wire(std::string_view type, std::string_view payload, v1::BillingEvent& out);
bool is_billing_command(std::string_view type);
bool is_billing_event(std::string_view type);
std::optional<WireEvent> billing_event_to_wire(const v1::BillingEvent& event);

}  // namespace tenantry::domain::billing
