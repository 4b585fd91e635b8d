// Money without floating point: currencies with their ISO 4217 minor-unit exponents,
// exact decimals parsed from text (prices finer than a minor unit, percents), exact
// amounts, and the one rounding rule of billing.
//
// THE ROUNDING RULE (stated here once; nothing else in billing rounds):
//   Every amount is computed exactly (Exact: 10^-16 of the major unit; a proration
//   share is applied in the same step as the rounding, never before), and each invoice
//   line is rounded ONCE to the currency's minor unit, half to even ("banker's
//   rounding": 0.125 -> 0.12, 0.135 -> 0.14, -0.125 -> -0.12; 2.5 JPY -> 2 JPY).
//   Totals are sums of rounded lines. Tax is computed once, on the invoice's subtotal
//   in minor units, and rounded by the same rule.
// Why half-even: an invoice run rounds millions of lines; half-up would bias revenue
// upwards by a fraction of a cent on every exact half, half-even has no bias.
#pragma once

#include <compare>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "domain/errors.h"

namespace tenantry::domain::billing {

// ---------------------------------------------------------------------------------
// Currencies

struct Currency {
  std::string_view code;  // ISO 4217, upper case: "USD"
  int exponent = 2;       // minor units per major unit = 10^exponent (JPY 0, USD 2, KWD 3)

  bool operator==(const Currency&) const = default;
};

// Every currency billing accepts.
std::span<const Currency> currencies();
// Exactly as ISO 4217 spells it (upper case); nullopt when billing does not know it.
std::optional<Currency> find_currency(std::string_view code);
// The same, as a validation error naming `field` for an unknown code.
std::expected<Currency, DomainError> currency_of(std::string_view code, std::string_view field);

// "35.48", "-5.00", "1000" (JPY): minor units in the major unit, no symbol, no grouping.
std::string format_minor(int64_t amount_minor, const Currency& currency);

// ---------------------------------------------------------------------------------
// Exact decimals (inputs: prices, fees, percents)

// At most 12 decimal places (a price of 10^-12 of a major unit is finer than any meter
// needs) and 18 significant digits in all.
inline constexpr int kDecimalScaleMax = 12;
// Percents have at most 10 places, so a percent of an amount in minor units is exact.
inline constexpr int kPercentScaleMax = 10;

// units × 10^-scale, exactly. Compares by value: 0.10 == 0.1.
struct Decimal {
  int64_t units = 0;
  int scale = 0;  // 0..kDecimalScaleMax

  friend bool operator==(const Decimal& a, const Decimal& b) { return (a <=> b) == 0; }
  friend std::strong_ordering operator<=>(const Decimal& a, const Decimal& b);
  bool negative() const { return units < 0; }
  bool zero() const { return units == 0; }
};

// "0.0004", "10", "-1.5". Refused: empty, signs other than a leading '-', exponents,
// spaces, separators, a bare "." or "1.", more than 12 decimal places or 18 digits.
// The error is a validation error naming `field`. Trailing zeros are dropped.
std::expected<Decimal, DomainError> parse_decimal(std::string_view text, std::string_view field);
// The shortest text that parses back to the same value: "0.0004", "10", "-1.5".
std::string to_string(const Decimal& value);

// ---------------------------------------------------------------------------------
// Exact amounts (intermediate results, never rounded)

// A share of something, numerator/denominator; proration's output. 0 <= numerator <=
// denominator <= kFractionDenominatorMax (10^10: seconds of three centuries).
struct Fraction {
  int64_t numerator = 1;
  int64_t denominator = 1;

  bool operator==(const Fraction&) const = default;
};
inline constexpr int64_t kFractionDenominatorMax = 10'000'000'000;

// An exact amount in a currency's major unit, in steps of 10^-16. Every product billing
// forms is exact at this scale: a price (<= 12 places) times a whole quantity, and a
// percent (<= 10 places) of an amount in minor units (<= 3 places) divided by 100.
// Arithmetic is checked: nullopt on overflow (near 10^22 major units), never a wrap.
class Exact {
 public:
  static constexpr int kScale = 16;

  constexpr Exact() = default;
  static Exact of(const Decimal& value);
  static Exact of_minor(int64_t amount_minor, const Currency& currency);
  // amount_minor × percent / 100, exact when percent has at most 10 decimal places.
  static std::optional<Exact> percent_of_minor(int64_t amount_minor, const Decimal& percent,
                                               const Currency& currency);

  std::optional<Exact> plus(const Exact& other) const;
  std::optional<Exact> minus(const Exact& other) const;
  std::optional<Exact> times(int64_t factor) const;
  Exact negated() const;
  int sign() const { return units_ < 0 ? -1 : units_ > 0 ? 1 : 0; }

  // "35.4838709677419354" style: the exact value, trailing zeros dropped.
  std::string to_string() const;

  friend bool operator==(const Exact&, const Exact&) = default;
  friend std::strong_ordering operator<=>(const Exact& a, const Exact& b) {
    return a.units_ < b.units_ ? std::strong_ordering::less
           : a.units_ > b.units_ ? std::strong_ordering::greater
                                 : std::strong_ordering::equal;
  }

 private:
  friend std::optional<int64_t> round_to_minor(const Exact& amount, const Currency& currency, Fraction share);
  __int128 units_ = 0;  // of 10^-kScale major units
};

// THE rounding: amount × share, rounded half to even to the currency's minor unit, in
// one step. nullopt when the result does not fit in int64 minor units or the share is
// malformed (outside the bounds above).
std::optional<int64_t> round_to_minor(const Exact& amount, const Currency& currency, Fraction share);
inline std::optional<int64_t> round_to_minor(const Exact& amount, const Currency& currency) {
  return round_to_minor(amount, currency, Fraction{});
}

// value × numerator / denominator rounded half to even; the same rule on integers
// (tax on a subtotal in minor units). denominator > 0. nullopt on overflow.
std::optional<int64_t> round_ratio(int64_t value, int64_t numerator, int64_t denominator);

}  // namespace tenantry::domain::billing
