#include "domain/billing/account.h"

#include <algorithm>
#include <optional>

#include "domain/billing/invoice.h"
#include "domain/billing/ledger.h"
#include "domain/billing/plans.h"
#include "domain/billing/wire.h"
#include "domain/usage/quotas.h"

namespace tenantry::domain::billing {

namespace {

using v1::SubscriptionStatus;
using Events = std::vector<AccountEvent>;
using Decided = std::expected<Events, DomainError>;

constexpr int64_t kMicrosecondsPerHour = int64_t{3600} * kMicrosecondsPerSecond;

// At least six digits, zero-padded: 42 -> "000042".
std::string six_digits(uint64_t number) {
  std::string digits = std::to_string(number);
  if (digits.size() < 6) digits.insert(0, 6 - digits.size(), '0');
  return digits;
}

std::unexpected<DomainError> refuse(std::string_view type, std::string message, std::vector<FieldError> fields = {}) {
  return std::unexpected(make_error(type, std::move(message), std::move(fields)));
}
std::unexpected<DomainError> invalid(std::string field, std::string message) {
  return std::unexpected(validation_failed({{std::move(field), std::move(message)}}));
}

bool subscribed(SubscriptionStatus status) {
  return status != v1::SUBSCRIPTION_STATUS_UNSPECIFIED && status != v1::SUBSCRIPTION_STATUS_CANCELED;
}

// How far along the dunning path a status is, to move only forwards.
int severity(SubscriptionStatus status) {
  switch (status) {
    case v1::SUBSCRIPTION_STATUS_PAST_DUE: return 1;
    case v1::SUBSCRIPTION_STATUS_DEGRADED: return 2;
    case v1::SUBSCRIPTION_STATUS_SUSPENDED: return 3;
    case v1::SUBSCRIPTION_STATUS_CANCELED: return 4;
    default: return 0;
  }
}

bool printable(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

std::optional<FieldError> check_reason(const std::string& reason) {
  if (reason.size() > kReasonMax) return FieldError{"reason", "at most 500 bytes"};
  return std::nullopt;
}

std::optional<FieldError> check_payment_method(const std::string& token, bool required) {
  if (token.empty()) {
    if (required) return FieldError{"payment_method", "is required"};
    return std::nullopt;
  }
  if (token.size() > kPaymentMethodMax || !printable(token)) {
    return FieldError{"payment_method", "1 to 128 printable ASCII characters"};
  }
  return std::nullopt;
}

v1::BillingEvent status_changed(SubscriptionStatus from, SubscriptionStatus to, std::string invoice,
                                std::string reason, int64_t at_us) {
  v1::BillingEvent event;
  auto* e = event.mutable_subscription_status_changed();
  e->set_from(from);
  e->set_to(to);
  e->set_invoice_id(std::move(invoice));
  e->set_reason(std::move(reason));
  e->set_at_us(at_us);
  return event;
}

// The tenant's plan follows the subscription's, in the same decision.
void follow_plan(Events& events, const TenantView& tenant, const std::string& plan_id) {
  if (tenant.plan == plan_id) return;
  v1::TenantEvent event;
  event.mutable_tenant_configured()->set_plan(plan_id);
  events.emplace_back(std::move(event));
}

// A subscription's plan as stored: it was checked when it was taken.
PlanVersion stored_plan(const v1::PlanSpec& spec) {
  auto plan = plan_from_wire(spec, "");
  return plan ? std::move(*plan) : PlanVersion{};
}

std::optional<ProrationUnit> stored_proration(const std::string& name) {
  return proration_unit_from(name.empty() ? "second" : name);
}

// The command's billing time, or why it cannot act then.
std::expected<int64_t, DomainError> billing_time(const v1::BillingStateSnapshot& state, int64_t at_us,
                                                 const Context& context) {
  if (at_us == 0) return billing_now(state, context.now_us);
  if (at_us < kInstantMinUs || at_us > kInstantMaxUs) {
    return invalid("at_us", "must be an instant from 1970 to 9999 (microseconds since the epoch)");
  }
  if (state.test_clock_us() > 0 && at_us > state.test_clock_us()) {
    return invalid("at_us", "is past the tenant's test clock; advance the clock first");
  }
  return at_us;
}

// ---- start ----

Decided start(const v1::StartSubscription& command, const v1::BillingStateSnapshot& state, const TenantView& tenant,
              const Context& context) {
  if (subscribed(state.status())) {
    return refuse(error_type::already_exists, "the tenant already has a subscription (" +
                                                  std::string(status_name(state.status())) + ")");
  }
  if (state.period().end_us() > 0) {
    return refuse(error_type::invalid_transition, "the canceled subscription's last period has not been closed yet");
  }
  std::vector<FieldError> errors;
  auto plan = plan_from_wire(command.plan(), "plan");
  if (!plan) errors = plan.error().fields;
  auto proration = stored_proration(command.proration());
  if (!proration) errors.push_back({"proration", "must be second or day"});
  if (command.has_anchor_day() && (command.anchor_day() < 1 || command.anchor_day() > 31)) {
    errors.push_back({"anchor_day", "must be 1 to 31"});
  }
  if (auto e = check_payment_method(command.payment_method(), false)) errors.push_back(*e);
  if (command.tax_rate_bp() < 0 || command.tax_rate_bp() > kTaxRateMaxBp) {
    errors.push_back({"tax_rate_bp", "must be 0 to 10000 (basis points)"});
  }
  auto t = billing_time(state, command.at_us(), context);
  if (!t) return std::unexpected(t.error());
  if (!errors.empty()) return std::unexpected(validation_failed(std::move(errors)));

  BillingAnchor anchor = anchor_of(*t);
  if (command.has_anchor_day()) anchor = BillingAnchor{command.anchor_day(), anchor.month, 0};
  auto period = period_containing(anchor, plan->interval, *t);
  if (!period) return std::unexpected(period.error());
  const int64_t trial_end = command.skip_trial() ? *t : trial_end_us(*t, *plan);

  Events events;
  v1::BillingEvent started;
  auto* e = started.mutable_subscription_started();
  *e->mutable_plan() = plan_to_wire(*plan);
  e->set_started_at_us(*t);
  e->set_trial_end_us(trial_end);
  *e->mutable_anchor() = anchor_to_wire(anchor);
  *e->mutable_period() = period_to_wire(*period);
  e->set_proration(proration_unit_name(*proration));
  e->set_payment_method(command.payment_method());
  e->set_tax_rate_bp(command.tax_rate_bp());
  events.emplace_back(std::move(started));
  const auto to = trial_end > *t ? v1::SUBSCRIPTION_STATUS_TRIALING : v1::SUBSCRIPTION_STATUS_ACTIVE;
  events.emplace_back(status_changed(state.status(), to, "", "subscription started", *t));
  follow_plan(events, tenant, plan->plan_id);
  return events;
}

// ---- change plan ----

// A downgrade must leave room for what the tenant already uses.
std::vector<FieldError> check_room(const PlanVersion& plan, const google::protobuf::Map<std::string, int64_t>& used) {
  std::vector<FieldError> errors;
  const auto quotas = usage::effective_quotas(plan.plan_id, plan.features);
  const std::pair<const char*, int64_t> limits[] = {{"storage_bytes", quotas.storage_bytes},
                                                    {"api_calls_per_month", quotas.api_calls_per_month},
                                                    {"api_calls_per_day", quotas.api_calls_per_day}};
  for (const auto& [name, value] : used) {
    if (value < 0) {
      errors.push_back({"current_usage." + name, "must be 0 or more"});
      continue;
    }
    bool known = false;
    for (const auto& [limit_name, limit] : limits) {
      if (name != limit_name) continue;
      known = true;
      if (limit > 0 && value > limit) {
        errors.push_back({"current_usage." + name, "the plan allows " + std::to_string(limit) + ", the tenant uses " +
                                                       std::to_string(value)});
      }
    }
    if (!known) errors.push_back({"current_usage." + name, "unknown quota: storage_bytes, api_calls_per_month, api_calls_per_day"});
  }
  return errors;
}

Decided change_plan(const v1::ChangeSubscriptionPlan& command, const v1::BillingStateSnapshot& state,
                    const TenantView& tenant, const Context& context) {
  const auto status = state.status();
  if (status != v1::SUBSCRIPTION_STATUS_ACTIVE && status != v1::SUBSCRIPTION_STATUS_TRIALING) {
    return refuse(error_type::invalid_transition,
                  std::string("a subscription that is ") + status_name(status) + " cannot change plan" +
                      (severity(status) > 0 && severity(status) < 4 ? ": settle the open invoice first" : ""));
  }
  if (state.cancel_at_period_end()) {
    return refuse(error_type::invalid_transition, "the subscription is canceled at the period's end: resume it first");
  }
  auto plan = plan_from_wire(command.plan(), "plan");
  if (!plan) return std::unexpected(plan.error());
  const PlanVersion current = stored_plan(state.plan());
  std::vector<FieldError> errors;
  if (plan->currency != current.currency) {
    errors.push_back({"plan.currency", "must stay " + current.currency + ": another currency is a new subscription"});
  }
  if (plan->interval != current.interval) {
    errors.push_back({"plan.interval", std::string("must stay ") + interval_name(current.interval) +
                                           ": another interval is a new subscription"});
  }
  if (plan->plan_id == current.plan_id && plan->version == current.version) {
    errors.push_back({"plan", "the subscription is on this plan version already"});
  }
  if (!errors.empty()) return std::unexpected(validation_failed(std::move(errors)));
  auto t = billing_time(state, command.at_us(), context);
  if (!t) return std::unexpected(t.error());

  const auto direction = change_direction(current, *plan);
  const char* direction_name = direction == ChangeDirection::upgrade     ? "upgrade"
                               : direction == ChangeDirection::downgrade ? "downgrade"
                                                                         : "lateral";
  if (direction == ChangeDirection::downgrade) {
    if (auto room = check_room(*plan, command.current_usage()); !room.empty()) {
      return refuse(error_type::invalid_transition, "the tenant uses more than the plan allows", std::move(room));
    }
  }
  const bool trialing = status == v1::SUBSCRIPTION_STATUS_TRIALING && *t < state.trial_end_us();
  const auto timing = trialing ? ChangeTiming::immediately : change_timing(direction, command.at_once());
  Events events;
  if (timing == ChangeTiming::at_period_end) {
    v1::BillingEvent scheduled;
    auto* e = scheduled.mutable_subscription_change_scheduled();
    *e->mutable_plan() = plan_to_wire(*plan);
    e->set_effective_at_us(state.period().end_us());
    events.emplace_back(std::move(scheduled));
    return events;
  }
  const Period period = period_from_wire(state.period());
  if (*t < period.start_us || *t >= period.end_us) {
    return invalid("at_us", "must fall in the open period [" + format_instant(period.start_us) + ", " +
                                format_instant(period.end_us) + ")");
  }
  const bool prorated = !trialing && *t > period.start_us;
  if (prorated && static_cast<size_t>(state.changes_size()) + 2 > kChangesPerPeriodMax) {
    return refuse(error_type::limit_exceeded, "at most 15 plan changes in one period");
  }
  v1::BillingEvent changed;
  auto* e = changed.mutable_subscription_plan_changed();
  *e->mutable_plan() = plan_to_wire(*plan);
  e->set_at_us(*t);
  e->set_direction(direction_name);
  e->set_prorated(prorated);
  events.emplace_back(std::move(changed));
  follow_plan(events, tenant, plan->plan_id);
  return events;
}

// ---- cancel, resume ----

Decided cancel(const v1::CancelSubscription& command, const v1::BillingStateSnapshot& state, const Context& context) {
  if (!subscribed(state.status())) {
    return refuse(error_type::invalid_transition,
                  std::string("there is no subscription to cancel (") + status_name(state.status()) + ")");
  }
  if (auto e = check_reason(command.reason())) return std::unexpected(validation_failed({*e}));
  auto t = billing_time(state, command.at_us(), context);
  if (!t) return std::unexpected(t.error());
  const std::string reason = command.reason().empty() ? "canceled by request" : command.reason();
  Events events;
  if (!command.at_once()) {
    if (state.cancel_at_period_end()) {
      return refuse(error_type::invalid_transition, "the subscription is canceled at the period's end already");
    }
    v1::BillingEvent scheduled;
    scheduled.mutable_subscription_cancellation_scheduled()->set_effective_at_us(state.period().end_us());
    scheduled.mutable_subscription_cancellation_scheduled()->set_reason(reason);
    events.emplace_back(std::move(scheduled));
    return events;
  }
  const Period period = period_from_wire(state.period());
  if (*t < period.start_us || *t >= period.end_us) {
    return invalid("at_us", "must fall in the open period");
  }
  v1::BillingEvent canceled;
  canceled.mutable_subscription_canceled()->set_at_us(*t);
  canceled.mutable_subscription_canceled()->set_reason(reason);
  events.emplace_back(std::move(canceled));
  events.emplace_back(status_changed(state.status(), v1::SUBSCRIPTION_STATUS_CANCELED, "", reason, *t));
  return events;
}

Decided resume(const v1::BillingStateSnapshot& state) {
  if (!state.cancel_at_period_end() || !subscribed(state.status())) {
    return refuse(error_type::invalid_transition, "there is no cancellation at the period's end to undo");
  }
  Events events;
  v1::BillingEvent resumed;
  resumed.mutable_subscription_resumed();
  events.emplace_back(std::move(resumed));
  return events;
}

// ---- period close ----

std::map<std::string, Usage> frozen_usage(const google::protobuf::Map<std::string, v1::MeterUsage>& usage,
                                          std::vector<FieldError>& errors) {
  std::map<std::string, Usage> out;
  if (usage.size() > static_cast<int>(kUsageMetersMax)) errors.push_back({"usage", "at most 64 meters"});
  for (const auto& [meter, u] : usage) {
    if (u.units() < 0 || u.units() > kQuantityMax) errors.push_back({"usage." + meter + ".units", "must be 0 to 10^15"});
    if (static_cast<size_t>(u.transactions_minor_size()) > kTransactionsMax) {
      errors.push_back({"usage." + meter + ".transactions_minor", "at most 1,000,000 transactions"});
    }
    Usage value;
    value.units = u.units();
    value.transactions_minor.assign(u.transactions_minor().begin(), u.transactions_minor().end());
    out[meter] = std::move(value);
  }
  return out;
}

// The period's invoice, as calculate_invoice makes it from the state and the usage.
std::expected<Invoice, DomainError> period_invoice(const v1::BillingStateSnapshot& state,
                                                   std::map<std::string, Usage> usage) {
  InvoiceInput input;
  input.plan = stored_plan(period_plan(state));
  input.period = period_from_wire(state.period());
  input.proration = stored_proration(state.proration()).value_or(ProrationUnit::second);
  input.usage = std::move(usage);
  input.tax_rate_bp = state.tax_rate_bp();
  input.credit_balance_minor = credit_balance_minor(state, input.plan.currency);
  const int64_t active_start = std::max(state.started_at_us(), state.trial_end_us());
  if (active_start >= input.period.end_us) {
    input.bill_base_fee = false;  // a trial the whole period: no fee, no usage
    input.bill_usage = false;
  } else if (active_start > input.period.start_us) {
    input.active_from_us = active_start;
  }
  for (const auto& change : state.changes()) input.changes.push_back(PlanChange{change.at_us(), stored_plan(change.plan())});
  if (state.canceled_at_us() > 0 && input.period.contains(state.canceled_at_us())) {
    // Canceled at once: from then on, nothing more is owed for the fee (a credit for
    // the unused time); the usage until then is still billed at the plan's prices.
    PlanVersion ended = stored_plan(state.plan());
    ended.base_fee = Decimal{};
    input.changes.push_back(PlanChange{state.canceled_at_us(), std::move(ended)});
  }
  return calculate_invoice(input);
}

Decided close_period(const v1::CloseBillingPeriod& command, const v1::BillingStateSnapshot& state,
                     const TenantView& tenant, const Context& context) {
  if (state.period().end_us() == 0) {
    return refuse(error_type::invalid_transition, "there is no open billing period");
  }
  const Period period = period_from_wire(state.period());
  if (period_from_wire(command.period()) != period) {
    return invalid("period", "is not the open period [" + format_instant(period.start_us) + ", " +
                                 format_instant(period.end_us) + ")");
  }
  auto t = billing_time(state, command.at_us(), context);
  if (!t) return std::unexpected(t.error());
  if (*t < period.end_us) {
    return refuse(error_type::invalid_transition, "the period ends at " + format_instant(period.end_us));
  }
  std::vector<FieldError> errors;
  auto usage = frozen_usage(command.usage(), errors);
  if (!errors.empty()) return std::unexpected(validation_failed(std::move(errors)));
  auto invoice = period_invoice(state, usage);
  if (!invoice) return std::unexpected(invoice.error());

  const Interval interval = interval_from(state.plan().interval()).value_or(Interval::month);
  const bool ends = state.status() == v1::SUBSCRIPTION_STATUS_CANCELED || state.cancel_at_period_end();
  std::optional<Period> next;
  if (!ends) {
    auto following = next_period(anchor_from_wire(state.anchor()), interval, period);
    if (!following) return std::unexpected(following.error());
    next = *following;
  }

  Events events;
  v1::BillingEvent closed;
  auto* c = closed.mutable_billing_period_closed();
  *c->mutable_period() = command.period();
  *c->mutable_usage() = command.usage();
  if (next) *c->mutable_next_period() = period_to_wire(*next);
  events.emplace_back(std::move(closed));

  const uint64_t number = state.invoices_issued() + 1;
  const std::string id = invoice_id(number);
  v1::BillingEvent drafted;
  auto* d = drafted.mutable_invoice_drafted();
  d->set_invoice_id(id);
  invoice_to_wire(*invoice, *d);
  d->set_drafted_at_us(*t);
  events.emplace_back(std::move(drafted));

  v1::BillingEvent finalized;
  auto* f = finalized.mutable_invoice_finalized();
  f->set_invoice_id(id);
  f->set_number(number);
  f->set_display_number((tenant.slug.empty() ? std::string("INV") : tenant.slug) + "-" + six_digits(number));
  f->set_due_at_us(*t);
  for (const auto& entry : invoice_entries(*invoice, id)) *f->add_entries() = entry_to_wire(entry);
  f->set_paid(invoice->total_minor == 0);
  events.emplace_back(std::move(finalized));

  if (next && state.has_scheduled_plan()) {
    v1::BillingEvent changed;
    auto* e = changed.mutable_subscription_plan_changed();
    *e->mutable_plan() = state.scheduled_plan();
    e->set_at_us(period.end_us);
    e->set_direction("downgrade");
    e->set_prorated(false);
    events.emplace_back(std::move(changed));
    follow_plan(events, tenant, state.scheduled_plan().plan_id());
  }
  if (state.cancel_at_period_end() && state.status() != v1::SUBSCRIPTION_STATUS_CANCELED) {
    v1::BillingEvent canceled;
    canceled.mutable_subscription_canceled()->set_at_us(period.end_us);
    canceled.mutable_subscription_canceled()->set_reason(state.cancel_reason());
    events.emplace_back(std::move(canceled));
    events.emplace_back(
        status_changed(state.status(), v1::SUBSCRIPTION_STATUS_CANCELED, "", state.cancel_reason(), period.end_us));
  } else if (state.status() == v1::SUBSCRIPTION_STATUS_TRIALING && state.trial_end_us() <= period.end_us) {
    events.emplace_back(status_changed(state.status(), v1::SUBSCRIPTION_STATUS_ACTIVE, "", "trial ended",
                                       std::max(state.trial_end_us(), period.start_us)));
  }
  return events;
}

// ---- payments and dunning ----

bool other_failing_invoice(const v1::BillingStateSnapshot& state, std::string_view except) {
  return std::any_of(state.invoices().begin(), state.invoices().end(), [&](const v1::InvoiceState& invoice) {
    return invoice.invoice_id() != except && invoice.status() == v1::INVOICE_STATUS_OPEN && invoice.failures() > 0;
  });
}

Decided record_payment(const v1::RecordPayment& command, const v1::BillingStateSnapshot& state,
                       const TenantView& tenant, const Context& context) {
  const auto* invoice = find_invoice(state, command.invoice_id());
  if (invoice == nullptr) {
    return refuse(error_type::not_found, "no invoice " + command.invoice_id().substr(0, 64) + " for this tenant",
                  {{"invoice_id", "unknown invoice"}});
  }
  std::vector<FieldError> errors;
  if (command.attempt() < 1) errors.push_back({"attempt", "must be 1 or more"});
  if (command.payment_id().size() > 128) errors.push_back({"payment_id", "at most 128 characters"});
  if (command.amount_minor() < 0) errors.push_back({"amount_minor", "must be 0 or more (0: what is due)"});
  if (command.failure_message().size() > kReasonMax) errors.push_back({"failure_message", "at most 500 bytes"});
  if (!errors.empty()) return std::unexpected(validation_failed(std::move(errors)));
  auto t = billing_time(state, command.at_us(), context);
  if (!t) return std::unexpected(t.error());

  // A payment (or failure) recorded before is a no-op: webhooks and sagas repeat.
  const bool seen = !command.payment_id().empty() &&
                    std::find(invoice->payment_ids().begin(), invoice->payment_ids().end(), command.payment_id()) !=
                        invoice->payment_ids().end();
  const bool settled = invoice->status() == v1::INVOICE_STATUS_PAID;
  if (seen || (!command.succeeded() && command.attempt() <= invoice->failures()) ||
      (settled && command.payment_id().empty())) {
    return Events{};
  }
  Events events;
  const int64_t due = amount_due_minor(*invoice);
  if (command.succeeded()) {
    if (invoice->status() == v1::INVOICE_STATUS_VOID) {
      return refuse(error_type::invalid_transition, "the invoice is void: refund the payment instead",
                    {{"invoice_id", "void"}});
    }
    if (settled) {
      // Paid already, by another payment: the money stays as credit, never lost.
      v1::BillingEvent paid;
      auto* p = paid.mutable_payment_succeeded();
      p->set_invoice_id(invoice->invoice_id());
      p->set_attempt(command.attempt());
      p->set_payment_id(command.payment_id());
      const int64_t amount = command.amount_minor() > 0 ? command.amount_minor() : invoice->total_minor();
      p->set_amount_minor(amount);
      p->set_at_us(*t);
      if (amount > 0) {
        for (const auto& entry : payment_entries(invoice->currency(), amount, invoice->invoice_id())) {
          *p->add_entries() = entry_to_wire(entry);
        }
        // The receivable it lowered is moved to the tenant's credit balance.
        Entry overpaid{Account::receivable, Account::credits, amount, invoice->currency(), invoice->invoice_id()};
        *p->add_entries() = entry_to_wire(overpaid);
      }
      events.emplace_back(std::move(paid));
      return events;
    }
    const int64_t amount = command.amount_minor() > 0 ? command.amount_minor() : due;
    if (amount > due) {
      return invalid("amount_minor", "is more than the " + std::to_string(due) + " due");
    }
    v1::BillingEvent paid;
    auto* p = paid.mutable_payment_succeeded();
    p->set_invoice_id(invoice->invoice_id());
    p->set_attempt(command.attempt());
    p->set_payment_id(command.payment_id());
    p->set_amount_minor(amount);
    p->set_at_us(*t);
    for (const auto& entry : payment_entries(invoice->currency(), amount, invoice->invoice_id())) {
      *p->add_entries() = entry_to_wire(entry);
    }
    events.emplace_back(std::move(paid));
    const bool settles = amount == due;
    const auto status = state.status();
    if (settles && severity(status) > 0 && severity(status) < 4 && !other_failing_invoice(state, invoice->invoice_id())) {
      events.emplace_back(status_changed(status, v1::SUBSCRIPTION_STATUS_ACTIVE, invoice->invoice_id(),
                                         "payment received", *t));
      if (status == v1::SUBSCRIPTION_STATUS_SUSPENDED && tenant.status == v1::TENANT_STATUS_SUSPENDED) {
        v1::TenantEvent reactivated;
        reactivated.mutable_tenant_reactivated();
        events.emplace_back(std::move(reactivated));
      }
    }
    return events;
  }

  if (invoice->status() != v1::INVOICE_STATUS_OPEN) {
    return Events{};  // a late failure for an invoice settled or closed: nothing to chase
  }
  const PlanVersion plan = stored_plan(state.plan());
  const uint32_t failures = invoice->failures() + 1;
  const int64_t first_failure = invoice->failures() == 0 ? *t : invoice->first_failure_at_us();
  const auto& retries = plan.dunning.retry_after_hours;
  const bool retry_left = failures <= retries.size();
  v1::BillingEvent failed;
  auto* f = failed.mutable_payment_failed();
  f->set_invoice_id(invoice->invoice_id());
  f->set_attempt(command.attempt());
  f->set_payment_id(command.payment_id());
  f->set_failure_code(command.failure_code());
  f->set_failure_message(command.failure_message());
  f->set_at_us(*t);
  f->set_next_retry_at_us(retry_left ? first_failure + retries[failures - 1] * kMicrosecondsPerHour : 0);
  events.emplace_back(std::move(failed));

  auto target = v1::SUBSCRIPTION_STATUS_PAST_DUE;
  if (failures >= plan.dunning.degrade_after_failures) target = v1::SUBSCRIPTION_STATUS_DEGRADED;
  if (failures >= plan.dunning.suspend_after_failures) target = v1::SUBSCRIPTION_STATUS_SUSPENDED;
  if (!retry_left) target = v1::SUBSCRIPTION_STATUS_CANCELED;
  const auto status = state.status();
  const std::string reason = "invoice " + invoice->invoice_id() + " unpaid after " + std::to_string(failures) +
                             (failures == 1 ? " attempt" : " attempts");
  if (status != v1::SUBSCRIPTION_STATUS_UNSPECIFIED && status != v1::SUBSCRIPTION_STATUS_CANCELED &&
      severity(target) > severity(status)) {
    events.emplace_back(status_changed(status, target, invoice->invoice_id(), reason, *t));
    if (target == v1::SUBSCRIPTION_STATUS_SUSPENDED && tenant.status == v1::TENANT_STATUS_ACTIVE) {
      v1::TenantEvent suspended;
      suspended.mutable_tenant_suspended()->set_reason("billing: " + reason);
      events.emplace_back(std::move(suspended));
    }
    if (target == v1::SUBSCRIPTION_STATUS_CANCELED) {
      v1::BillingEvent canceled;
      canceled.mutable_subscription_canceled()->set_at_us(*t);
      canceled.mutable_subscription_canceled()->set_reason(reason);
      events.emplace_back(std::move(canceled));
    }
  }
  if (!retry_left) {
    v1::BillingEvent uncollectible;
    uncollectible.mutable_invoice_marked_uncollectible()->set_invoice_id(invoice->invoice_id());
    uncollectible.mutable_invoice_marked_uncollectible()->set_reason(reason);
    events.emplace_back(std::move(uncollectible));
  }
  return events;
}

// ---- invoices, credits ----

Decided void_invoice(const v1::VoidInvoice& command, const v1::BillingStateSnapshot& state) {
  const auto* invoice = find_invoice(state, command.invoice_id());
  if (invoice == nullptr) return refuse(error_type::not_found, "no such invoice", {{"invoice_id", "unknown invoice"}});
  if (auto e = check_reason(command.reason())) return std::unexpected(validation_failed({*e}));
  if (invoice->status() != v1::INVOICE_STATUS_OPEN && invoice->status() != v1::INVOICE_STATUS_UNCOLLECTIBLE) {
    return refuse(error_type::invalid_transition,
                  std::string("an invoice that is ") + invoice_status_name(invoice->status()) + " cannot be voided");
  }
  if (invoice->paid_minor() > 0) {
    return refuse(error_type::invalid_transition, "the invoice is partly paid: issue a credit note instead");
  }
  Events events;
  v1::BillingEvent voided;
  auto* v = voided.mutable_invoice_voided();
  v->set_invoice_id(invoice->invoice_id());
  v->set_reason(command.reason());
  // The finalisation's entries, reversed: the ledger is as if it never was issued.
  for (const auto& entry : invoice->entries()) {
    v1::LedgerEntry reversed = entry;
    reversed.set_debit(entry.credit());
    reversed.set_credit(entry.debit());
    *v->add_entries() = std::move(reversed);
  }
  events.emplace_back(std::move(voided));
  return events;
}

Decided mark_uncollectible(const v1::MarkInvoiceUncollectible& command, const v1::BillingStateSnapshot& state) {
  const auto* invoice = find_invoice(state, command.invoice_id());
  if (invoice == nullptr) return refuse(error_type::not_found, "no such invoice", {{"invoice_id", "unknown invoice"}});
  if (auto e = check_reason(command.reason())) return std::unexpected(validation_failed({*e}));
  if (invoice->status() != v1::INVOICE_STATUS_OPEN) {
    return refuse(error_type::invalid_transition, std::string("an invoice that is ") +
                                                      invoice_status_name(invoice->status()) +
                                                      " cannot be marked uncollectible");
  }
  Events events;
  v1::BillingEvent marked;
  marked.mutable_invoice_marked_uncollectible()->set_invoice_id(invoice->invoice_id());
  marked.mutable_invoice_marked_uncollectible()->set_reason(command.reason());
  events.emplace_back(std::move(marked));
  return events;
}

Decided grant_credit(const v1::GrantCredit& command, const v1::BillingStateSnapshot& state, const Context& context) {
  std::vector<FieldError> errors;
  if (!find_currency(command.currency())) errors.push_back({"currency", "unknown currency"});
  if (command.amount_minor() < 1 || command.amount_minor() > kEntryAmountMax) {
    errors.push_back({"amount_minor", "must be 1 to 10^15"});
  }
  if (auto e = check_reason(command.reason())) errors.push_back(*e);
  if (!errors.empty()) return std::unexpected(validation_failed(std::move(errors)));
  const std::string reference = "credit_" + std::to_string(billing_now(state, context.now_us));
  Events events;
  v1::BillingEvent granted;
  auto* g = granted.mutable_credit_granted();
  g->set_amount_minor(command.amount_minor());
  g->set_currency(command.currency());
  g->set_reason(command.reason());
  for (const auto& entry : credit_grant_entries(command.currency(), command.amount_minor(), reference)) {
    *g->add_entries() = entry_to_wire(entry);
  }
  events.emplace_back(std::move(granted));
  return events;
}

Decided issue_credit_note(const v1::IssueCreditNote& command, const v1::BillingStateSnapshot& state,
                          const Context& context) {
  const auto* invoice = find_invoice(state, command.invoice_id());
  if (invoice == nullptr) return refuse(error_type::not_found, "no such invoice", {{"invoice_id", "unknown invoice"}});
  if (auto e = check_reason(command.reason())) return std::unexpected(validation_failed({*e}));
  const auto status = invoice->status();
  if (status != v1::INVOICE_STATUS_OPEN && status != v1::INVOICE_STATUS_PAID &&
      status != v1::INVOICE_STATUS_UNCOLLECTIBLE) {
    return refuse(error_type::invalid_transition,
                  std::string("an invoice that is ") + invoice_status_name(status) + " takes no credit note");
  }
  const bool paid = status == v1::INVOICE_STATUS_PAID;
  // Open: at most what is still owed; paid: at most what was paid and not yet credited.
  const int64_t room = paid ? invoice->total_minor() - invoice->credited_minor() : amount_due_minor(*invoice);
  if (command.amount_minor() < 1 || command.amount_minor() > room) {
    return invalid("amount_minor", "must be 1 to " + std::to_string(std::max<int64_t>(room, 0)) +
                                       (paid ? " (paid and not yet credited)" : " (still owed)"));
  }
  // Tax goes back in the invoice's own proportion, by the one rounding rule.
  const int64_t tax = invoice->total_minor() > 0
                          ? round_ratio(invoice->tax_minor(), command.amount_minor(), invoice->total_minor()).value_or(0)
                          : 0;
  const std::string reference = invoice->invoice_id() + "-cn-" + std::to_string(billing_now(state, context.now_us));
  Events events;
  v1::BillingEvent issued;
  auto* e = issued.mutable_credit_note_issued();
  e->set_invoice_id(invoice->invoice_id());
  e->set_amount_minor(command.amount_minor());
  e->set_tax_minor(tax);
  e->set_reason(command.reason());
  for (const auto& entry : credit_note_entries(invoice->currency(), command.amount_minor() - tax, tax, paid, reference)) {
    *e->add_entries() = entry_to_wire(entry);
  }
  events.emplace_back(std::move(issued));
  return events;
}

Decided refund_credit(const v1::RefundCredit& command, const v1::BillingStateSnapshot& state, const Context& context) {
  std::vector<FieldError> errors;
  if (!find_currency(command.currency())) errors.push_back({"currency", "unknown currency"});
  if (auto e = check_reason(command.reason())) errors.push_back(*e);
  const int64_t balance = credit_balance_minor(state, command.currency());
  if (command.amount_minor() < 1 || command.amount_minor() > balance) {
    errors.push_back({"amount_minor", "must be 1 to the credit balance, " + std::to_string(std::max<int64_t>(balance, 0))});
  }
  if (!errors.empty()) return std::unexpected(validation_failed(std::move(errors)));
  const std::string reference = "refund_" + std::to_string(billing_now(state, context.now_us));
  Events events;
  v1::BillingEvent refunded;
  auto* e = refunded.mutable_refund_issued();
  e->set_amount_minor(command.amount_minor());
  e->set_currency(command.currency());
  e->set_reason(command.reason());
  for (const auto& entry : refund_entries(command.currency(), command.amount_minor(), reference)) {
    *e->add_entries() = entry_to_wire(entry);
  }
  events.emplace_back(std::move(refunded));
  return events;
}

// ---- test clocks ----

Decided attach_clock(const v1::AttachTestClock& command, const v1::BillingStateSnapshot& state) {
  if (state.test_clock_us() > 0) return refuse(error_type::already_exists, "the tenant has a test clock already");
  if (state.status() != v1::SUBSCRIPTION_STATUS_UNSPECIFIED) {
    return refuse(error_type::invalid_transition, "a test clock is attached before the first subscription");
  }
  if (command.now_us() <= kInstantMinUs || command.now_us() > kInstantMaxUs) {
    return invalid("now_us", "must be an instant from 1970 to 9999");
  }
  Events events;
  v1::BillingEvent attached;
  attached.mutable_test_clock_attached()->set_now_us(command.now_us());
  events.emplace_back(std::move(attached));
  return events;
}

Decided advance_clock(const v1::AdvanceTestClock& command, const v1::BillingStateSnapshot& state) {
  if (state.test_clock_us() == 0) return refuse(error_type::not_found, "the tenant has no test clock");
  if (command.to_us() < state.test_clock_us()) return invalid("to_us", "a test clock only moves forwards");
  if (command.to_us() > kInstantMaxUs || command.to_us() - state.test_clock_us() > kTestClockStepMaxUs) {
    return invalid("to_us", "at most ten years in one advance");
  }
  Events events;
  if (command.to_us() == state.test_clock_us()) return events;
  v1::BillingEvent advanced;
  advanced.mutable_test_clock_advanced()->set_from_us(state.test_clock_us());
  advanced.mutable_test_clock_advanced()->set_to_us(command.to_us());
  events.emplace_back(std::move(advanced));
  return events;
}

// ---- the catalog ----

Decided publish_plan(const v1::PublishPlanVersion& command, const v1::BillingStateSnapshot& catalog) {
  auto proposed = plan_from_wire([&] {
    v1::PlanSpec spec = command.plan();
    if (spec.version() == 0) spec.set_version(1);  // assigned below
    return spec;
  }(), "plan");
  if (!proposed) return std::unexpected(proposed.error());
  std::optional<PlanVersion> current;
  if (auto it = catalog.catalog().find(proposed->plan_id); it != catalog.catalog().end()) {
    current = stored_plan(it->second);
  } else {
    current = builtin_plan(proposed->plan_id);
  }
  PlanVersion published = *proposed;
  if (current) {
    auto next = next_version(*current, *proposed);
    if (!next) {
      DomainError error = next.error();
      for (auto& field : error.fields) field.field = field.field == "plan" ? "plan" : "plan." + field.field;
      return std::unexpected(std::move(error));
    }
    published = std::move(*next);
  } else {
    if (static_cast<size_t>(catalog.catalog_size()) >= kCatalogPlansMax) {
      return refuse(error_type::limit_exceeded, "the catalog holds at most 1000 plans");
    }
    published.version = 1;
  }
  Events events;
  v1::BillingEvent event;
  *event.mutable_plan_version_published()->mutable_plan() = plan_to_wire(published);
  events.emplace_back(std::move(event));
  return events;
}

Decided single(v1::BillingEvent event) {
  Events events;
  events.emplace_back(std::move(event));
  return events;
}

v1::InvoiceState* find_mutable(v1::BillingStateSnapshot& state, std::string_view id) {
  for (auto& invoice : *state.mutable_invoices()) {
    if (invoice.invoice_id() == id) return &invoice;
  }
  return nullptr;
}

void post(v1::BillingStateSnapshot& state, const google::protobuf::RepeatedPtrField<v1::LedgerEntry>& entries) {
  for (const auto& entry : entries) {
    auto& debit = (*state.mutable_ledger())[entry.currency() + "/" + entry.debit()];
    debit.set_debits_minor(debit.debits_minor() + entry.amount_minor());
    auto& credit = (*state.mutable_ledger())[entry.currency() + "/" + entry.credit()];
    credit.set_credits_minor(credit.credits_minor() + entry.amount_minor());
  }
}

bool settled(v1::InvoiceStatus status) {
  return status == v1::INVOICE_STATUS_PAID || status == v1::INVOICE_STATUS_VOID ||
         status == v1::INVOICE_STATUS_UNCOLLECTIBLE;
}

// Keeps every open invoice and the last kSettledInvoicesKept settled ones.
void prune(v1::BillingStateSnapshot& state) {
  size_t settled_count = 0;
  for (const auto& invoice : state.invoices()) settled_count += settled(invoice.status()) ? 1 : 0;
  if (settled_count <= kSettledInvoicesKept) return;
  size_t drop = settled_count - kSettledInvoicesKept;
  auto* invoices = state.mutable_invoices();
  google::protobuf::RepeatedPtrField<v1::InvoiceState> kept;
  for (auto& invoice : *invoices) {
    if (drop > 0 && settled(invoice.status())) {
      --drop;
      continue;
    }
    *kept.Add() = std::move(invoice);
  }
  invoices->Swap(&kept);
}

}  // namespace

std::expected<std::vector<AccountEvent>, DomainError> decide(const v1::BillingCommand& command,
                                                             const v1::BillingStateSnapshot& state,
                                                             const TenantView& tenant, const Context& context) {
  const bool catalog = context.stream_id == kCatalogStream;
  if (command.has_publish_plan_version() != catalog) {
    return refuse(error_type::invalid_transition, catalog ? "the catalog stream takes only plan versions"
                                                          : "plan versions are published on the catalog stream");
  }
  if (catalog) return publish_plan(command.publish_plan_version(), state);
  if (!tenant.exists) return refuse(error_type::not_found, "the tenant does not exist");
  if (tenant.status == v1::TENANT_STATUS_DELETED) return refuse(error_type::invalid_transition, "the tenant is deleted");
  const bool winding_down = tenant.status == v1::TENANT_STATUS_PENDING_DELETION;
  switch (command.command_case()) {
    case v1::BillingCommand::kStartSubscription:
      if (winding_down) return refuse(error_type::invalid_transition, "the tenant is pending deletion");
      return start(command.start_subscription(), state, tenant, context);
    case v1::BillingCommand::kChangeSubscriptionPlan:
      if (winding_down) return refuse(error_type::invalid_transition, "the tenant is pending deletion");
      return change_plan(command.change_subscription_plan(), state, tenant, context);
    case v1::BillingCommand::kCancelSubscription: return cancel(command.cancel_subscription(), state, context);
    case v1::BillingCommand::kResumeSubscription: return resume(state);
    case v1::BillingCommand::kSetPaymentMethod: {
      if (auto e = check_payment_method(command.set_payment_method().payment_method(), true)) {
        return std::unexpected(validation_failed({*e}));
      }
      v1::BillingEvent event;
      event.mutable_payment_method_set()->set_payment_method(command.set_payment_method().payment_method());
      return single(std::move(event));
    }
    case v1::BillingCommand::kSetTaxRate: {
      const int32_t rate = command.set_tax_rate().tax_rate_bp();
      if (rate < 0 || rate > kTaxRateMaxBp) return invalid("tax_rate_bp", "must be 0 to 10000 (basis points)");
      v1::BillingEvent event;
      event.mutable_tax_rate_set()->set_tax_rate_bp(rate);
      return single(std::move(event));
    }
    case v1::BillingCommand::kCloseBillingPeriod:
      return close_period(command.close_billing_period(), state, tenant, context);
    case v1::BillingCommand::kRecordPayment: return record_payment(command.record_payment(), state, tenant, context);
    case v1::BillingCommand::kVoidInvoice: return void_invoice(command.void_invoice(), state);
    case v1::BillingCommand::kMarkInvoiceUncollectible:
      return mark_uncollectible(command.mark_invoice_uncollectible(), state);
    case v1::BillingCommand::kGrantCredit: return grant_credit(command.grant_credit(), state, context);
    case v1::BillingCommand::kAttachTestClock: return attach_clock(command.attach_test_clock(), state);
    case v1::BillingCommand::kAdvanceTestClock: return advance_clock(command.advance_test_clock(), state);
    case v1::BillingCommand::kIssueCreditNote: return issue_credit_note(command.issue_credit_note(), state, context);
    case v1::BillingCommand::kRefundCredit: return refund_credit(command.refund_credit(), state, context);
    case v1::BillingCommand::kPublishPlanVersion:  // handled above
    case v1::BillingCommand::COMMAND_NOT_SET: break;
  }
  return refuse(error_type::validation_error, "the command is empty", {{"command", "is required"}});
}

void evolve(v1::BillingStateSnapshot& state, const v1::BillingEvent& event) {
  switch (event.event_case()) {
    case v1::BillingEvent::kSubscriptionStarted: {
      const auto& e = event.subscription_started();
      *state.mutable_plan() = e.plan();
      state.clear_period_plan();
      state.set_started_at_us(e.started_at_us());
      state.set_trial_end_us(e.trial_end_us());
      *state.mutable_anchor() = e.anchor();
      *state.mutable_period() = e.period();
      state.set_proration(e.proration());
      state.set_payment_method(e.payment_method());
      state.set_tax_rate_bp(e.tax_rate_bp());
      state.clear_changes();
      state.clear_scheduled_plan();
      state.set_cancel_at_period_end(false);
      state.clear_cancel_reason();
      state.set_canceled_at_us(0);
      break;
    }
    case v1::BillingEvent::kSubscriptionPlanChanged: {
      const auto& e = event.subscription_plan_changed();
      if (e.prorated()) {
        // The period began on the plan in effect before its first change.
        if (!state.has_period_plan()) *state.mutable_period_plan() = state.plan();
        *state.add_changes() = e;
      } else if (state.changes_size() == 0) {
        state.clear_period_plan();  // the new plan from the period's start
      }
      *state.mutable_plan() = e.plan();
      state.clear_scheduled_plan();
      break;
    }
    case v1::BillingEvent::kSubscriptionChangeScheduled:
      *state.mutable_scheduled_plan() = event.subscription_change_scheduled().plan();
      break;
    case v1::BillingEvent::kSubscriptionCancellationScheduled:
      state.set_cancel_at_period_end(true);
      state.set_cancel_reason(event.subscription_cancellation_scheduled().reason());
      break;
    case v1::BillingEvent::kSubscriptionResumed:
      state.set_cancel_at_period_end(false);
      state.clear_cancel_reason();
      break;
    case v1::BillingEvent::kSubscriptionCanceled: {
      const int64_t at = event.subscription_canceled().at_us();
      if (period_from_wire(state.period()).contains(at) && at > state.period().start_us()) state.set_canceled_at_us(at);
      state.set_cancel_at_period_end(false);
      state.clear_scheduled_plan();
      break;
    }
    case v1::BillingEvent::kPaymentMethodSet:
      state.set_payment_method(event.payment_method_set().payment_method());
      break;
    case v1::BillingEvent::kTaxRateSet: state.set_tax_rate_bp(event.tax_rate_set().tax_rate_bp()); break;
    case v1::BillingEvent::kBillingPeriodClosed: {
      const auto& e = event.billing_period_closed();
      if (e.has_next_period()) {
        *state.mutable_period() = e.next_period();
      } else {
        state.clear_period();
      }
      state.clear_period_plan();  // the next period starts on the current plan
      state.clear_changes();
      state.set_canceled_at_us(0);
      break;
    }
    case v1::BillingEvent::kInvoiceDrafted: {
      const auto& e = event.invoice_drafted();
      auto* invoice = state.add_invoices();
      invoice->set_invoice_id(e.invoice_id());
      invoice->set_status(v1::INVOICE_STATUS_DRAFT);
      invoice->set_currency(e.currency());
      invoice->set_total_minor(e.total_minor());
      invoice->set_tax_minor(e.tax_minor());
      *invoice->mutable_period() = e.period();
      break;
    }
    case v1::BillingEvent::kInvoiceFinalized: {
      const auto& e = event.invoice_finalized();
      if (auto* invoice = find_mutable(state, e.invoice_id())) {
        invoice->set_number(e.number());
        invoice->set_display_number(e.display_number());
        invoice->set_status(e.paid() ? v1::INVOICE_STATUS_PAID : v1::INVOICE_STATUS_OPEN);
        *invoice->mutable_entries() = e.entries();
      }
      state.set_invoices_issued(std::max(state.invoices_issued(), e.number()));
      post(state, e.entries());
      prune(state);
      break;
    }
    case v1::BillingEvent::kPaymentSucceeded: {
      const auto& e = event.payment_succeeded();
      if (auto* invoice = find_mutable(state, e.invoice_id())) {
        if (!e.payment_id().empty()) invoice->add_payment_ids(e.payment_id());
        if (invoice->status() != v1::INVOICE_STATUS_PAID) {
          invoice->set_paid_minor(invoice->paid_minor() + e.amount_minor());
          if (invoice->paid_minor() + invoice->credited_minor() >= invoice->total_minor()) {
            invoice->set_status(v1::INVOICE_STATUS_PAID);
            invoice->set_next_retry_at_us(0);
          }
        }
      }
      post(state, e.entries());
      prune(state);
      break;
    }
    case v1::BillingEvent::kPaymentFailed: {
      const auto& e = event.payment_failed();
      if (auto* invoice = find_mutable(state, e.invoice_id())) {
        if (invoice->failures() == 0) invoice->set_first_failure_at_us(e.at_us());
        invoice->set_failures(invoice->failures() + 1);
        invoice->set_next_retry_at_us(e.next_retry_at_us());
        if (!e.payment_id().empty()) invoice->add_payment_ids(e.payment_id());
      }
      break;
    }
    case v1::BillingEvent::kSubscriptionStatusChanged:
      state.set_status(event.subscription_status_changed().to());
      break;
    case v1::BillingEvent::kInvoiceVoided: {
      const auto& e = event.invoice_voided();
      if (auto* invoice = find_mutable(state, e.invoice_id())) {
        invoice->set_status(v1::INVOICE_STATUS_VOID);
        invoice->set_next_retry_at_us(0);
      }
      post(state, e.entries());
      prune(state);
      break;
    }
    case v1::BillingEvent::kInvoiceMarkedUncollectible:
      if (auto* invoice = find_mutable(state, event.invoice_marked_uncollectible().invoice_id())) {
        invoice->set_status(v1::INVOICE_STATUS_UNCOLLECTIBLE);
        invoice->set_next_retry_at_us(0);
      }
      prune(state);
      break;
    case v1::BillingEvent::kCreditGranted: post(state, event.credit_granted().entries()); break;
    case v1::BillingEvent::kCreditNoteIssued: {
      const auto& e = event.credit_note_issued();
      if (auto* invoice = find_mutable(state, e.invoice_id())) {
        invoice->set_credited_minor(invoice->credited_minor() + e.amount_minor());
        if (invoice->status() != v1::INVOICE_STATUS_PAID &&
            invoice->paid_minor() + invoice->credited_minor() >= invoice->total_minor()) {
          invoice->set_status(v1::INVOICE_STATUS_PAID);  // nothing left to collect
          invoice->set_next_retry_at_us(0);
        }
      }
      post(state, e.entries());
      prune(state);
      break;
    }
    case v1::BillingEvent::kRefundIssued: post(state, event.refund_issued().entries()); break;
    case v1::BillingEvent::kTestClockAttached: state.set_test_clock_us(event.test_clock_attached().now_us()); break;
    case v1::BillingEvent::kTestClockAdvanced: state.set_test_clock_us(event.test_clock_advanced().to_us()); break;
    case v1::BillingEvent::kPlanVersionPublished: {
      const auto& plan = event.plan_version_published().plan();
      (*state.mutable_catalog())[plan.plan_id()] = plan;
      break;
    }
    case v1::BillingEvent::EVENT_NOT_SET: break;
  }
}

const v1::PlanSpec& period_plan(const v1::BillingStateSnapshot& state) {
  return state.has_period_plan() ? state.period_plan() : state.plan();
}

std::string invoice_id(uint64_t number) { return "in_" + six_digits(number); }

const v1::InvoiceState* find_invoice(const v1::BillingStateSnapshot& state, std::string_view id) {
  for (const auto& invoice : state.invoices()) {
    if (invoice.invoice_id() == id) return &invoice;
  }
  return nullptr;
}

int64_t amount_due_minor(const v1::InvoiceState& invoice) {
  if (invoice.status() != v1::INVOICE_STATUS_OPEN && invoice.status() != v1::INVOICE_STATUS_UNCOLLECTIBLE) return 0;
  return std::max<int64_t>(0, invoice.total_minor() - invoice.paid_minor() - invoice.credited_minor());
}

int64_t account_balance_minor(const v1::BillingStateSnapshot& state, std::string_view currency,
                              std::string_view account) {
  auto it = state.ledger().find(std::string(currency) + "/" + std::string(account));
  if (it == state.ledger().end()) return 0;
  return it->second.debits_minor() - it->second.credits_minor();
}

int64_t credit_balance_minor(const v1::BillingStateSnapshot& state, std::string_view currency) {
  return -account_balance_minor(state, currency, "credits");
}

int64_t billing_now(const v1::BillingStateSnapshot& state, int64_t now_us) {
  return state.test_clock_us() > 0 ? state.test_clock_us() : now_us;
}

bool writes_allowed(v1::SubscriptionStatus status) { return status != v1::SUBSCRIPTION_STATUS_DEGRADED; }

const char* status_name(v1::SubscriptionStatus status) {
  switch (status) {
    case v1::SUBSCRIPTION_STATUS_TRIALING: return "trialing";
    case v1::SUBSCRIPTION_STATUS_ACTIVE: return "active";
    case v1::SUBSCRIPTION_STATUS_PAST_DUE: return "past_due";
    case v1::SUBSCRIPTION_STATUS_DEGRADED: return "degraded";
    case v1::SUBSCRIPTION_STATUS_SUSPENDED: return "suspended";
    case v1::SUBSCRIPTION_STATUS_CANCELED: return "canceled";
    default: return "none";
  }
}

const char* invoice_status_name(v1::InvoiceStatus status) {
  switch (status) {
    case v1::INVOICE_STATUS_DRAFT: return "draft";
    case v1::INVOICE_STATUS_OPEN: return "open";
    case v1::INVOICE_STATUS_PAID: return "paid";
    case v1::INVOICE_STATUS_VOID: return "void";
    case v1::INVOICE_STATUS_UNCOLLECTIBLE: return "uncollectible";
    default: return "unknown";
  }
}

}  // namespace tenantry::domain::billing
