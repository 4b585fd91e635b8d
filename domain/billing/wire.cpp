#include "domain/billing/wire.h"

#include <type_traits>
#include <utility>

namespace tenantry::domain::billing {

namespace {

// Collects the field errors of one conversion, each under the caller's prefix.
class Reader {
 public:
  explicit Reader(std::string_view prefix) : prefix_(prefix) {}

  Decimal decimal(const std::string& text, const std::string& field, bool required = true) {
    return decimal(text, [&] { return field; }, required);
  }
  // `field()` names the field, called only for an error (a stored plan is converted
  // on every decision that reads it, and nearly always reads well).
  template <typename Field>
  Decimal decimal(const std::string& text, const Field& field, bool required = true)
    requires std::is_invocable_r_v<std::string, const Field&>
  {
    if (text.empty() && !required) return Decimal{};
    auto parsed = parse_decimal(text, {});
    if (!parsed) {
      // parse_decimal names the field it was given (none here): the error is named here.
      errors_.push_back({at(field()), parsed.error().fields.empty() ? parsed.error().message
                                                                    : parsed.error().fields.front().message});
      return Decimal{};
    }
    return *parsed;
  }
  void fail(const std::string& field, std::string message) { errors_.push_back({at(field), std::move(message)}); }
  std::string at(const std::string& field) const {
    if (prefix_.empty()) return field;
    return field.empty() ? std::string(prefix_) : std::string(prefix_) + "." + field;
  }
  std::vector<FieldError>& errors() { return errors_; }

 private:
  std::string_view prefix_;
  std::vector<FieldError> errors_;
};

std::vector<Tier> tiers_from(Reader& in, const v1::TieredCharge& charge, const std::string& at) {
  std::vector<Tier> tiers;
  for (int i = 0; i < charge.tiers_size(); ++i) {
    const auto& t = charge.tiers(i);
    auto field = [&](const char* leaf) { return at + ".tiers[" + std::to_string(i) + "]." + leaf; };
    Tier tier;
    tier.from = t.from();
    if (t.has_to()) tier.to = t.to();
    tier.unit_price = in.decimal(t.unit_price(), [&] { return field("unit_price"); }, false);
    tier.flat_fee = in.decimal(t.flat_fee(), [&] { return field("flat_fee"); }, false);
    tiers.push_back(tier);
  }
  return tiers;
}

v1::TieredCharge tiers_to(const std::vector<Tier>& tiers) {
  v1::TieredCharge out;
  for (const auto& tier : tiers) {
    auto* t = out.add_tiers();
    t->set_from(tier.from);
    if (tier.to) t->set_to(*tier.to);
    t->set_unit_price(to_string(tier.unit_price));
    t->set_flat_fee(to_string(tier.flat_fee));
  }
  return out;
}

std::optional<ChargeModel> model_from(Reader& in, const v1::MeterPrice& price, const std::string& at) {
  switch (price.model_case()) {
    case v1::MeterPrice::kStandard:
      return StandardModel{in.decimal(price.standard().unit_price(), [&] { return at + ".standard.unit_price"; })};
    case v1::MeterPrice::kGraduated: return GraduatedModel{tiers_from(in, price.graduated(), at + ".graduated")};
    case v1::MeterPrice::kVolume: return VolumeModel{tiers_from(in, price.volume(), at + ".volume")};
    case v1::MeterPrice::kPackage: {
      const auto& p = price.package();
      return PackageModel{in.decimal(p.package_price(), [&] { return at + ".package.package_price"; }),
                          p.package_size(), p.free_units()};
    }
    case v1::MeterPrice::kPercentage: {
      const auto& p = price.percentage();
      PercentageModel model;
      model.percent = in.decimal(p.percent(), [&] { return at + ".percentage.percent"; });
      model.fixed_fee = in.decimal(p.fixed_fee(), [&] { return at + ".percentage.fixed_fee"; }, false);
      if (p.has_min_per_transaction()) {
        model.min_per_transaction =
            in.decimal(p.min_per_transaction(), [&] { return at + ".percentage.min_per_transaction"; });
      }
      if (p.has_max_per_transaction()) {
        model.max_per_transaction =
            in.decimal(p.max_per_transaction(), [&] { return at + ".percentage.max_per_transaction"; });
      }
      return model;
    }
    case v1::MeterPrice::kGraduatedPercentage: {
      GraduatedPercentageModel model;
      const auto& tiers = price.graduated_percentage().tiers();
      for (int i = 0; i < tiers.size(); ++i) {
        const auto& t = tiers[i];
        auto field = [&](const char* leaf) {
          return at + ".graduated_percentage.tiers[" + std::to_string(i) + "]." + leaf;
        };
        PercentTier tier;
        tier.from_minor = t.from_minor();
        if (t.has_to_minor()) tier.to_minor = t.to_minor();
        tier.percent = in.decimal(t.percent(), [&] { return field("percent"); });
        tier.flat_fee = in.decimal(t.flat_fee(), [&] { return field("flat_fee"); }, false);
        model.tiers.push_back(tier);
      }
      return model;
    }
    case v1::MeterPrice::MODEL_NOT_SET: break;
  }
  in.fail(at, "a charge model is required (standard, graduated, volume, package, percentage, graduated_percentage)");
  return std::nullopt;
}

struct ModelToWire {
  v1::MeterPrice& out;
  void operator()(const StandardModel& m) const { out.mutable_standard()->set_unit_price(to_string(m.unit_price)); }
  void operator()(const GraduatedModel& m) const { *out.mutable_graduated() = tiers_to(m.tiers); }
  void operator()(const VolumeModel& m) const { *out.mutable_volume() = tiers_to(m.tiers); }
  void operator()(const PackageModel& m) const {
    auto* p = out.mutable_package();
    p->set_package_price(to_string(m.package_price));
    p->set_package_size(m.package_size);
    p->set_free_units(m.free_units);
  }
  void operator()(const PercentageModel& m) const {
    auto* p = out.mutable_percentage();
    p->set_percent(to_string(m.percent));
    p->set_fixed_fee(to_string(m.fixed_fee));
    if (m.min_per_transaction) p->set_min_per_transaction(to_string(*m.min_per_transaction));
    if (m.max_per_transaction) p->set_max_per_transaction(to_string(*m.max_per_transaction));
  }
  void operator()(const GraduatedPercentageModel& m) const {
    auto* p = out.mutable_graduated_percentage();
    for (const auto& tier : m.tiers) {
      auto* t = p->add_tiers();
      t->set_from_minor(tier.from_minor);
      if (tier.to_minor) t->set_to_minor(*tier.to_minor);
      t->set_percent(to_string(tier.percent));
      t->set_flat_fee(to_string(tier.flat_fee));
    }
  }
};

}  // namespace

std::expected<PlanVersion, DomainError> plan_from_wire(const v1::PlanSpec& spec, std::string_view prefix) {
  Reader in(prefix);
  PlanVersion plan;
  plan.plan_id = spec.plan_id();
  plan.version = spec.version();
  plan.name = spec.name();
  plan.currency = spec.currency();
  plan.base_fee = in.decimal(spec.base_fee(), "base_fee", false);
  if (auto interval = interval_from(spec.interval())) {
    plan.interval = *interval;
  } else {
    in.fail("interval", "must be month or year");
  }
  plan.trial_days = spec.trial_days();
  for (const auto& [meter, price] : spec.charges()) {
    const std::string at = "charges." + meter.substr(0, 64);
    if (auto model = model_from(in, price, at)) plan.charges[meter] = MeterCharge{price.included_units(), *model};
  }
  plan.features = std::map<std::string, std::string>(spec.features().begin(), spec.features().end());
  if (spec.has_dunning()) {
    const auto& d = spec.dunning();
    plan.dunning.retry_after_hours.assign(d.retry_after_hours().begin(), d.retry_after_hours().end());
    plan.dunning.degrade_after_failures = d.degrade_after_failures();
    plan.dunning.suspend_after_failures = d.suspend_after_failures();
  }
  if (in.errors().empty()) {
    for (auto& error : check_plan(plan)) in.fail(error.field, std::move(error.message));
  }
  if (!in.errors().empty()) return std::unexpected(validation_failed(std::move(in.errors())));
  return plan;
}

v1::PlanSpec plan_to_wire(const PlanVersion& plan) {
  v1::PlanSpec spec;
  spec.set_plan_id(plan.plan_id);
  spec.set_version(plan.version);
  spec.set_name(plan.name);
  spec.set_currency(plan.currency);
  spec.set_base_fee(to_string(plan.base_fee));
  spec.set_interval(interval_name(plan.interval));
  spec.set_trial_days(plan.trial_days);
  for (const auto& [meter, charge] : plan.charges) {
    v1::MeterPrice price;
    price.set_included_units(charge.included_units);
    std::visit(ModelToWire{price}, charge.model);
    (*spec.mutable_charges())[meter] = std::move(price);
  }
  for (const auto& [key, value] : plan.features) (*spec.mutable_features())[key] = value;
  auto* dunning = spec.mutable_dunning();
  for (uint32_t hours : plan.dunning.retry_after_hours) dunning->add_retry_after_hours(hours);
  dunning->set_degrade_after_failures(plan.dunning.degrade_after_failures);
  dunning->set_suspend_after_failures(plan.dunning.suspend_after_failures);
  return spec;
}

v1::Period period_to_wire(const Period& period) {
  v1::Period out;
  out.set_start_us(period.start_us);
  out.set_end_us(period.end_us);
  return out;
}

v1::BillingAnchorSpec anchor_to_wire(const BillingAnchor& anchor) {
  v1::BillingAnchorSpec out;
  out.set_day(anchor.day);
  out.set_month(anchor.month);
  out.set_time_of_day_us(anchor.time_of_day_us);
  return out;
}

v1::LedgerEntry entry_to_wire(const Entry& entry) {
  v1::LedgerEntry out;
  out.set_debit(account_name(entry.debit));
  out.set_credit(account_name(entry.credit));
  out.set_amount_minor(entry.amount_minor);
  out.set_currency(entry.currency);
  out.set_reference(entry.reference);
  return out;
}

std::optional<Entry> entry_from_wire(const v1::LedgerEntry& entry) {
  auto debit = account_from(entry.debit());
  auto credit = account_from(entry.credit());
  if (!debit || !credit) return std::nullopt;
  return Entry{*debit, *credit, entry.amount_minor(), entry.currency(), entry.reference()};
}

void invoice_to_wire(const Invoice& invoice, v1::InvoiceDrafted& out) {
  *out.mutable_period() = period_to_wire(invoice.period);
  out.set_currency(invoice.currency);
  for (const auto& line : invoice.lines) {
    auto* l = out.add_lines();
    l->set_kind(line_kind_name(line.kind));
    l->set_description(line.description);
    l->set_plan_id(line.plan_id);
    l->set_plan_version(line.plan_version);
    l->set_meter(line.meter);
    l->set_model(line.model);
    l->set_quantity(line.quantity);
    l->set_included_units(line.included_units);
    l->set_unit_amount(to_string(line.unit_amount));
    l->set_share_numerator(line.share.numerator);
    l->set_share_denominator(line.share.denominator);
    l->set_exact_amount(line.exact_amount.to_string());
    l->set_amount_minor(line.amount_minor);
  }
  out.set_subtotal_minor(invoice.subtotal_minor);
  out.set_tax_rate_bp(invoice.tax_rate_bp);
  out.set_tax_minor(invoice.tax_minor);
  out.set_credits_applied_minor(invoice.credits_applied_minor);
  out.set_total_minor(invoice.total_minor);
  out.set_credit_balance_after_minor(invoice.credit_balance_after_minor);
}

WireRead billing_command_from_wire(std::string_view type, std::string_view payload, v1::BillingCommand& out) {
  return member_from_wire(out, type, payload);
}
WireRead billing_event_from_wire(std::string_view type, std::string_view payload, v1::BillingEvent& out) {
  return member_from_wire(out, type, payload);
}
bool is_billing_command(std::string_view type) { return names_member(v1::BillingCommand::descriptor(), type); }
bool is_billing_event(std::string_view type) { return names_member(v1::BillingEvent::descriptor(), type); }
std::optional<WireEvent> billing_event_to_wire(const v1::BillingEvent& event) { return member_to_wire(event); }

}  // namespace tenantry::domain::billing
