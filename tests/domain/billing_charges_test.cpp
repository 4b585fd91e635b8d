// Charge models as pure functions from usage to an exact amount, with the known
// answers the billing requirement states.
#include <catch2/catch.hpp>

#include "domain/billing/charges.h"
#include "domain/billing_test_support.h"

using namespace tenantry::domain;
using namespace tenantry::domain::billing;

namespace {

using tenantry::domain::billing::testing::d;

const Currency kUsd = *find_currency("USD");

// An exact amount in cents, rounded once by the billing rule.
int64_t cents(const Exact& amount) {
  auto minor = round_to_minor(amount, kUsd);
  REQUIRE(minor.has_value());
  return *minor;
}

Tier tier(int64_t from, std::optional<int64_t> to, std::string_view price, std::string_view flat = "0") {
  return Tier{from, to, d(price), d(flat)};
}

// 0-10,000 at $0.0010, 10,001-50,000 at $0.0008, 50,001-100,000 at $0.0006, above at
// $0.0004; a flat fee of $10 whichever tier the total falls in.
VolumeModel api_volume() {
  return VolumeModel{{tier(0, 10'000, "0.0010", "10"), tier(10'001, 50'000, "0.0008", "10"),
                      tier(50'001, 100'000, "0.0006", "10"), tier(100'001, std::nullopt, "0.0004", "10")}};
}

// 0-1,000 at 1% plus $200 flat; 1,001-10,000 at 2% plus $300 flat (bounds in cents).
GraduatedPercentageModel payments() {
  return GraduatedPercentageModel{{PercentTier{0, 100'000, d("1"), d("200")},
                                   PercentTier{100'001, 1'000'000, d("2"), d("300")}}};
}

std::vector<std::string> fields_of(const DomainError& error) {
  std::vector<std::string> out;
  for (const auto& field : error.fields) out.push_back(field.field);
  return out;
}

}  // namespace

TEST_CASE("billing charges: volume pricing of 65,000 calls is $49.00", "[domain][billing]") {
  auto charged = charge_volume(api_volume(), 65'000);
  REQUIRE(charged.has_value());
  CHECK(cents(charged->amount) == 4900);
  // All 65,000 at the third tier's $0.0006 = $39, plus the $10 flat fee.
  REQUIRE(charged->steps.size() == 2);
  CHECK(charged->steps[0] == ChargeStep{StepKind::units, 3, 65'000, d("0.0006"), Exact::of(d("39"))});
  CHECK(charged->steps[1] == ChargeStep{StepKind::flat_fee, 3, 1, d("10"), Exact::of(d("10"))});

  // The boundaries are inclusive: 10,000 is in the first tier, 10,001 in the second.
  CHECK(cents(charge_volume(api_volume(), 10'000)->amount) == 2000);
  CHECK(charge_volume(api_volume(), 10'001)->amount == Exact::of(d("18.0008")));
  CHECK(cents(charge_volume(api_volume(), 10'001)->amount) == 1800);
  CHECK(cents(charge_volume(api_volume(), 200'000)->amount) == 9000);
  CHECK(charge_volume(api_volume(), 0)->amount == Exact{});
}

TEST_CASE("billing charges: package pricing of $5 per 100 with the first 100 free, for 201 units, is $10.00",
          "[domain][billing]") {
  const PackageModel model{d("5"), 100, 100};
  auto charged = charge_package(model, 201);
  REQUIRE(charged.has_value());
  CHECK(cents(charged->amount) == 1000);
  // 100 free, then 101 units: two packages, the second partial and counted whole.
  REQUIRE(charged->steps.size() == 2);
  CHECK(charged->steps[0].quantity == 100);
  CHECK(charged->steps[1].quantity == 2);
  CHECK(cents(charge_package(model, 100)->amount) == 0);
  CHECK(cents(charge_package(model, 101)->amount) == 500);
  CHECK(cents(charge_package(model, 300)->amount) == 1000);
  CHECK(cents(charge_package(model, 0)->amount) == 0);
  CHECK(cents(charge_package(PackageModel{d("5"), 100, 0}, 1)->amount) == 500);
}

TEST_CASE("billing charges: graduated percentage over the period's volume charges $205, $306 and $80",
          "[domain][billing]") {
  const std::vector<int64_t> transactions = {50'000, 55'000, 400'000};  // $500, $550, $4,000
  auto charged = charge_graduated_percentage(payments(), transactions, kUsd);
  REQUIRE(charged.has_value());
  REQUIRE(charged->per_transaction.size() == 3);
  // $500 at 1% = $5, plus the first tier's $200 flat fee on entering it.
  CHECK(cents(charged->per_transaction[0]) == 20500);
  // $550 spans $500-$1,050: $500 at 1% = $5, $50 at 2% = $1, plus the second tier's $300.
  CHECK(cents(charged->per_transaction[1]) == 30600);
  // $4,000 all in the second tier at 2%, already entered: no flat fee.
  CHECK(cents(charged->per_transaction[2]) == 8000);
  CHECK(cents(charged->amount) == 59100);
  // Explained per tier: the volume in each and the flat fees.
  REQUIRE(charged->steps.size() == 4);
  CHECK(charged->steps[0] == ChargeStep{StepKind::percent, 1, 100'000, d("1"), Exact::of(d("10"))});
  CHECK(charged->steps[1] == ChargeStep{StepKind::flat_fee, 1, 1, d("200"), Exact::of(d("200"))});
  CHECK(charged->steps[2] == ChargeStep{StepKind::percent, 2, 405'000, d("2"), Exact::of(d("81"))});
  CHECK(charged->steps[3] == ChargeStep{StepKind::flat_fee, 2, 1, d("300"), Exact::of(d("300"))});

  // The same, folding one transaction at a time as they arrive.
  CHECK(cents(*graduated_percentage_fee(payments(), 0, 50'000, kUsd)) == 20500);
  CHECK(cents(*graduated_percentage_fee(payments(), 50'000, 55'000, kUsd)) == 30600);
  CHECK(cents(*graduated_percentage_fee(payments(), 105'000, 400'000, kUsd)) == 8000);
  // Exactly at the first tier's end, the second is not entered yet.
  CHECK(cents(*graduated_percentage_fee(payments(), 0, 100'000, kUsd)) == 21000);
  CHECK(cents(*graduated_percentage_fee(payments(), 100'000, 1, kUsd)) == 30000);  // 2% of a cent, plus $300

  // Past the last bounded tier: a typed error, not a guess.
  auto beyond = charge_graduated_percentage(payments(), std::vector<int64_t>{900'000, 200'000}, kUsd);
  REQUIRE_FALSE(beyond.has_value());
  CHECK(beyond.error().type == error_type::limit_exceeded);
  CHECK(fields_of(beyond.error()) == std::vector<std::string>{"transactions[1]"});
}

TEST_CASE("billing charges: standard and graduated on small examples", "[domain][billing]") {
  auto standard = charge_standard(StandardModel{d("0.25")}, 3);
  REQUIRE(standard.has_value());
  CHECK(cents(standard->amount) == 75);
  CHECK(cents(charge_standard(StandardModel{d("0.0004")}, 65'000)->amount) == 2600);
  CHECK(charge_standard(StandardModel{d("0.0004")}, 1)->amount == Exact::of(d("0.0004")));
  CHECK(cents(charge_standard(StandardModel{d("0.25")}, 0)->amount) == 0);

  // 0-10 at $1, 11-20 at $0.50 plus $2 on entering, 21 and up at $0.10.
  const GraduatedModel graduated{{tier(0, 10, "1"), tier(11, 20, "0.50", "2"), tier(21, std::nullopt, "0.10")}};
  auto small = charge_graduated(graduated, 25);
  REQUIRE(small.has_value());
  CHECK(cents(small->amount) == 1750);  // 10 × 1 + 10 × 0.50 + 2 + 5 × 0.10
  REQUIRE(small->steps.size() == 4);
  CHECK(small->steps[0] == ChargeStep{StepKind::units, 1, 10, d("1"), Exact::of(d("10"))});
  CHECK(small->steps[1] == ChargeStep{StepKind::units, 2, 10, d("0.5"), Exact::of(d("5"))});
  CHECK(small->steps[2] == ChargeStep{StepKind::flat_fee, 2, 1, d("2"), Exact::of(d("2"))});
  CHECK(small->steps[3] == ChargeStep{StepKind::units, 3, 5, d("0.1"), Exact::of(d("0.5"))});
  CHECK(cents(charge_graduated(graduated, 10)->amount) == 1000);  // the second tier not entered
  CHECK(cents(charge_graduated(graduated, 11)->amount) == 1250);
  CHECK(cents(charge_graduated(graduated, 0)->amount) == 0);
  // Graduated never rounds per tier: 3 units at $0.0015 in one tier and 3 in the next
  // at $0.0025 are $0.012 exactly, rounded once to $0.01.
  const GraduatedModel fine{{tier(0, 3, "0.0015"), tier(4, std::nullopt, "0.0025")}};
  CHECK(charge_graduated(fine, 6)->amount == Exact::of(d("0.012")));
  CHECK(cents(charge_graduated(fine, 6)->amount) == 1);
}

TEST_CASE("billing charges: percentage per transaction with a fixed fee, minimum and maximum",
          "[domain][billing]") {
  const PercentageModel model{d("2.9"), d("0.30"), d("0.50"), d("5")};
  // $10.00: 0.29 + 0.30 = 0.59. $1.00: 0.029 + 0.30 = 0.329, raised to 0.50.
  // $1,000.00: 29.00 + 0.30, capped at 5.00.
  const std::vector<int64_t> transactions = {1'000, 100, 100'000};
  auto charged = charge_percentage(model, transactions, kUsd);
  REQUIRE(charged.has_value());
  REQUIRE(charged->per_transaction.size() == 3);
  CHECK(charged->per_transaction[0] == Exact::of(d("0.59")));
  CHECK(charged->per_transaction[1] == Exact::of(d("0.50")));
  CHECK(charged->per_transaction[2] == Exact::of(d("5")));
  CHECK(cents(charged->amount) == 609);
  REQUIRE(charged->steps.size() == 4);
  CHECK(charged->steps[0] == ChargeStep{StepKind::percent, 0, 101'100, d("2.9"), Exact::of(d("29.319"))});
  CHECK(charged->steps[1] == ChargeStep{StepKind::fixed_fee, 0, 3, d("0.3"), Exact::of(d("0.9"))});
  CHECK(charged->steps[2] == ChargeStep{StepKind::minimum, 0, 1, d("0.5"), Exact::of(d("0.171"))});
  CHECK(charged->steps[3] == ChargeStep{StepKind::maximum, 0, 1, d("5"), Exact::of(d("-24.3"))});
  CHECK(*percentage_fee(model, 1'000, kUsd) == Exact::of(d("0.59")));
  // No transactions, nothing charged (the minimum is per transaction).
  CHECK(charge_percentage(model, {}, kUsd)->amount == Exact{});
  // Without bounds the exact fee stands: 2.9% of 1 cent is $0.00029.
  CHECK(*percentage_fee(PercentageModel{d("2.9"), d("0"), std::nullopt, std::nullopt}, 1, kUsd) ==
        Exact::of(d("0.00029")));
  // In a zero-decimal currency: 3.6% of ¥1,234 is ¥44.424.
  const Currency jpy = *find_currency("JPY");
  CHECK(*percentage_fee(PercentageModel{d("3.6"), d("0"), std::nullopt, std::nullopt}, 1'234, jpy) ==
        Exact::of(d("44.424")));
}

TEST_CASE("billing charges: bad input is a typed error naming the field, never a crash", "[domain][billing]") {
  SECTION("negative or too large quantities") {
    auto negative = charge_standard(StandardModel{d("1")}, -1);
    REQUIRE_FALSE(negative.has_value());
    CHECK(negative.error().type == error_type::validation_error);
    CHECK(fields_of(negative.error()) == std::vector<std::string>{"quantity"});
    CHECK(fields_of(charge_volume(api_volume(), -5).error()) == std::vector<std::string>{"quantity"});
    CHECK(fields_of(charge_package(PackageModel{d("5"), 100, 0}, -5).error()) == std::vector<std::string>{"quantity"});
    CHECK(fields_of(charge_standard(StandardModel{d("1")}, kQuantityMax + 1).error()) ==
          std::vector<std::string>{"quantity"});
    auto refund = charge_percentage(PercentageModel{d("1"), d("0"), std::nullopt, std::nullopt},
                                    std::vector<int64_t>{100, -100}, kUsd);
    REQUIRE_FALSE(refund.has_value());
    CHECK(fields_of(refund.error()) == std::vector<std::string>{"transactions[1]"});
  }
  SECTION("tiers out of order, overlapping, with a gap, not from 0, unbounded in the middle") {
    const std::vector<std::pair<GraduatedModel, std::string>> cases = {
        {GraduatedModel{{tier(0, 100, "1"), tier(50, 200, "1")}}, "overlaps tier 0"},
        {GraduatedModel{{tier(0, 100, "1"), tier(101, 200, "1"), tier(0, 50, "1")}}, "tiers out of order"},
        {GraduatedModel{{tier(0, 100, "1"), tier(150, 200, "1")}}, "leaves a gap"},
        {GraduatedModel{{tier(5, 100, "1")}}, "the first tier starts at 0"},
        {GraduatedModel{{tier(0, std::nullopt, "1"), tier(1, 5, "1")}}, "only the last tier may be unbounded"},
        {GraduatedModel{{tier(0, 100, "1"), tier(101, 100, "1")}}, "must be at least the tier's from"},
        {GraduatedModel{{}}, "at least one tier"},
    };
    for (const auto& [model, message] : cases) {
      INFO(message);
      auto charged = charge_graduated(model, 10);
      REQUIRE_FALSE(charged.has_value());
      CHECK(charged.error().type == error_type::validation_error);
      REQUIRE_FALSE(charged.error().fields.empty());
      CHECK_THAT(charged.error().fields[0].field, Catch::StartsWith("tiers"));
      bool found = false;
      for (const auto& field : charged.error().fields) found = found || field.message.find(message) != std::string::npos;
      CHECK(found);
    }
    auto overlap = check_model(GraduatedModel{{tier(0, 100, "1"), tier(50, 200, "1")}}, "charges.api_calls");
    REQUIRE(overlap.size() == 1);
    CHECK(overlap[0].field == "charges.api_calls.tiers[1].from");
    CHECK(overlap[0].message == "overlaps tier 0, which ends at 100; this tier starts at 101");
    // The same rules for percentage tiers.
    auto percent_overlap = check_model(GraduatedPercentageModel{{PercentTier{0, 100'000, d("1"), d("0")},
                                                                 PercentTier{100'000, std::nullopt, d("2"), d("0")}}});
    REQUIRE(percent_overlap.size() == 1);
    CHECK(percent_overlap[0].field == "tiers[1].from");
    // Every kind of path a model's errors name, under a prefix and without one.
    auto priced = check_model(GraduatedModel{{Tier{0, 100, d("-1"), Decimal{1, 13}}, Tier{101, std::nullopt, d("1"), d("-2")}}},
                              "charges.api_calls");
    CHECK(fields_of(validation_failed(priced)) ==
          std::vector<std::string>{"charges.api_calls.tiers[0].unit_price", "charges.api_calls.tiers[0].flat_fee",
                                   "charges.api_calls.tiers[1].flat_fee"});
    auto percents = check_model(GraduatedPercentageModel{{PercentTier{0, std::nullopt, d("101"), d("-1")}}});
    CHECK(fields_of(validation_failed(percents)) == std::vector<std::string>{"tiers[0].percent", "tiers[0].flat_fee"});
    CHECK(fields_of(validation_failed(check_model(StandardModel{d("-1")}, "plan.charges.seats")))
          == std::vector<std::string>{"plan.charges.seats.unit_price"});
  }
  SECTION("prices, percents and sizes out of range") {
    CHECK(fields_of(charge_standard(StandardModel{d("-0.01")}, 1).error()) == std::vector<std::string>{"unit_price"});
    CHECK(fields_of(charge_package(PackageModel{d("5"), 0, 0}, 1).error()) == std::vector<std::string>{"package_size"});
    CHECK(fields_of(charge_package(PackageModel{d("5"), 10, -1}, 1).error()) == std::vector<std::string>{"free_units"});
    auto percent = check_model(PercentageModel{d("101"), d("-1"), d("5"), d("1")});
    REQUIRE(percent.size() == 3);
    CHECK(percent[0].field == "percent");
    CHECK(percent[1].field == "fixed_fee");
    CHECK(percent[2].field == "max_per_transaction");
    CHECK(check_model(StandardModel{Decimal{1, 13}})[0].message == "at most 12 decimal places");
  }
  SECTION("a quantity beyond the last bounded tier") {
    auto beyond = charge_graduated(GraduatedModel{{tier(0, 100, "1")}}, 101);
    REQUIRE_FALSE(beyond.has_value());
    CHECK(beyond.error().type == error_type::limit_exceeded);
    CHECK(fields_of(beyond.error()) == std::vector<std::string>{"quantity"});
    CHECK(charge_graduated(GraduatedModel{{tier(0, 100, "1")}}, 100).has_value());
  }
  SECTION("amounts too large to compute are limit_exceeded") {
    auto huge = charge_standard(StandardModel{d("999999999999")}, kQuantityMax);  // 10^27 major units
    REQUIRE_FALSE(huge.has_value());
    CHECK(huge.error().type == error_type::limit_exceeded);
    auto large = charge_standard(StandardModel{d("1000000")}, kQuantityMax);  // 10^21: exact, not in int64 cents
    REQUIRE(large.has_value());
    CHECK_FALSE(round_to_minor(large->amount, kUsd).has_value());
  }
  SECTION("the dispatcher picks the model's input") {
    Usage usage;
    usage.units = 65'000;
    usage.transactions_minor = {50'000, 55'000, 400'000};
    CHECK(cents(charge(api_volume(), usage, kUsd)->amount) == 4900);
    CHECK(cents(charge(payments(), usage, kUsd)->amount) == 59100);
    CHECK(std::string(model_name(ChargeModel{payments()})) == "graduated_percentage");
    CHECK(prices_transactions(ChargeModel{payments()}));
    CHECK_FALSE(prices_transactions(ChargeModel{api_volume()}));
  }
}
