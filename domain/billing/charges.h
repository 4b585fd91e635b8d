// Charge models: pure functions from a period's usage of one meter to an exact amount
// (never rounded here: see the rounding rule in money.h), with the steps that explain
// it. Prices, fees and percents are exact decimals in the major unit of the plan's
// currency; quantities are whole units; transaction amounts are in minor units.
//
// Tiers are written as the price lists write them, inclusive ranges that follow one
// another: 0-10,000, 10,001-50,000, 50,001-100,000, 100,001-(no bound). A tier covers
// the quantities above the previous tier's `to` up to its own `to`, so unit 10,000 is
// in the first tier and unit 10,001 in the second. The first tier starts at 0, each
// next one at the previous `to` + 1, only the last may have no `to`; a quantity
// beyond a last bounded tier is a limit_exceeded error. Percentage tiers count the
// period's cumulative transaction volume in minor units the same way ($1,000.00 is
// 100000 in USD: 0-100000, 100001-1000000).
//
// Models:
//   standard               quantity × unit price
//   graduated              each unit at the price of the tier it falls in, plus each
//                          entered tier's flat fee
//   volume                 every unit at the price of the tier the total falls in, plus
//                          that tier's flat fee
//   package                packages of N units after the free units, a partial package
//                          counting whole
//   percentage             per transaction: amount × percent + fixed fee, then raised to
//                          the minimum and capped at the maximum
//   graduated percentage   per transaction, the part of its amount in each tier of the
//                          period's cumulative volume at that tier's percent, plus a
//                          tier's flat fee by the transaction that first enters it
// A quantity of 0 (no transactions) costs 0 in every model: a flat fee is charged only
// for a tier something falls in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "domain/billing/money.h"
#include "domain/errors.h"

namespace tenantry::domain::billing {

// Bounds on the inputs, so that no computation overflows for accepted input and every
// loop is short.
inline constexpr size_t kTiersMax = 32;
inline constexpr int64_t kQuantityMax = 1'000'000'000'000'000;        // units of a meter in a period (10^15)
inline constexpr int64_t kTransactionAmountMax = 1'000'000'000'000'000;  // minor units (10^15)
inline constexpr size_t kTransactionsMax = 1'000'000;                 // per call; fold more with *_fee

struct Tier {
  int64_t from = 0;            // first quantity of the tier (see above)
  std::optional<int64_t> to;   // last quantity, inclusive; none: unbounded (last tier only)
  Decimal unit_price;          // per unit (graduated: units in the tier; volume: every unit)
  Decimal flat_fee;            // graduated: once if any unit falls in it; volume: if the total does

  bool operator==(const Tier&) const = default;
};

struct StandardModel {
  Decimal unit_price;
  bool operator==(const StandardModel&) const = default;
};

struct GraduatedModel {
  std::vector<Tier> tiers;
  bool operator==(const GraduatedModel&) const = default;
};

struct VolumeModel {
  std::vector<Tier> tiers;
  bool operator==(const VolumeModel&) const = default;
};

struct PackageModel {
  Decimal package_price;
  int64_t package_size = 1;  // units in a package, >= 1
  int64_t free_units = 0;    // the first units of the period, free
  bool operator==(const PackageModel&) const = default;
};

struct PercentageModel {
  Decimal percent;                             // of each transaction, 0..100 (2.9 is 2.9%)
  Decimal fixed_fee;                           // per transaction
  std::optional<Decimal> min_per_transaction;  // a transaction's fee is at least this
  std::optional<Decimal> max_per_transaction;  // and at most this
  bool operator==(const PercentageModel&) const = default;
};

struct PercentTier {
  int64_t from_minor = 0;          // cumulative period volume, minor units (see above)
  std::optional<int64_t> to_minor;
  Decimal percent;                 // of the volume in this tier
  Decimal flat_fee;                // once per period, by the transaction that enters the tier
  bool operator==(const PercentTier&) const = default;
};

struct GraduatedPercentageModel {
  std::vector<PercentTier> tiers;
  bool operator==(const GraduatedPercentageModel&) const = default;
};

using ChargeModel = std::variant<StandardModel, GraduatedModel, VolumeModel, PackageModel, PercentageModel,
                                 GraduatedPercentageModel>;

// "standard", "graduated", "volume", "package", "percentage", "graduated_percentage".
const char* model_name(const ChargeModel& model);
// Percentage models price transactions; the others price a quantity of units.
bool prices_transactions(const ChargeModel& model);

// A period's usage of one meter, as the model needs it.
struct Usage {
  int64_t units = 0;                        // unit models
  std::vector<int64_t> transactions_minor;  // percentage models, in the order they happened
  int64_t volume_before_minor = 0;          // graduated percentage: period volume before these

  bool operator==(const Usage&) const = default;
};

// One piece of an amount: which rule, over which quantity, at which rate.
enum class StepKind {
  units,        // quantity × rate (rate: a unit or package price)
  flat_fee,     // a tier's flat fee (quantity 1)
  percent,      // volume in minor units × rate percent
  fixed_fee,    // transactions × rate
  minimum,      // raise to the per-transaction minimum: quantity transactions raised
  maximum,      // cap at the per-transaction maximum: quantity transactions capped
};
const char* step_kind_name(StepKind kind);

struct ChargeStep {
  StepKind kind = StepKind::units;
  int tier = 0;            // 1-based tier the step belongs to; 0 when the model has none
  int64_t quantity = 0;    // units, packages, minor units of volume or transactions
  Decimal rate;            // unit price, package price, percent or fee; zero for min/max
  Exact amount;            // exact; the steps add up to the charge's amount

  bool operator==(const ChargeStep&) const = default;
};

struct Charge {
  Exact amount;
  std::vector<ChargeStep> steps;
  // Percentage models: each transaction's exact fee, in order (they add up to amount).
  std::vector<Exact> per_transaction;
};

// Every problem of the model, each under `field` + ".tiers[1].to" style paths: prices
// and fees >= 0 with at most 12 places, percents 0..100 with at most 10, tiers in
// order, contiguous and not overlapping, sizes >= 1, minimum <= maximum.
std::vector<FieldError> check_model(const ChargeModel& model, std::string_view field = "");

// The exact charge for `usage`. Errors: validation (a malformed model, a negative or
// too large quantity or transaction: fields "quantity", "transactions[3]"),
// limit_exceeded (a quantity past the last bounded tier; an amount too large).
std::expected<Charge, DomainError> charge(const ChargeModel& model, const Usage& usage, const Currency& currency);

// The same per model, for callers that hold one.
std::expected<Charge, DomainError> charge_standard(const StandardModel& model, int64_t quantity);
std::expected<Charge, DomainError> charge_graduated(const GraduatedModel& model, int64_t quantity);
std::expected<Charge, DomainError> charge_volume(const VolumeModel& model, int64_t quantity);
std::expected<Charge, DomainError> charge_package(const PackageModel& model, int64_t quantity);
std::expected<Charge, DomainError> charge_percentage(const PercentageModel& model,
                                                     std::span<const int64_t> transactions_minor,
                                                     const Currency& currency);
std::expected<Charge, DomainError> charge_graduated_percentage(const GraduatedPercentageModel& model,
                                                               std::span<const int64_t> transactions_minor,
                                                               const Currency& currency,
                                                               int64_t volume_before_minor = 0);

// One transaction's fee, for folding a stream of transactions as they come (the
// model is assumed checked). Graduated percentage: `volume_before_minor` is the
// period's volume before this transaction; the caller adds the amount afterwards.
std::expected<Exact, DomainError> percentage_fee(const PercentageModel& model, int64_t amount_minor,
                                                 const Currency& currency);
std::expected<Exact, DomainError> graduated_percentage_fee(const GraduatedPercentageModel& model,
                                                           int64_t volume_before_minor, int64_t amount_minor,
                                                           const Currency& currency);

}  // namespace tenantry::domain::billing
