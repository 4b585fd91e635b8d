// A tenant's billing account as a decider: decide(command, state, tenant, context) ->
// events | error, evolve(state, event) -> state. It lives on the tenant's stream
// beside the lifecycle (domain/tenant), so its decisions may carry tenant events too:
// a plan change is one step that moves the subscription and the tenant's plan (its
// quotas and features), and the dunning path suspends and restores the tenant.
//
// Billing time: a command's `at_us` when set (sagas send the instant a cycle or retry
// fell due), else the tenant's test clock when it has one, else the context's now. A
// tenant on a test clock never acts past its clock.
//
// Subscription status (every other move is an invalid_transition):
//   (none|canceled) --start--> trialing | active
//   trialing --period close after the trial's end--> active
//   active|trialing --change plan--> the same (upgrade at once, prorated; downgrade at
//                                    the period's end unless asked at once)
//   any but canceled --cancel at once--> canceled; --cancel at period end--> canceled
//                                    when that period closes (resume undoes it)
//   a failed payment: active --> past_due, then by the plan's DunningPolicy degraded
//   (writes answer 402), suspended (the tenant is suspended), canceled (the last
//   retry failed; the invoice is uncollectible). A payment settling the last
//   failing invoice restores active (and reactivates a tenant billing suspended).
//
// The plan catalog is the same decider on the stream kCatalogStream: PublishPlanVersion
// makes the next version of a plan (built-in plans are version 1 until one is
// published), by plans.h's next_version rules.
//
// Invoices: a period's close freezes its usage, drafts the invoice
// (domain/billing/invoice) and finalises it with the next number (sequential per
// tenant from 1, never reused: a voided invoice keeps its number) and its ledger
// entries. Invoice ids are "in_<number, 6 digits>".
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "domain/errors.h"
#include "tenantry/v1/billing.pb.h"
#include "tenantry/v1/tenant.pb.h"

namespace tenantry::domain::billing {

inline constexpr size_t kSettledInvoicesKept = 24;
// The plan catalog's stream: not a tenant ('@' is outside the ids clients may name).
inline constexpr const char* kCatalogStream = "@catalog";
inline constexpr size_t kCatalogPlansMax = 1000;
inline constexpr size_t kPaymentMethodMax = 128;
inline constexpr size_t kReasonMax = 500;
// A test clock moves at most this far in one advance (ten years).
inline constexpr int64_t kTestClockStepMaxUs = int64_t{3660} * 86'400 * 1'000'000;

// What billing needs to know of the tenant's lifecycle.
struct TenantView {
  bool exists = false;
  v1::TenantStatus status = v1::TENANT_STATUS_UNSPECIFIED;
  std::string plan;
  std::string slug;
};

struct Context {
  int64_t now_us = 0;
  std::string stream_id;  // the tenant id, or kCatalogStream
};

using AccountEvent = std::variant<v1::BillingEvent, v1::TenantEvent>;

std::expected<std::vector<AccountEvent>, DomainError> decide(const v1::BillingCommand& command,
                                                             const v1::BillingStateSnapshot& state,
                                                             const TenantView& tenant, const Context& context);

// Applies one billing event (unknown members change nothing).
void evolve(v1::BillingStateSnapshot& state, const v1::BillingEvent& event);

// ---- Reading the state ----

std::string invoice_id(uint64_t number);
// The plan the open period began on (the state keeps it only once it differs from plan).
const v1::PlanSpec& period_plan(const v1::BillingStateSnapshot& state);
const v1::InvoiceState* find_invoice(const v1::BillingStateSnapshot& state, std::string_view invoice_id);
// What the invoice still needs to be paid (0 unless open or uncollectible).
int64_t amount_due_minor(const v1::InvoiceState& invoice);
// The tenant's credit balance in `currency` (what the platform owes it).
int64_t credit_balance_minor(const v1::BillingStateSnapshot& state, std::string_view currency);
// Debit-positive balance of an account ("receivable", "cash", ...), as the ledger's.
int64_t account_balance_minor(const v1::BillingStateSnapshot& state, std::string_view currency,
                              std::string_view account);
// The billing "now" a command without at_us gets.
int64_t billing_now(const v1::BillingStateSnapshot& state, int64_t now_us);
// Whether the status lets the tenant write: not while degraded (a suspended tenant is
// refused by its lifecycle status already).
bool writes_allowed(v1::SubscriptionStatus status);
const char* status_name(v1::SubscriptionStatus status);
const char* invoice_status_name(v1::InvoiceStatus status);

}  // namespace tenantry::domain::billing
