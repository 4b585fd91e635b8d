// Money: currencies and their exponents, exact decimals from text, and the one
// rounding rule (half to even, once per line, with the proration share in the same
// step).
#include <catch2/catch.hpp>

#include "domain/billing/money.h"
#include "domain/billing_test_support.h"

using namespace tenantry::domain;
using namespace tenantry::domain::billing;

namespace {

using tenantry::domain::billing::testing::d;

Currency currency(std::string_view code) {
  auto found = find_currency(code);
  REQUIRE(found.has_value());
  return *found;
}

// `text` rounded once to the currency's minor unit.
int64_t rounded(std::string_view text, std::string_view code, Fraction share = {}) {
  auto minor = round_to_minor(Exact::of(d(text)), currency(code), share);
  REQUIRE(minor.has_value());
  return *minor;
}

}  // namespace

TEST_CASE("billing money: the currency table has ISO 4217's minor-unit exponents", "[domain][billing]") {
  for (const char* code : {"AED", "AUD", "BRL", "CAD", "CHF", "CNY", "COP", "CZK", "DKK", "EUR", "GBP",
                           "HKD", "HUF", "IDR", "ILS", "INR", "MXN", "MYR", "NOK", "NZD", "PHP", "PLN",
                           "SAR", "SEK", "SGD", "THB", "TRY", "USD", "ZAR"}) {
    INFO(code);
    REQUIRE(find_currency(code).has_value());
    CHECK(find_currency(code)->exponent == 2);
  }
  for (const char* code : {"JPY", "KRW", "CLP"}) {
    INFO(code);
    REQUIRE(find_currency(code).has_value());
    CHECK(find_currency(code)->exponent == 0);
  }
  CHECK(currency("KWD").exponent == 3);
  CHECK_FALSE(find_currency("usd").has_value());
  CHECK_FALSE(find_currency("XYZ").has_value());
  CHECK_FALSE(find_currency("").has_value());

  auto unknown = currency_of("XYZ", "plan.currency");
  REQUIRE_FALSE(unknown.has_value());
  CHECK(unknown.error().type == error_type::validation_error);
  REQUIRE(unknown.error().fields.size() == 1);
  CHECK(unknown.error().fields[0].field == "plan.currency");
  CHECK_THAT(unknown.error().fields[0].message, Catch::Contains("unknown currency \"XYZ\""));

  CHECK(format_minor(3548, currency("USD")) == "35.48");
  CHECK(format_minor(-500, currency("USD")) == "-5.00");
  CHECK(format_minor(5, currency("EUR")) == "0.05");
  CHECK(format_minor(1000, currency("JPY")) == "1000");
  CHECK(format_minor(1, currency("KWD")) == "0.001");
}

TEST_CASE("billing money: decimals parse exactly from text", "[domain][billing]") {
  CHECK(d("0.0004") == Decimal{4, 4});
  CHECK(d("10") == Decimal{10, 0});
  CHECK(d("-1.5") == Decimal{-15, 1});
  CHECK(d("0.10") == d("0.1"));
  CHECK(d("0.10").scale == 1);  // trailing zeros dropped
  CHECK(d("007") == Decimal{7, 0});
  CHECK(d("0.000000000001") == Decimal{1, 12});
  CHECK(d("999999999999.999999") == Decimal{999'999'999'999'999'999, 6});
  CHECK(d("0.0008") < d("0.001"));
  CHECK(to_string(d("0.0004")) == "0.0004");
  CHECK(to_string(d("10.50")) == "10.5");
  CHECK(to_string(d("-1.5")) == "-1.5");
  CHECK(to_string(Decimal{}) == "0");
  // Never a binary fraction: 0.1 + 0.2 is 0.3 exactly.
  CHECK(*Exact::of(d("0.1")).plus(Exact::of(d("0.2"))) == Exact::of(d("0.3")));
  CHECK(Exact::of(d("0.0004")).times(3)->to_string() == "0.0012");
}

TEST_CASE("billing money: a malformed price is a validation error naming the field, never a crash",
          "[domain][billing]") {
  for (const char* text : {"1.2.3", "abc", "", ".5", "1.", "-", "1e3", "+1", " 1", "1 ", "1,000", "0x10", "--1",
                           "1.-2", "NaN", "inf"}) {
    INFO('"' << text << '"');
    auto parsed = parse_decimal(text, "charges.api_calls.unit_price");
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error().type == error_type::validation_error);
    REQUIRE(parsed.error().fields.size() == 1);
    CHECK(parsed.error().fields[0].field == "charges.api_calls.unit_price");
    CHECK_THAT(parsed.error().fields[0].message, Catch::Contains("decimal number"));
  }
  auto fine = parse_decimal("0.0000000000001", "price");
  REQUIRE_FALSE(fine.has_value());
  CHECK(fine.error().fields[0].message == "at most 12 decimal places");
  auto long_one = parse_decimal("1234567890123456789", "price");
  REQUIRE_FALSE(long_one.has_value());
  CHECK(long_one.error().fields[0].message == "at most 18 digits");
  // Trailing zeros do not count against the bounds.
  CHECK(parse_decimal("0.1000000000000000", "price").has_value());
}

TEST_CASE("billing money: one rounding, half to even, to the minor unit", "[domain][billing]") {
  // The .5 cases: to the even neighbour.
  CHECK(rounded("0.125", "USD") == 12);
  CHECK(rounded("0.135", "USD") == 14);
  CHECK(rounded("0.005", "USD") == 0);
  CHECK(rounded("0.015", "USD") == 2);
  CHECK(rounded("-0.125", "USD") == -12);
  CHECK(rounded("-0.135", "USD") == -14);
  CHECK(rounded("2.5", "JPY") == 2);
  CHECK(rounded("3.5", "JPY") == 4);
  CHECK(rounded("1.0005", "KWD") == 1000);
  CHECK(rounded("1.0015", "KWD") == 1002);
  // Anything past the half goes up, anything short of it down.
  CHECK(rounded("0.1250000001", "USD") == 13);
  CHECK(rounded("0.1249999999", "USD") == 12);
  CHECK(rounded("35.48", "USD") == 3548);
  CHECK(rounded("0", "USD") == 0);

  // The share is applied in the rounding step itself, never rounded before it:
  // 1.00 × 1/8 = 0.125 -> 0.12 (half even), 0.01 × 1/2 = 0.005 -> 0.00.
  CHECK(rounded("1", "USD", {1, 8}) == 12);
  CHECK(rounded("0.01", "USD", {1, 2}) == 0);
  CHECK(rounded("0.03", "USD", {1, 2}) == 2);
  CHECK(rounded("-1", "USD", {3, 8}) == -38);  // -0.375
  CHECK(rounded("50", "USD", {22, 31}) == 3548);  // 35.4838...
  CHECK(rounded("999999999999", "USD", {9'999'999'999, 10'000'000'000}) == 99'999'999'989'900);
  // A malformed share is refused, not guessed at.
  CHECK_FALSE(round_to_minor(Exact::of(d("1")), currency("USD"), {2, 1}).has_value());
  CHECK_FALSE(round_to_minor(Exact::of(d("1")), currency("USD"), {1, 0}).has_value());

  // The same rule on integers: tax on a subtotal in minor units.
  CHECK(round_ratio(1005, 1, 10) == 100);
  CHECK(round_ratio(1015, 1, 10) == 102);
  CHECK(round_ratio(-1005, 1, 10) == -100);
  CHECK(round_ratio(4900, 2000, 10'000) == 980);
  CHECK(round_ratio(1, 1, 0) == std::nullopt);
}

TEST_CASE("billing money: exact arithmetic reports overflow instead of wrapping", "[domain][billing]") {
  // Exact holds about 1.7 × 10^22 major units.
  const Exact big = Exact::of(d("1000000000000"));
  auto huge = big.times(1'000'000'000);
  REQUIRE(huge.has_value());  // 10^21 major units: still exact
  CHECK_FALSE(huge->times(1'000).has_value());
  CHECK_FALSE(huge->plus(*huge)->times(100).has_value());
  CHECK_FALSE(round_to_minor(*huge, currency("USD")).has_value());  // 10^23 cents do not fit in int64
  CHECK(round_to_minor(*huge, currency("JPY")) == std::nullopt);
  CHECK(Exact::percent_of_minor(55'000, d("2"), currency("USD")) == Exact::of(d("11")));
  CHECK(Exact::percent_of_minor(1, d("0.0000000001"), currency("KWD")).has_value());
  CHECK_FALSE(Exact::percent_of_minor(1, d("0.00000000001"), currency("USD")).has_value());  // 11 places
}
