// The invoice calculator: one subscription's billing period in, invoice lines and
// totals out. Pure and total: every input either yields an invoice or a typed error.
//
// What a period's invoice holds, in this order:
//   1. base_fee        the plan in effect at the period's start (or at the moment the
//                      subscription became active inside it), prorated from then on
//   2. per immediate change (an upgrade, or a downgrade asked for at once), in time order:
//      unused_time     a credit: the old plan's fee × the share left at the change
//      remaining_time  a charge: the new plan's fee × the same share
//   3. usage           per meter priced by the plan in effect at the period's end
//                      (the last change's, else the period's plan), in meter name
//                      order: the period's units less the included units, or its
//                      transactions, through the meter's charge model
// Lines 1 and 3 can be left out (bill_base_fee, bill_usage) to bill them at other
// times. A downgrade at the period's end changes nothing here: the next period's invoice is
// computed with the new plan. Whether the base fee is collected in advance or with the
// usage in arrears is the billing saga's decision; this computes the amounts.
//
// Each line's exact amount (× its proration share) is rounded once, half to even (the
// rule in money.h). subtotal = the sum of the lines; tax = subtotal × rate, rounded
// once (negative when the subtotal is: a credit of unused time returns its tax too);
// the credit balance is applied after tax, up to what is due; a negative amount due
// is not a refund but credit carried to the balance.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "domain/billing/charges.h"
#include "domain/billing/money.h"
#include "domain/billing/periods.h"
#include "domain/billing/plans.h"
#include "domain/billing/proration.h"
#include "domain/errors.h"

namespace tenantry::domain::billing {

inline constexpr size_t kChangesPerPeriodMax = 16;
inline constexpr int32_t kTaxRateMaxBp = 10'000;  // 100%
inline constexpr size_t kUsageMetersMax = 64;

// A change that takes effect at once, at `at_us`, to the plan version `to` (same
// currency and interval: a change of either starts a new period, a later step).
struct PlanChange {
  int64_t at_us = 0;
  PlanVersion to;
};

struct InvoiceInput {
  PlanVersion plan;                        // in effect from the period's start
  Period period;
  std::optional<int64_t> active_from_us;   // became active (started, or its trial ended) inside the period
  std::vector<PlanChange> changes;         // immediate changes inside the period, in time order
  ProrationUnit proration = ProrationUnit::second;
  std::map<std::string, Usage> usage;      // the period's totals per meter; a meter the plan does not price is ignored
  int32_t tax_rate_bp = 0;                 // basis points: 2000 is 20%
  int64_t credit_balance_minor = 0;        // the tenant's credit, applied after tax
  // What this invoice bills (the change lines always). All by default: one invoice per
  // period. A saga billing fees in advance issues the base fee at the period's start,
  // a change's proration when it happens (a downgrade at once is then a credit), and
  // the usage at the end.
  bool bill_base_fee = true;
  bool bill_usage = true;
};

enum class LineKind { base_fee, unused_time, remaining_time, usage };
const char* line_kind_name(LineKind kind);

struct InvoiceLine {
  LineKind kind = LineKind::base_fee;
  std::string description;         // for people: which rule, which quantities
  std::string plan_id;
  uint32_t plan_version = 0;
  std::string meter;               // usage lines
  std::string model;               // usage lines: "volume", "package", ...
  int64_t quantity = 0;            // fees: 1; usage: the period's units (or transactions)
  int64_t included_units = 0;      // usage lines: of `quantity`, free under the plan
  Decimal unit_amount;             // fees: the plan's fee; standard usage: the unit price; else 0 (see steps)
  Fraction share;                  // proration applied to exact_amount (1/1: none)
  std::vector<ChargeStep> steps;   // usage lines: how exact_amount was reached
  Exact exact_amount;              // before the share and the rounding; negative for credits
  int64_t amount_minor = 0;        // exact_amount × share, rounded once

  bool operator==(const InvoiceLine&) const = default;
};

struct Invoice {
  std::string currency;
  Period period;
  std::vector<InvoiceLine> lines;
  int64_t subtotal_minor = 0;
  int32_t tax_rate_bp = 0;
  int64_t tax_minor = 0;
  int64_t credits_applied_minor = 0;       // from the credit balance
  int64_t total_minor = 0;                 // due: subtotal + tax - credits applied, never negative
  int64_t credit_balance_after_minor = 0;  // the balance left, plus a negative amount due carried
  bool preview = false;
};

// Errors: validation (fields "plan.base_fee", "period", "active_from_us",
// "changes[0].at_us", "changes[1].to.currency", "usage.api_calls.quantity",
// "tax_rate_bp", "credit_balance_minor", ...), limit_exceeded (too many changes, a
// usage past a bounded last tier, an amount past int64 minor units).
std::expected<Invoice, DomainError> calculate_invoice(const InvoiceInput& input);

// The invoice the period containing `now_us` will close with, from the usage so far.
// To price a change before making it ("what would upgrading now cost"), add it to
// `changes` at `now_us`.
struct PreviewInput {
  PlanVersion plan;                        // in effect at the start of the current period
  BillingAnchor anchor;
  int64_t now_us = 0;
  std::optional<int64_t> active_from_us;   // ignored when before the current period
  std::vector<PlanChange> changes;         // inside the current period
  ProrationUnit proration = ProrationUnit::second;
  std::map<std::string, Usage> usage_to_date;
  int32_t tax_rate_bp = 0;
  int64_t credit_balance_minor = 0;
};
std::expected<Invoice, DomainError> preview_invoice(const PreviewInput& input);

}  // namespace tenantry::domain::billing
