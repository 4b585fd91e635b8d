// Plan versions and the invoice calculator: base fees, prorated changes, usage lines,
// tax and credits, each line explainable; and the preview of the next invoice.
#include <catch2/catch.hpp>

#include "domain/billing/invoice.h"
#include "domain/billing_test_support.h"

using namespace tenantry::domain;
using namespace tenantry::domain::billing;

namespace {

using tenantry::domain::billing::testing::d;

int64_t at(int year, unsigned month, unsigned day, int64_t hours = 0) { return utc_us(year, month, day, hours * 3600); }

const Period kAugust{at(2024, 8, 1), at(2024, 9, 1)};

PlanVersion monthly(const std::string& id, const std::string& name, std::string_view fee) {
  PlanVersion plan;
  plan.plan_id = id;
  plan.name = name;
  plan.base_fee = d(fee);
  return plan;
}

PlanVersion builtin(std::string_view id) {
  auto plan = builtin_plan(id);
  REQUIRE(plan.has_value());
  return *plan;
}

Invoice calculated(const InvoiceInput& input) {
  auto invoice = calculate_invoice(input);
  if (!invoice) FAIL(invoice.error().message << ": " << (invoice.error().fields.empty() ? "" : invoice.error().fields[0].field));
  return *invoice;
}

std::vector<std::string> fields_of(const DomainError& error) {
  std::vector<std::string> out;
  for (const auto& field : error.fields) out.push_back(field.field);
  return out;
}

}  // namespace

TEST_CASE("billing invoice: $10 to $20 a month at once, exactly halfway, by the second, nets +$5.00",
          "[domain][billing]") {
  InvoiceInput input;
  input.plan = monthly("starter", "Starter", "10");
  input.period = kAugust;
  input.changes = {PlanChange{at(2024, 8, 16, 12), monthly("growth", "Growth", "20")}};
  input.proration = ProrationUnit::second;
  const Invoice invoice = calculated(input);
  REQUIRE(invoice.lines.size() == 3);
  CHECK(invoice.lines[0].kind == LineKind::base_fee);
  CHECK(invoice.lines[0].amount_minor == 1000);
  CHECK(invoice.lines[1].kind == LineKind::unused_time);
  CHECK(invoice.lines[1].amount_minor == -500);
  CHECK(invoice.lines[1].share == Fraction{1, 2});
  CHECK(invoice.lines[1].description == "Unused time on Starter (starter v1) from 2024-08-16T12:00:00Z, 1/2 of the period");
  CHECK(invoice.lines[2].kind == LineKind::remaining_time);
  CHECK(invoice.lines[2].amount_minor == 1000);
  CHECK(invoice.lines[2].description == "Remaining time on Growth (growth v1) from 2024-08-16T12:00:00Z, 1/2 of the period");
  // The known answer: the change nets +$5.00.
  CHECK(invoice.lines[1].amount_minor + invoice.lines[2].amount_minor == 500);
  CHECK(invoice.subtotal_minor == 1500);
  CHECK(invoice.total_minor == 1500);

  // Billed when the change happens (fees in advance): the proration alone, +$5.00.
  input.bill_base_fee = false;
  input.bill_usage = false;
  const Invoice at_change = calculated(input);
  REQUIRE(at_change.lines.size() == 2);
  CHECK(at_change.total_minor == 500);
}

TEST_CASE("billing invoice: a $50 monthly plan starting August 10, by the day, first invoices $35.48",
          "[domain][billing]") {
  auto period = period_containing(BillingAnchor{1, 1, 0}, Interval::month, at(2024, 8, 10));
  REQUIRE(period.has_value());
  InvoiceInput input;
  input.plan = monthly("fifty", "Fifty", "50");
  input.period = *period;
  input.active_from_us = at(2024, 8, 10);
  input.proration = ProrationUnit::day;
  const Invoice invoice = calculated(input);
  REQUIRE(invoice.lines.size() == 1);
  CHECK(invoice.lines[0].share == Fraction{22, 31});
  CHECK(invoice.lines[0].exact_amount == Exact::of(d("50")));
  CHECK(invoice.lines[0].amount_minor == 3548);
  CHECK(invoice.total_minor == 3548);
  CHECK(invoice.lines[0].description == "Fifty (fifty v1) base fee, 2024-08-01 to 2024-09-01, 22/31 of the period");
}

TEST_CASE("billing invoice: usage lines per meter, included units, tax and credits", "[domain][billing]") {
  PlanVersion plan = monthly("metered", "Metered", "0");
  plan.charges["api_calls"] = MeterCharge{
      0, VolumeModel{{Tier{0, 10'000, d("0.0010"), d("10")}, Tier{10'001, 50'000, d("0.0008"), d("10")},
                      Tier{50'001, 100'000, d("0.0006"), d("10")}, Tier{100'001, std::nullopt, d("0.0004"), d("10")}}}};
  plan.charges["payments"] = MeterCharge{0, GraduatedPercentageModel{{PercentTier{0, 100'000, d("1"), d("200")},
                                                                      PercentTier{100'001, 1'000'000, d("2"), d("300")}}}};
  REQUIRE(check_plan(plan).empty());
  InvoiceInput input;
  input.plan = plan;
  input.period = kAugust;
  input.usage["api_calls"].units = 65'000;
  input.usage["payments"].transactions_minor = {50'000, 55'000, 400'000};
  input.usage["unpriced"].units = 7;  // a meter the plan does not price
  input.tax_rate_bp = 2'000;
  input.credit_balance_minor = 10'000;
  const Invoice invoice = calculated(input);
  REQUIRE(invoice.lines.size() == 3);
  CHECK(invoice.lines[0].amount_minor == 0);
  const InvoiceLine& calls = invoice.lines[1];
  CHECK(calls.kind == LineKind::usage);
  CHECK(calls.meter == "api_calls");
  CHECK(calls.model == "volume");
  CHECK(calls.quantity == 65'000);
  CHECK(calls.amount_minor == 4900);
  CHECK(calls.description == "api_calls: 65000 units, volume pricing: tier 3: 65000 × 0.0006, tier 3: flat fee 10");
  const InvoiceLine& payments = invoice.lines[2];
  CHECK(payments.quantity == 3);
  CHECK(payments.amount_minor == 59100);
  CHECK(payments.description ==
        "payments: 3 transactions, graduated_percentage pricing: tier 1: 1% of 1000.00, tier 1: flat fee 200, "
        "tier 2: 2% of 4050.00, tier 2: flat fee 300");
  CHECK(invoice.subtotal_minor == 64'000);
  CHECK(invoice.tax_minor == 12'800);
  CHECK(invoice.credits_applied_minor == 10'000);
  CHECK(invoice.total_minor == 66'800);
  CHECK(invoice.credit_balance_after_minor == 0);

  // Included units come off before pricing: pro includes 1,000,000 calls and 100 GB.
  InvoiceInput pro;
  pro.plan = builtin("pro");
  pro.period = kAugust;
  pro.usage["api_calls"].units = 1'065'000;
  pro.usage["storage_gb"].units = 150;
  const Invoice pro_invoice = calculated(pro);
  REQUIRE(pro_invoice.lines.size() == 3);
  CHECK(pro_invoice.lines[0].amount_minor == 9'900);
  CHECK(pro_invoice.lines[1].included_units == 1'000'000);
  CHECK(pro_invoice.lines[1].amount_minor == 3'900);  // 65,000 × $0.0006
  CHECK(pro_invoice.lines[2].included_units == 100);
  CHECK(pro_invoice.lines[2].unit_amount == d("0.20"));
  CHECK(pro_invoice.lines[2].amount_minor == 1'000);  // 50 × $0.20
  CHECK(pro_invoice.total_minor == 14'800);

  // Tax is rounded once on the subtotal, half to even.
  InvoiceInput taxed;
  taxed.plan = monthly("t", "T", "10");
  taxed.period = kAugust;
  taxed.tax_rate_bp = 5;  // 0.05% of $10.00 is half a cent: to the even 0
  CHECK(calculated(taxed).tax_minor == 0);
  taxed.plan = monthly("t", "T", "30");  // 1.5 cents: to the even 2
  CHECK(calculated(taxed).tax_minor == 2);
  taxed.tax_rate_bp = 725;
  taxed.plan = monthly("t", "T", "49.30");  // 357.425 cents
  CHECK(calculated(taxed).tax_minor == 357);
  // A credit balance larger than what is due leaves the rest.
  taxed.credit_balance_minor = 100'000;
  const Invoice covered = calculated(taxed);
  CHECK(covered.total_minor == 0);
  CHECK(covered.credits_applied_minor == 5'287);
  CHECK(covered.credit_balance_after_minor == 100'000 - 5'287);
}

TEST_CASE("billing invoice: a downgrade waits for the period's end unless asked for at once, then credits",
          "[domain][billing]") {
  const PlanVersion twenty = monthly("growth", "Growth", "20");
  const PlanVersion ten = monthly("starter", "Starter", "10");
  CHECK(change_direction(ten, twenty) == ChangeDirection::upgrade);
  CHECK(change_direction(twenty, ten) == ChangeDirection::downgrade);
  CHECK(change_direction(ten, ten) == ChangeDirection::lateral);
  CHECK(change_timing(ChangeDirection::upgrade, false) == ChangeTiming::immediately);
  CHECK(change_timing(ChangeDirection::downgrade, false) == ChangeTiming::at_period_end);
  CHECK(change_timing(ChangeDirection::downgrade, true) == ChangeTiming::immediately);
  // A yearly plan compares by its year: $100 a year is cheaper than $10 a month.
  PlanVersion yearly = monthly("annual", "Annual", "100");
  yearly.interval = Interval::year;
  CHECK(change_direction(ten, yearly) == ChangeDirection::downgrade);

  // At once, billed when it happens: the unused dearer time comes back as credit.
  InvoiceInput input;
  input.plan = twenty;
  input.period = kAugust;
  input.changes = {PlanChange{at(2024, 8, 16, 12), ten}};
  input.bill_base_fee = false;
  input.bill_usage = false;
  input.tax_rate_bp = 2'000;
  input.credit_balance_minor = 250;
  const Invoice credit = calculated(input);
  REQUIRE(credit.lines.size() == 2);
  CHECK(credit.lines[0].amount_minor == -1'000);
  CHECK(credit.lines[1].amount_minor == 500);
  CHECK(credit.subtotal_minor == -500);
  CHECK(credit.tax_minor == -100);
  CHECK(credit.total_minor == 0);
  CHECK(credit.credits_applied_minor == 0);
  CHECK(credit.credit_balance_after_minor == 850);
}

TEST_CASE("billing invoice: the preview of the next invoice", "[domain][billing]") {
  PreviewInput input;
  input.plan = builtin("pro");
  input.anchor = BillingAnchor{1, 1, 0};
  input.now_us = at(2024, 8, 20);
  input.active_from_us = at(2024, 3, 5);  // long before this period: ignored
  input.usage_to_date["api_calls"].units = 1'010'000;
  auto preview = preview_invoice(input);
  REQUIRE(preview.has_value());
  CHECK(preview->preview);
  CHECK(preview->period == kAugust);
  REQUIRE(preview->lines.size() == 3);
  CHECK(preview->lines[0].amount_minor == 9'900);
  CHECK(preview->lines[1].amount_minor == 1'000);  // 10,000 over the included at $0.0010
  CHECK(preview->total_minor == 10'900);

  // What upgrading to enterprise now would cost: 12 of 31 days left.
  input.changes = {PlanChange{input.now_us, builtin("enterprise")}};
  auto upgrade = preview_invoice(input);
  REQUIRE(upgrade.has_value());
  REQUIRE(upgrade->lines.size() == 5);
  CHECK(upgrade->lines[1].amount_minor == -3'832);  // $99 × 12/31
  CHECK(upgrade->lines[2].amount_minor == 38'671);  // $999 × 12/31
  CHECK(upgrade->lines[3].plan_id == "enterprise");  // usage priced by the plan at the period's end
  CHECK(upgrade->lines[3].amount_minor == 0);        // within enterprise's 10,000,000 included calls
}

TEST_CASE("billing invoice: bad input is a typed error naming the field", "[domain][billing]") {
  InvoiceInput good;
  good.plan = builtin("basic");
  good.period = kAugust;
  REQUIRE(calculate_invoice(good).has_value());

  auto with = [&](auto change) {
    InvoiceInput input = good;
    change(input);
    auto invoice = calculate_invoice(input);
    REQUIRE_FALSE(invoice.has_value());
    return invoice.error();
  };
  CHECK(fields_of(with([](InvoiceInput& i) { i.tax_rate_bp = 10'001; })) == std::vector<std::string>{"tax_rate_bp"});
  CHECK(fields_of(with([](InvoiceInput& i) { i.credit_balance_minor = -1; })) ==
        std::vector<std::string>{"credit_balance_minor"});
  CHECK(fields_of(with([](InvoiceInput& i) { i.active_from_us = at(2024, 9, 1); })) ==
        std::vector<std::string>{"active_from_us"});
  CHECK(fields_of(with([](InvoiceInput& i) { i.plan.currency = "XYZ"; })) == std::vector<std::string>{"plan.currency"});
  CHECK(fields_of(with([](InvoiceInput& i) {
          i.plan.charges["api_calls"].model = GraduatedModel{{Tier{0, 100, d("1"), {}}, Tier{50, std::nullopt, d("1"), {}}}};
        })) == std::vector<std::string>{"plan.charges.api_calls.tiers[1].from"});
  CHECK(fields_of(with([](InvoiceInput& i) { i.usage["api_calls"].units = -3; })) ==
        std::vector<std::string>{"usage.api_calls.units"});
  CHECK(fields_of(with([](InvoiceInput& i) {
          PlanVersion euro = builtin("pro");
          euro.currency = "EUR";
          i.changes = {PlanChange{at(2024, 8, 10), euro}};
        })) == std::vector<std::string>{"changes[0].to.currency"});
  CHECK(fields_of(with([](InvoiceInput& i) {
          i.active_from_us = at(2024, 8, 10);
          i.changes = {PlanChange{at(2024, 8, 5), builtin("pro")}};
        })) == std::vector<std::string>{"changes[0].at_us"});
  CHECK(fields_of(with([](InvoiceInput& i) {
          i.changes = {PlanChange{at(2024, 8, 20), builtin("pro")}, PlanChange{at(2024, 8, 10), builtin("enterprise")}};
        })) == std::vector<std::string>{"changes[1].at_us"});
  CHECK(with([](InvoiceInput& i) { i.plan.base_fee = d("-1"); }).type == error_type::validation_error);

  const DomainError beyond = with([](InvoiceInput& i) {
    i.plan.charges["api_calls"].model = GraduatedModel{{Tier{0, 100, d("1"), {}}}};
    i.plan.charges["api_calls"].included_units = 0;
    i.usage["api_calls"].units = 101;
  });
  CHECK(beyond.type == error_type::limit_exceeded);
  CHECK(fields_of(beyond) == std::vector<std::string>{"usage.api_calls.quantity"});

  const DomainError many = with([](InvoiceInput& i) {
    i.changes.assign(kChangesPerPeriodMax + 1, PlanChange{at(2024, 8, 10), builtin("pro")});
  });
  CHECK(many.type == error_type::limit_exceeded);
}

TEST_CASE("billing plans: built-in plans, custom plans and versions", "[domain][billing]") {
  const auto plans = builtin_plans();
  REQUIRE(plans.size() == 4);
  std::vector<std::string> ids;
  for (const auto& plan : plans) {
    ids.push_back(plan.plan_id);
    INFO(plan.plan_id);
    CHECK(check_plan(plan).empty());
    CHECK(plan.version == 1);
    CHECK(plan.currency == "USD");
  }
  CHECK(ids == std::vector<std::string>{"free", "basic", "pro", "enterprise"});
  CHECK(builtin("free").base_fee == d("0"));
  CHECK(builtin("pro").base_fee == d("99"));
  CHECK(builtin("pro").features.at("feature.sso") == "on");
  CHECK_FALSE(builtin_plan("custom").has_value());
  CHECK(trial_end_us(at(2024, 8, 1), builtin("basic")) == at(2024, 8, 15));

  // A price change is the next version; the rest stays.
  PlanVersion dearer = builtin("pro");
  dearer.base_fee = d("119");
  auto v2 = next_version(builtin("pro"), dearer);
  REQUIRE(v2.has_value());
  CHECK(v2->version == 2);
  CHECK(v2->base_fee == d("119"));
  CHECK(v2->charges == builtin("pro").charges);
  auto v3 = next_version(*v2, [&] {
    PlanVersion p = *v2;
    p.charges["api_calls"].included_units = 2'000'000;
    return p;
  }());
  REQUIRE(v3.has_value());
  CHECK(v3->version == 3);

  auto same = next_version(builtin("pro"), builtin("pro"));
  REQUIRE_FALSE(same.has_value());
  CHECK(fields_of(same.error()) == std::vector<std::string>{"plan"});
  PlanVersion moved = dearer;
  moved.currency = "EUR";
  moved.interval = Interval::year;
  moved.plan_id = "pro2";
  CHECK(fields_of(next_version(builtin("pro"), moved).error()) ==
        std::vector<std::string>{"plan_id", "currency", "interval"});

  PlanVersion custom;
  custom.plan_id = "Bad Id";
  custom.name = "";
  custom.currency = "usd";
  custom.trial_days = 400;
  custom.charges["API-Calls"] = MeterCharge{0, StandardModel{d("1")}};
  custom.charges["payments"] = MeterCharge{5, PercentageModel{d("1"), {}, std::nullopt, std::nullopt}};
  std::vector<std::string> expected = {"plan_id", "name", "currency", "trial_days", "charges.API-Calls",
                                       "charges.payments.included_units"};
  std::vector<std::string> got;
  for (const auto& error : check_plan(custom)) got.push_back(error.field);
  CHECK(got == expected);
}
