#include "domain/billing/money.h"

#include <algorithm>
#include <array>
#include <limits>

namespace tenantry::domain::billing {

namespace {

using i128 = __int128;

// ISO 4217 minor-unit exponents (the standard's "minor unit" column). The 2-decimal
// entries include currencies commonly priced in whole units (HUF, IDR, COP): ISO says
// 2, and a payment provider that wants whole units rounds at its own boundary.
constexpr std::array<Currency, 39> kCurrencies = {{
    {"AED", 2}, {"AUD", 2}, {"BHD", 3}, {"BRL", 2}, {"CAD", 2}, {"CHF", 2}, {"CLP", 0}, {"CNY", 2},
    {"COP", 2}, {"CZK", 2}, {"DKK", 2}, {"EUR", 2}, {"GBP", 2}, {"HKD", 2}, {"HUF", 2}, {"IDR", 2},
    {"ILS", 2}, {"INR", 2}, {"ISK", 0}, {"JOD", 3}, {"JPY", 0}, {"KRW", 0}, {"KWD", 3}, {"MXN", 2},
    {"MYR", 2}, {"NOK", 2}, {"NZD", 2}, {"OMR", 3}, {"PHP", 2}, {"PLN", 2}, {"SAR", 2}, {"SEK", 2},
    {"SGD", 2}, {"THB", 2}, {"TND", 3}, {"TRY", 2}, {"USD", 2}, {"VND", 0}, {"ZAR", 2},
}};

// 10^n for 0 <= n <= 38.
constexpr i128 pow10(int n) {
  i128 out = 1;
  for (int i = 0; i < n; ++i) out *= 10;
  return out;
}

i128 abs128(i128 v) { return v < 0 ? -v : v; }

std::string digits_of(i128 magnitude) {
  if (magnitude == 0) return "0";
  std::string out;
  while (magnitude > 0) {
    out.push_back(static_cast<char>('0' + static_cast<int>(magnitude % 10)));
    magnitude /= 10;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

// `value` (a signed count of 10^-scale units) as decimal text; trailing fraction zeros
// dropped unless `keep_scale`.
std::string decimal_text(i128 value, int scale, bool keep_scale) {
  const bool negative = value < 0;
  std::string digits = digits_of(abs128(value));
  if (scale > 0) {
    if (static_cast<int>(digits.size()) <= scale) digits.insert(0, static_cast<size_t>(scale) + 1 - digits.size(), '0');
    digits.insert(digits.size() - static_cast<size_t>(scale), ".");
    if (!keep_scale) {
      while (digits.back() == '0') digits.pop_back();
      if (digits.back() == '.') digits.pop_back();
    }
  }
  return (negative ? "-" : "") + digits;
}

// n / d rounded half to even, d > 0; both may be negative-signed through n only.
i128 divide_half_even(i128 n, i128 d) {
  const bool negative = n < 0;
  const i128 magnitude = abs128(n);
  i128 q = magnitude / d;
  const i128 r = magnitude % d;
  // r < d, so 2r cannot overflow where d fits in 127 bits with room (d <= 10^36 here).
  if (r * 2 > d || (r * 2 == d && (q & 1) != 0)) ++q;
  return negative ? -q : q;
}

bool fits_int64(i128 v) {
  return v >= std::numeric_limits<int64_t>::min() && v <= std::numeric_limits<int64_t>::max();
}

bool checked_mul(i128 a, i128 b, i128& out) { return !__builtin_mul_overflow(a, b, &out); }

}  // namespace

// ---------------------------------------------------------------------------------

std::span<const Currency> currencies() { return kCurrencies; }

std::optional<Currency> find_currency(std::string_view code) {
  for (const auto& currency : kCurrencies) {
    if (currency.code == code) return currency;
  }
  return std::nullopt;
}

std::expected<Currency, DomainError> currency_of(std::string_view code, std::string_view field) {
  if (auto currency = find_currency(code)) return *currency;
  return std::unexpected(validation_failed(
      {{std::string(field), "unknown currency \"" + std::string(code.substr(0, 16)) +
                                "\": an ISO 4217 code in upper case that billing supports, e.g. USD"}}));
}

std::string format_minor(int64_t amount_minor, const Currency& currency) {
  return decimal_text(amount_minor, currency.exponent, true);
}

// ---------------------------------------------------------------------------------

std::strong_ordering operator<=>(const Decimal& a, const Decimal& b) {
  // Scales are 0..12 for every Decimal the checks accept; clamping keeps a malformed
  // one from overflowing rather than making it right.
  const int sa = std::clamp(a.scale, 0, 18);
  const int sb = std::clamp(b.scale, 0, 18);
  const int scale = std::max(sa, sb);
  const i128 left = static_cast<i128>(a.units) * pow10(scale - sa);
  const i128 right = static_cast<i128>(b.units) * pow10(scale - sb);
  return left < right ? std::strong_ordering::less : left > right ? std::strong_ordering::greater
                                                                  : std::strong_ordering::equal;
}

std::expected<Decimal, DomainError> parse_decimal(std::string_view text, std::string_view field) {
  auto refuse = [&](std::string message) -> std::expected<Decimal, DomainError> {
    return std::unexpected(validation_failed({{std::string(field), std::move(message)}}));
  };
  // Text only for an error: decimals are parsed on every plan conversion.
  constexpr const char* shape = "must be a decimal number such as 10, 0.5 or 0.0004 (digits, at most one '.', no "
                                "exponent, no separators)";
  std::string_view rest = text;
  bool negative = false;
  if (!rest.empty() && rest.front() == '-') {
    negative = true;
    rest.remove_prefix(1);
  }
  const size_t dot = rest.find('.');
  std::string_view whole = rest.substr(0, dot);
  std::string_view fraction = dot == std::string_view::npos ? std::string_view{} : rest.substr(dot + 1);
  auto all_digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (whole.empty() || !all_digits(whole) || !all_digits(fraction) ||
      (dot != std::string_view::npos && fraction.empty())) {
    return refuse(shape);
  }
  while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
  while (whole.size() > 1 && whole.front() == '0') whole.remove_prefix(1);
  if (fraction.size() > static_cast<size_t>(kDecimalScaleMax)) return refuse("at most 12 decimal places");
  const size_t significant = (whole == "0" ? 0 : whole.size()) + fraction.size();
  if (significant > 18) return refuse("at most 18 digits");
  int64_t units = 0;
  for (char c : whole) units = units * 10 + (c - '0');
  for (char c : fraction) units = units * 10 + (c - '0');
  return Decimal{negative ? -units : units, static_cast<int>(fraction.size())};
}

std::string to_string(const Decimal& value) {
  return decimal_text(value.units, std::clamp(value.scale, 0, 38), false);
}

// ---------------------------------------------------------------------------------

Exact Exact::of(const Decimal& value) {
  Exact out;
  const int scale = std::clamp(value.scale, 0, 38);
  // A Decimal holds at most 19 digits, so units × 10^16 fits in 127 bits.
  if (scale <= kScale) out.units_ = static_cast<i128>(value.units) * pow10(kScale - scale);
  else out.units_ = static_cast<i128>(value.units) / pow10(scale - kScale);  // refused by every check
  return out;
}

Exact Exact::of_minor(int64_t amount_minor, const Currency& currency) {
  Exact out;
  out.units_ = static_cast<i128>(amount_minor) * pow10(kScale - currency.exponent);
  return out;
}

std::optional<Exact> Exact::percent_of_minor(int64_t amount_minor, const Decimal& percent,
                                             const Currency& currency) {
  // amount_minor × 10^-e major × percent.units × 10^-s / 100, at scale 10^-16:
  // amount_minor × percent.units × 10^(16 - e - s - 2).
  const int shift = kScale - currency.exponent - percent.scale - 2;
  if (percent.scale < 0 || percent.scale > kPercentScaleMax || shift < 0) return std::nullopt;
  i128 product = 0;
  if (!checked_mul(amount_minor, percent.units, product)) return std::nullopt;
  Exact out;
  if (!checked_mul(product, pow10(shift), out.units_)) return std::nullopt;
  return out;
}

std::optional<Exact> Exact::plus(const Exact& other) const {
  Exact out;
  if (__builtin_add_overflow(units_, other.units_, &out.units_)) return std::nullopt;
  return out;
}

std::optional<Exact> Exact::minus(const Exact& other) const {
  Exact out;
  if (__builtin_sub_overflow(units_, other.units_, &out.units_)) return std::nullopt;
  return out;
}

std::optional<Exact> Exact::times(int64_t factor) const {
  Exact out;
  if (!checked_mul(units_, factor, out.units_)) return std::nullopt;
  return out;
}

Exact Exact::negated() const {
  Exact out;
  out.units_ = -units_;
  return out;
}

std::string Exact::to_string() const { return decimal_text(units_, kScale, false); }

std::optional<int64_t> round_to_minor(const Exact& amount, const Currency& currency, Fraction share) {
  if (share.denominator <= 0 || share.denominator > kFractionDenominatorMax || share.numerator < 0 ||
      share.numerator > share.denominator || currency.exponent < 0 || currency.exponent > Exact::kScale) {
    return std::nullopt;
  }
  // amount.units × numerator / (denominator × 10^(16 - e)), by long division so that
  // the product never overflows: units = q·D + r, result = q·num + (r·num)/D.
  const i128 d = static_cast<i128>(share.denominator) * pow10(Exact::kScale - currency.exponent);
  const bool negative = amount.units_ < 0;
  const i128 magnitude = abs128(amount.units_);
  const i128 q = magnitude / d;
  const i128 r = magnitude % d;
  i128 whole = 0;
  if (!checked_mul(q, share.numerator, whole) || !fits_int64(whole)) return std::nullopt;
  // r < d <= 10^26 and numerator <= 10^10: r·num < 10^36. The tie is decided on the
  // parity of the whole quotient, so the rule is half-even on the full result.
  const i128 tail = r * share.numerator;
  i128 result = whole + tail / d;
  const i128 rest = tail % d;
  if (rest * 2 > d || (rest * 2 == d && (result & 1) != 0)) ++result;
  if (negative) result = -result;
  if (!fits_int64(result)) return std::nullopt;
  return static_cast<int64_t>(result);
}

std::optional<int64_t> round_ratio(int64_t value, int64_t numerator, int64_t denominator) {
  if (denominator <= 0) return std::nullopt;
  i128 product = 0;
  if (!checked_mul(value, numerator, product)) return std::nullopt;
  const i128 result = divide_half_even(product, denominator);
  if (!fits_int64(result)) return std::nullopt;
  return static_cast<int64_t>(result);
}

}  // namespace tenantry::domain::billing
