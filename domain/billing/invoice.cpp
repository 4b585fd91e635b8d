#include "domain/billing/invoice.h"

#include <algorithm>

namespace tenantry::domain::billing {

namespace {

// The error of a piece, with its fields placed under `prefix` ("usage.api_calls").
DomainError prefixed(DomainError error, const std::string& prefix) {
  for (auto& field : error.fields) field.field = field.field.empty() ? prefix : prefix + "." + field.field;
  return error;
}

DomainError too_large(std::string what) {
  return make_error(error_type::limit_exceeded, what + " does not fit in 64-bit minor units");
}

std::string plan_label(const PlanVersion& plan) {
  return plan.name + " (" + plan.plan_id + " v" + std::to_string(plan.version) + ")";
}

std::string share_text(Fraction share) {
  if (share.numerator == share.denominator) return "";
  return ", " + std::to_string(share.numerator) + "/" + std::to_string(share.denominator) + " of the period";
}

std::string describe(const ChargeStep& step, const Currency& currency) {
  const std::string tier = step.tier > 0 ? "tier " + std::to_string(step.tier) + ": " : "";
  switch (step.kind) {
    case StepKind::units:
      return tier + std::to_string(step.quantity) + " × " + to_string(step.rate);
    case StepKind::flat_fee:
      return tier + "flat fee " + to_string(step.rate);
    case StepKind::percent:
      return tier + to_string(step.rate) + "% of " + format_minor(step.quantity, currency);
    case StepKind::fixed_fee:
      return std::to_string(step.quantity) + " × fixed fee " + to_string(step.rate);
    case StepKind::minimum:
      return std::to_string(step.quantity) + " raised to the minimum " + to_string(step.rate);
    case StepKind::maximum:
      return std::to_string(step.quantity) + " capped at the maximum " + to_string(step.rate);
  }
  return "";
}

// A fee line: `fee` × share, rounded once. Credits carry a negated fee.
std::expected<InvoiceLine, DomainError> fee_line(LineKind kind, std::string description, const PlanVersion& plan,
                                                 const Currency& currency, Fraction share, bool credit) {
  InvoiceLine line;
  line.kind = kind;
  line.description = std::move(description) + share_text(share);
  line.plan_id = plan.plan_id;
  line.plan_version = plan.version;
  line.quantity = 1;
  line.unit_amount = plan.base_fee;
  line.share = share;
  line.exact_amount = credit ? Exact::of(plan.base_fee).negated() : Exact::of(plan.base_fee);
  auto amount = round_to_minor(line.exact_amount, currency, share);
  if (!amount) return std::unexpected(too_large("the base fee"));
  line.amount_minor = *amount;
  return line;
}

std::expected<InvoiceLine, DomainError> usage_line(const std::string& meter, const MeterCharge& price,
                                                   const Usage& usage, const PlanVersion& plan,
                                                   const Currency& currency) {
  InvoiceLine line;
  line.kind = LineKind::usage;
  line.plan_id = plan.plan_id;
  line.plan_version = plan.version;
  line.meter = meter;
  line.model = model_name(price.model);
  std::expected<Charge, DomainError> priced;
  std::string what;
  if (prices_transactions(price.model)) {
    line.quantity = static_cast<int64_t>(usage.transactions_minor.size());
    what = std::to_string(line.quantity) + " transactions";
    priced = charge(price.model, usage, currency);
  } else {
    if (usage.units < 0) return std::unexpected(validation_failed({{"usage." + meter + ".units", "must be 0 or more"}}));
    line.quantity = usage.units;
    line.included_units = std::min(usage.units, price.included_units);
    what = std::to_string(usage.units) + " units";
    if (line.included_units > 0) what += " (" + std::to_string(line.included_units) + " included)";
    priced = charge(price.model, Usage{usage.units - line.included_units, {}, 0}, currency);
    if (const auto* standard = std::get_if<StandardModel>(&price.model)) line.unit_amount = standard->unit_price;
  }
  if (!priced) return std::unexpected(prefixed(std::move(priced.error()), "usage." + meter));
  line.exact_amount = priced->amount;
  line.steps = std::move(priced->steps);
  std::string how;
  for (const auto& step : line.steps) how += (how.empty() ? "" : ", ") + describe(step, currency);
  line.description = meter + ": " + what + ", " + line.model + " pricing" + (how.empty() ? "" : ": " + how);
  auto amount = round_to_minor(line.exact_amount, currency);
  if (!amount) return std::unexpected(too_large("the charge for " + meter));
  line.amount_minor = *amount;
  return line;
}

std::vector<FieldError> plan_errors(const PlanVersion& plan, const std::string& prefix) {
  auto errors = check_plan(plan);
  for (auto& error : errors) error.field = prefix + "." + error.field;
  return errors;
}

}  // namespace

const char* line_kind_name(LineKind kind) {
  switch (kind) {
    case LineKind::base_fee: return "base_fee";
    case LineKind::unused_time: return "unused_time";
    case LineKind::remaining_time: return "remaining_time";
    case LineKind::usage: return "usage";
  }
  return "base_fee";
}

std::expected<Invoice, DomainError> calculate_invoice(const InvoiceInput& input) {
  if (input.changes.size() > kChangesPerPeriodMax) {
    return std::unexpected(make_error(error_type::limit_exceeded, "at most 16 plan changes in one period",
                                      {{"changes", "at most 16"}}));
  }
  if (input.usage.size() > kUsageMetersMax) {
    return std::unexpected(make_error(error_type::limit_exceeded, "usage of at most 64 meters",
                                      {{"usage", "at most 64 meters"}}));
  }
  std::vector<FieldError> errors = plan_errors(input.plan, "plan");
  const int64_t active_from = input.active_from_us.value_or(input.period.start_us);
  if (!input.period.contains(active_from)) errors.push_back({"active_from_us", "must lie within the period"});
  int64_t previous_at = active_from;
  for (size_t i = 0; i < input.changes.size(); ++i) {
    const std::string at = "changes[" + std::to_string(i) + "]";
    const PlanChange& change = input.changes[i];
    if (!input.period.contains(change.at_us) || change.at_us < previous_at) {
      errors.push_back({at + ".at_us", "must lie within the period, after the start and the change before"});
    }
    previous_at = std::max(previous_at, change.at_us);
    auto to_errors = plan_errors(change.to, at + ".to");
    errors.insert(errors.end(), to_errors.begin(), to_errors.end());
    if (change.to.currency != input.plan.currency) {
      errors.push_back({at + ".to.currency", "must be the plan's currency, " + input.plan.currency});
    }
    if (change.to.interval != input.plan.interval) {
      errors.push_back({at + ".to.interval", "must be the plan's interval; another interval starts a new period"});
    }
  }
  if (input.tax_rate_bp < 0 || input.tax_rate_bp > kTaxRateMaxBp) {
    errors.push_back({"tax_rate_bp", "must be 0 to 10000 basis points"});
  }
  if (input.credit_balance_minor < 0) errors.push_back({"credit_balance_minor", "must be 0 or more"});
  if (!errors.empty()) return std::unexpected(validation_failed(std::move(errors)));
  const Currency currency = *find_currency(input.plan.currency);

  Invoice invoice;
  invoice.currency = input.plan.currency;
  invoice.period = input.period;
  invoice.tax_rate_bp = input.tax_rate_bp;

  auto share = remaining_share(input.period, active_from, input.proration);
  if (!share) return std::unexpected(share.error());
  if (input.bill_base_fee) {
    auto base = fee_line(LineKind::base_fee,
                         plan_label(input.plan) + " base fee, " + format_date(input.period.start_us) + " to " +
                             format_date(input.period.end_us),
                         input.plan, currency, *share, false);
    if (!base) return std::unexpected(base.error());
    invoice.lines.push_back(std::move(*base));
  }

  const PlanVersion* current = &input.plan;
  for (size_t i = 0; i < input.changes.size(); ++i) {
    const PlanChange& change = input.changes[i];
    auto left = remaining_share(input.period, change.at_us, input.proration);
    if (!left) return std::unexpected(prefixed(left.error(), "changes[" + std::to_string(i) + "]"));
    const std::string from = " from " + format_instant(change.at_us);
    auto unused = fee_line(LineKind::unused_time, "Unused time on " + plan_label(*current) + from, *current,
                           currency, *left, true);
    if (!unused) return std::unexpected(unused.error());
    auto remaining = fee_line(LineKind::remaining_time, "Remaining time on " + plan_label(change.to) + from,
                              change.to, currency, *left, false);
    if (!remaining) return std::unexpected(remaining.error());
    invoice.lines.push_back(std::move(*unused));
    invoice.lines.push_back(std::move(*remaining));
    current = &change.to;
  }

  const Usage no_usage;
  if (input.bill_usage) {
    for (const auto& [meter, price] : current->charges) {
      const auto it = input.usage.find(meter);
      auto line = usage_line(meter, price, it == input.usage.end() ? no_usage : it->second, *current, currency);
      if (!line) return std::unexpected(line.error());
      invoice.lines.push_back(std::move(*line));
    }
  }

  for (const auto& line : invoice.lines) {
    if (__builtin_add_overflow(invoice.subtotal_minor, line.amount_minor, &invoice.subtotal_minor)) {
      return std::unexpected(too_large("the subtotal"));
    }
  }
  auto tax = round_ratio(invoice.subtotal_minor, input.tax_rate_bp, kTaxRateMaxBp);
  int64_t due = 0;
  if (!tax || __builtin_add_overflow(invoice.subtotal_minor, *tax, &due)) return std::unexpected(too_large("the tax"));
  invoice.tax_minor = *tax;
  if (due == INT64_MIN) return std::unexpected(too_large("the amount due"));
  if (due < 0) {
    invoice.total_minor = 0;
    if (__builtin_add_overflow(input.credit_balance_minor, -due, &invoice.credit_balance_after_minor)) {
      return std::unexpected(too_large("the credit balance"));
    }
  } else {
    invoice.credits_applied_minor = std::min(input.credit_balance_minor, due);
    invoice.total_minor = due - invoice.credits_applied_minor;
    invoice.credit_balance_after_minor = input.credit_balance_minor - invoice.credits_applied_minor;
  }
  return invoice;
}

std::expected<Invoice, DomainError> preview_invoice(const PreviewInput& input) {
  auto period = period_containing(input.anchor, input.plan.interval, input.now_us);
  if (!period) return std::unexpected(period.error());
  InvoiceInput invoice_input;
  invoice_input.plan = input.plan;
  invoice_input.period = *period;
  if (input.active_from_us && *input.active_from_us > period->start_us) invoice_input.active_from_us = input.active_from_us;
  invoice_input.changes = input.changes;
  invoice_input.proration = input.proration;
  invoice_input.usage = input.usage_to_date;
  invoice_input.tax_rate_bp = input.tax_rate_bp;
  invoice_input.credit_balance_minor = input.credit_balance_minor;
  auto invoice = calculate_invoice(invoice_input);
  if (invoice) invoice->preview = true;
  return invoice;
}

}  // namespace tenantry::domain::billing
