#include "domain/billing/charges.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <type_traits>

namespace tenantry::domain::billing {

namespace {

constexpr int64_t kUnbounded = std::numeric_limits<int64_t>::max();

// Arithmetic past the accepted bounds (an amount near 10^22 major units) unwinds to
// the public function, which answers limit_exceeded. Never crosses this file.
struct Overflow {};

Exact need(std::optional<Exact> value) {
  if (!value) throw Overflow{};
  return *value;
}

int64_t add_or_throw(int64_t a, int64_t b) {
  int64_t out = 0;
  if (__builtin_add_overflow(a, b, &out)) throw Overflow{};
  return out;
}

DomainError too_large() {
  return make_error(error_type::limit_exceeded, "the amount is too large to compute exactly");
}

DomainError invalid(std::string field, std::string message) {
  return validation_failed({{std::move(field), std::move(message)}});
}

std::string path(std::string_view prefix, std::string_view name) {
  if (prefix.empty()) return std::string(name);
  return std::string(prefix) + "." + std::string(name);
}

std::string text(int64_t v) { return std::to_string(v); }

// A checked field's path, spelled out only for an error (plans are checked on every
// period close, and nearly always pass): "<prefix>.<name>[<index>].<leaf>", as path()
// would join them.
struct FieldPath {
  std::string_view prefix;
  std::string_view name;
  std::optional<size_t> index;
  std::string_view leaf;

  FieldPath at(size_t i, std::string_view leaf_name) const { return {prefix, name, i, leaf_name}; }
  std::string str() const {
    std::string out = path(prefix, name);
    if (index) out += "[" + std::to_string(*index) + "]";
    if (!leaf.empty()) out += "." + std::string(leaf);
    return out;
  }
};

void check_money(const Decimal& value, const FieldPath& field, std::vector<FieldError>& errors) {
  if (value.scale < 0 || value.scale > kDecimalScaleMax) {
    errors.push_back({field.str(), "at most 12 decimal places"});
  } else if (value.negative()) {
    errors.push_back({field.str(), "must be 0 or more"});
  }
}

void check_percent(const Decimal& value, const FieldPath& field, std::vector<FieldError>& errors) {
  if (value.scale < 0 || value.scale > kPercentScaleMax) {
    errors.push_back({field.str(), "at most 10 decimal places"});
  } else if (value.negative() || value > Decimal{100, 0}) {
    errors.push_back({field.str(), "must be a percent from 0 to 100"});
  }
}

struct Bounds {
  int64_t from;
  std::optional<int64_t> to;
};

// The rules every tier list follows (see charges.h): non-empty, bounded in count,
// starts at 0, each next tier at the previous `to` + 1, only the last unbounded.
void check_bounds(const std::vector<Bounds>& tiers, const FieldPath& field, std::vector<FieldError>& errors) {
  if (tiers.empty()) {
    errors.push_back({field.str(), "at least one tier"});
    return;
  }
  if (tiers.size() > kTiersMax) {
    errors.push_back({field.str(), "at most 32 tiers"});
    return;
  }
  for (size_t i = 0; i < tiers.size(); ++i) {
    const FieldPath from = field.at(i, "from");
    const FieldPath to = field.at(i, "to");
    const Bounds& tier = tiers[i];
    if (tier.from < 0) errors.push_back({from.str(), "must be 0 or more"});
    if (i == 0 && tier.from != 0) errors.push_back({from.str(), "the first tier starts at 0"});
    if (tier.to && *tier.to < tier.from) {
      errors.push_back({to.str(), "must be at least the tier's from (" + text(tier.from) + ")"});
    }
    if (!tier.to && i + 1 < tiers.size()) errors.push_back({to.str(), "only the last tier may be unbounded"});
    if (i == 0 || !tiers[i - 1].to) continue;
    const Bounds& previous = tiers[i - 1];
    const int64_t expected = *previous.to == kUnbounded ? kUnbounded : *previous.to + 1;
    if (tier.from == expected) continue;
    if (tier.from < previous.from) {
      errors.push_back({from.str(), "tiers out of order: starts before tier " + std::to_string(i - 1) +
                                          " (which starts at " + text(previous.from) + ")"});
    } else if (tier.from <= *previous.to) {
      errors.push_back({from.str(), "overlaps tier " + std::to_string(i - 1) + ", which ends at " +
                                          text(*previous.to) + "; this tier starts at " + text(expected)});
    } else {
      errors.push_back({from.str(), "leaves a gap after tier " + std::to_string(i - 1) + ", which ends at " +
                                          text(*previous.to) + "; this tier starts at " + text(expected)});
    }
  }
}

template <typename T>
std::vector<Bounds> bounds_of(const std::vector<T>& tiers) {
  std::vector<Bounds> out;
  out.reserve(tiers.size());
  for (const auto& tier : tiers) {
    if constexpr (std::is_same_v<T, Tier>) out.push_back({tier.from, tier.to});
    else out.push_back({tier.from_minor, tier.to_minor});
  }
  return out;
}

// The quantities tier i covers: (lower, upper], with lower the previous tier's `to`.
int64_t lower_of(const std::vector<Bounds>& tiers, size_t i) { return i == 0 ? 0 : tiers[i].from - 1; }
int64_t upper_of(const std::vector<Bounds>& tiers, size_t i) { return tiers[i].to.value_or(kUnbounded); }

std::optional<DomainError> check_quantity(int64_t quantity, std::string_view field) {
  if (quantity < 0) return invalid(std::string(field), "must be 0 or more");
  if (quantity > kQuantityMax) return invalid(std::string(field), "must be at most 10^15");
  return std::nullopt;
}

std::optional<DomainError> check_transactions(std::span<const int64_t> transactions) {
  if (transactions.size() > kTransactionsMax) {
    return make_error(error_type::limit_exceeded, "at most 1000000 transactions in one call; fold the rest",
                      {{"transactions", "at most 1000000"}});
  }
  std::vector<FieldError> errors;
  for (size_t i = 0; i < transactions.size() && errors.size() < 16; ++i) {
    const std::string at = "transactions[" + std::to_string(i) + "]";
    if (transactions[i] < 0) errors.push_back({at, "must be 0 or more (a refund is a credit note, not a transaction)"});
    else if (transactions[i] > kTransactionAmountMax) errors.push_back({at, "must be at most 10^15 minor units"});
  }
  if (!errors.empty()) return validation_failed(std::move(errors));
  return std::nullopt;
}

DomainError beyond_last_tier(std::string field, int64_t quantity, int64_t last_to) {
  return make_error(error_type::limit_exceeded,
                    "the quantity is beyond the last tier; the plan needs an unbounded last tier",
                    {{std::move(field), text(quantity) + " is beyond the last tier, which ends at " + text(last_to)}});
}

std::optional<DomainError> model_errors(const ChargeModel& model) {
  auto errors = check_model(model);
  if (errors.empty()) return std::nullopt;
  return validation_failed(std::move(errors));
}

// Runs `body`, turning an overflow inside into limit_exceeded.
template <typename F>
auto guarded(F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Overflow&) {
    return std::unexpected(too_large());
  }
}

// The per-transaction percentage fee with what each rule contributed.
struct PercentageParts {
  Exact percent;
  Exact fixed;
  Exact adjustment;  // to the minimum (>= 0) or to the maximum (<= 0)
  int raised = 0;
  int capped = 0;
  Exact fee;
};

PercentageParts percentage_parts(const PercentageModel& model, int64_t amount_minor, const Currency& currency) {
  PercentageParts parts;
  parts.percent = need(Exact::percent_of_minor(amount_minor, model.percent, currency));
  parts.fixed = Exact::of(model.fixed_fee);
  const Exact raw = need(parts.percent.plus(parts.fixed));
  parts.fee = raw;
  if (model.min_per_transaction && parts.fee < Exact::of(*model.min_per_transaction)) {
    parts.fee = Exact::of(*model.min_per_transaction);
    parts.raised = 1;
  }
  if (model.max_per_transaction && parts.fee > Exact::of(*model.max_per_transaction)) {
    parts.fee = Exact::of(*model.max_per_transaction);
    parts.capped = 1;
    parts.raised = 0;
  }
  parts.adjustment = need(parts.fee.minus(raw));
  return parts;
}

// Per tier: the volume of this transaction in it, and whether it enters the tier.
struct TierShare {
  int64_t volume_minor = 0;
  Exact percent_amount;
  bool entered = false;
};

// The graduated percentage fee of one transaction over (before, before + amount].
// `shares` (one per tier) receives what fell in each tier. The caller has checked
// that before + amount stays within the last tier.
Exact graduated_percentage_parts(const GraduatedPercentageModel& model, const std::vector<Bounds>& bounds,
                                 int64_t before, int64_t amount, const Currency& currency,
                                 std::vector<TierShare>& shares) {
  shares.assign(model.tiers.size(), TierShare{});
  const int64_t after = add_or_throw(before, amount);
  Exact fee;
  for (size_t i = 0; i < model.tiers.size(); ++i) {
    const int64_t lower = lower_of(bounds, i);
    const int64_t upper = upper_of(bounds, i);
    const int64_t in_tier = std::min(after, upper) - std::max(before, lower);
    if (in_tier <= 0) continue;
    shares[i].volume_minor = in_tier;
    shares[i].percent_amount = need(Exact::percent_of_minor(in_tier, model.tiers[i].percent, currency));
    fee = need(fee.plus(shares[i].percent_amount));
    // The tier is entered by the transaction that carries the volume past its lower
    // bound: the volume before it had not passed that bound yet.
    if (before <= lower) {
      shares[i].entered = true;
      fee = need(fee.plus(Exact::of(model.tiers[i].flat_fee)));
    }
  }
  return fee;
}

std::optional<DomainError> check_graduated_volume(const std::vector<Bounds>& bounds, int64_t before,
                                                  int64_t amount, std::string field) {
  const int64_t last_to = upper_of(bounds, bounds.size() - 1);
  int64_t reached = 0;
  if (__builtin_add_overflow(before, amount, &reached)) reached = kUnbounded;
  if (reached > last_to) return beyond_last_tier(std::move(field), reached, last_to);
  return std::nullopt;
}

}  // namespace

const char* model_name(const ChargeModel& model) {
  switch (model.index()) {
    case 0: return "standard";
    case 1: return "graduated";
    case 2: return "volume";
    case 3: return "package";
    case 4: return "percentage";
    case 5: return "graduated_percentage";
  }
  return "standard";
}

bool prices_transactions(const ChargeModel& model) {
  return std::holds_alternative<PercentageModel>(model) || std::holds_alternative<GraduatedPercentageModel>(model);
}

const char* step_kind_name(StepKind kind) {
  switch (kind) {
    case StepKind::units: return "units";
    case StepKind::flat_fee: return "flat_fee";
    case StepKind::percent: return "percent";
    case StepKind::fixed_fee: return "fixed_fee";
    case StepKind::minimum: return "minimum";
    case StepKind::maximum: return "maximum";
  }
  return "units";
}

std::vector<FieldError> check_model(const ChargeModel& model, std::string_view field) {
  std::vector<FieldError> errors;
  if (const auto* m = std::get_if<StandardModel>(&model)) {
    check_money(m->unit_price, {field, "unit_price"}, errors);
  } else if (const auto* m = std::get_if<GraduatedModel>(&model)) {
    const FieldPath tiers{field, "tiers"};
    check_bounds(bounds_of(m->tiers), tiers, errors);
    for (size_t i = 0; i < m->tiers.size() && i < kTiersMax; ++i) {
      check_money(m->tiers[i].unit_price, tiers.at(i, "unit_price"), errors);
      check_money(m->tiers[i].flat_fee, tiers.at(i, "flat_fee"), errors);
    }
  } else if (const auto* m = std::get_if<VolumeModel>(&model)) {
    const FieldPath tiers{field, "tiers"};
    check_bounds(bounds_of(m->tiers), tiers, errors);
    for (size_t i = 0; i < m->tiers.size() && i < kTiersMax; ++i) {
      check_money(m->tiers[i].unit_price, tiers.at(i, "unit_price"), errors);
      check_money(m->tiers[i].flat_fee, tiers.at(i, "flat_fee"), errors);
    }
  } else if (const auto* m = std::get_if<PackageModel>(&model)) {
    check_money(m->package_price, {field, "package_price"}, errors);
    if (m->package_size < 1) errors.push_back({path(field, "package_size"), "must be 1 or more"});
    if (m->free_units < 0) errors.push_back({path(field, "free_units"), "must be 0 or more"});
  } else if (const auto* m = std::get_if<PercentageModel>(&model)) {
    check_percent(m->percent, {field, "percent"}, errors);
    check_money(m->fixed_fee, {field, "fixed_fee"}, errors);
    if (m->min_per_transaction) check_money(*m->min_per_transaction, {field, "min_per_transaction"}, errors);
    if (m->max_per_transaction) check_money(*m->max_per_transaction, {field, "max_per_transaction"}, errors);
    if (m->min_per_transaction && m->max_per_transaction && *m->min_per_transaction > *m->max_per_transaction) {
      errors.push_back({path(field, "max_per_transaction"), "must be at least min_per_transaction (" +
                                                                to_string(*m->min_per_transaction) + ")"});
    }
  } else if (const auto* m = std::get_if<GraduatedPercentageModel>(&model)) {
    const FieldPath tiers{field, "tiers"};
    check_bounds(bounds_of(m->tiers), tiers, errors);
    for (size_t i = 0; i < m->tiers.size() && i < kTiersMax; ++i) {
      check_percent(m->tiers[i].percent, tiers.at(i, "percent"), errors);
      check_money(m->tiers[i].flat_fee, tiers.at(i, "flat_fee"), errors);
    }
  }
  return errors;
}

std::expected<Charge, DomainError> charge_standard(const StandardModel& model, int64_t quantity) {
  if (auto error = model_errors(model)) return std::unexpected(*error);
  if (auto error = check_quantity(quantity, "quantity")) return std::unexpected(*error);
  return guarded([&]() -> std::expected<Charge, DomainError> {
    Charge out;
    out.amount = need(Exact::of(model.unit_price).times(quantity));
    out.steps.push_back({StepKind::units, 0, quantity, model.unit_price, out.amount});
    return out;
  });
}

std::expected<Charge, DomainError> charge_graduated(const GraduatedModel& model, int64_t quantity) {
  if (auto error = model_errors(model)) return std::unexpected(*error);
  if (auto error = check_quantity(quantity, "quantity")) return std::unexpected(*error);
  const auto bounds = bounds_of(model.tiers);
  const int64_t last_to = upper_of(bounds, bounds.size() - 1);
  if (quantity > last_to) return std::unexpected(beyond_last_tier("quantity", quantity, last_to));
  return guarded([&]() -> std::expected<Charge, DomainError> {
    Charge out;
    for (size_t i = 0; i < model.tiers.size(); ++i) {
      const int64_t in_tier = std::min(quantity, upper_of(bounds, i)) - lower_of(bounds, i);
      if (in_tier <= 0) break;
      const Tier& tier = model.tiers[i];
      const int number = static_cast<int>(i) + 1;
      const Exact units = need(Exact::of(tier.unit_price).times(in_tier));
      out.steps.push_back({StepKind::units, number, in_tier, tier.unit_price, units});
      out.amount = need(out.amount.plus(units));
      if (!tier.flat_fee.zero()) {
        out.steps.push_back({StepKind::flat_fee, number, 1, tier.flat_fee, Exact::of(tier.flat_fee)});
        out.amount = need(out.amount.plus(Exact::of(tier.flat_fee)));
      }
    }
    return out;
  });
}

std::expected<Charge, DomainError> charge_volume(const VolumeModel& model, int64_t quantity) {
  if (auto error = model_errors(model)) return std::unexpected(*error);
  if (auto error = check_quantity(quantity, "quantity")) return std::unexpected(*error);
  const auto bounds = bounds_of(model.tiers);
  const int64_t last_to = upper_of(bounds, bounds.size() - 1);
  if (quantity > last_to) return std::unexpected(beyond_last_tier("quantity", quantity, last_to));
  Charge out;
  if (quantity == 0) return out;
  return guarded([&]() -> std::expected<Charge, DomainError> {
    for (size_t i = 0; i < model.tiers.size(); ++i) {
      if (quantity > upper_of(bounds, i)) continue;
      const Tier& tier = model.tiers[i];
      const int number = static_cast<int>(i) + 1;
      const Exact units = need(Exact::of(tier.unit_price).times(quantity));
      out.steps.push_back({StepKind::units, number, quantity, tier.unit_price, units});
      out.amount = units;
      if (!tier.flat_fee.zero()) {
        out.steps.push_back({StepKind::flat_fee, number, 1, tier.flat_fee, Exact::of(tier.flat_fee)});
        out.amount = need(out.amount.plus(Exact::of(tier.flat_fee)));
      }
      break;
    }
    return out;
  });
}

std::expected<Charge, DomainError> charge_package(const PackageModel& model, int64_t quantity) {
  if (auto error = model_errors(model)) return std::unexpected(*error);
  if (auto error = check_quantity(quantity, "quantity")) return std::unexpected(*error);
  return guarded([&]() -> std::expected<Charge, DomainError> {
    Charge out;
    const int64_t free_used = std::min(quantity, model.free_units);
    if (free_used > 0) out.steps.push_back({StepKind::units, 0, free_used, Decimal{}, Exact{}});
    const int64_t billable = quantity - free_used;
    // Round a partial package up: 101 billable units in packages of 100 are 2.
    const int64_t packages = billable / model.package_size + (billable % model.package_size != 0 ? 1 : 0);
    if (packages > 0) {
      out.amount = need(Exact::of(model.package_price).times(packages));
      out.steps.push_back({StepKind::units, 0, packages, model.package_price, out.amount});
    }
    return out;
  });
}

std::expected<Exact, DomainError> percentage_fee(const PercentageModel& model, int64_t amount_minor,
                                                 const Currency& currency) {
  if (auto error = model_errors(model)) return std::unexpected(*error);
  if (auto error = check_quantity(amount_minor, "amount_minor")) return std::unexpected(*error);
  return guarded([&]() -> std::expected<Exact, DomainError> {
    return percentage_parts(model, amount_minor, currency).fee;
  });
}

std::expected<Charge, DomainError> charge_percentage(const PercentageModel& model,
                                                     std::span<const int64_t> transactions_minor,
                                                     const Currency& currency) {
  if (auto error = model_errors(model)) return std::unexpected(*error);
  if (auto error = check_transactions(transactions_minor)) return std::unexpected(*error);
  return guarded([&]() -> std::expected<Charge, DomainError> {
    Charge out;
    int64_t volume = 0;
    Exact percent, fixed, raised_by, capped_by;
    int64_t raised = 0, capped = 0;
    out.per_transaction.reserve(transactions_minor.size());
    for (const int64_t amount : transactions_minor) {
      const PercentageParts parts = percentage_parts(model, amount, currency);
      volume = add_or_throw(volume, amount);
      percent = need(percent.plus(parts.percent));
      fixed = need(fixed.plus(parts.fixed));
      if (parts.raised) {
        ++raised;
        raised_by = need(raised_by.plus(parts.adjustment));
      }
      if (parts.capped) {
        ++capped;
        capped_by = need(capped_by.plus(parts.adjustment));
      }
      out.per_transaction.push_back(parts.fee);
      out.amount = need(out.amount.plus(parts.fee));
    }
    if (transactions_minor.empty()) return out;
    const auto count = static_cast<int64_t>(transactions_minor.size());
    out.steps.push_back({StepKind::percent, 0, volume, model.percent, percent});
    if (!model.fixed_fee.zero()) out.steps.push_back({StepKind::fixed_fee, 0, count, model.fixed_fee, fixed});
    if (raised > 0) out.steps.push_back({StepKind::minimum, 0, raised, *model.min_per_transaction, raised_by});
    if (capped > 0) out.steps.push_back({StepKind::maximum, 0, capped, *model.max_per_transaction, capped_by});
    return out;
  });
}

std::expected<Exact, DomainError> graduated_percentage_fee(const GraduatedPercentageModel& model,
                                                           int64_t volume_before_minor, int64_t amount_minor,
                                                           const Currency& currency) {
  if (auto error = check_quantity(volume_before_minor, "volume_before_minor")) return std::unexpected(*error);
  if (auto error = check_quantity(amount_minor, "amount_minor")) return std::unexpected(*error);
  if (auto error = model_errors(model)) return std::unexpected(*error);
  const auto bounds = bounds_of(model.tiers);
  if (auto error = check_graduated_volume(bounds, volume_before_minor, amount_minor, "amount_minor")) {
    return std::unexpected(*error);
  }
  return guarded([&]() -> std::expected<Exact, DomainError> {
    std::vector<TierShare> shares;
    return graduated_percentage_parts(model, bounds, volume_before_minor, amount_minor, currency, shares);
  });
}

std::expected<Charge, DomainError> charge_graduated_percentage(const GraduatedPercentageModel& model,
                                                               std::span<const int64_t> transactions_minor,
                                                               const Currency& currency,
                                                               int64_t volume_before_minor) {
  if (auto error = model_errors(model)) return std::unexpected(*error);
  if (auto error = check_transactions(transactions_minor)) return std::unexpected(*error);
  if (auto error = check_quantity(volume_before_minor, "volume_before_minor")) return std::unexpected(*error);
  const auto bounds = bounds_of(model.tiers);
  return guarded([&]() -> std::expected<Charge, DomainError> {
    Charge out;
    std::vector<int64_t> tier_volume(model.tiers.size(), 0);
    std::vector<Exact> tier_amount(model.tiers.size());
    std::vector<bool> tier_entered(model.tiers.size(), false);
    std::vector<TierShare> shares;
    int64_t before = volume_before_minor;
    out.per_transaction.reserve(transactions_minor.size());
    for (size_t t = 0; t < transactions_minor.size(); ++t) {
      const int64_t amount = transactions_minor[t];
      if (auto error = check_graduated_volume(bounds, before, amount,
                                              "transactions[" + std::to_string(t) + "]")) {
        return std::unexpected(*error);
      }
      const Exact fee = graduated_percentage_parts(model, bounds, before, amount, currency, shares);
      for (size_t i = 0; i < shares.size(); ++i) {
        tier_volume[i] = add_or_throw(tier_volume[i], shares[i].volume_minor);
        tier_amount[i] = need(tier_amount[i].plus(shares[i].percent_amount));
        if (shares[i].entered) tier_entered[i] = true;
      }
      out.per_transaction.push_back(fee);
      out.amount = need(out.amount.plus(fee));
      before += amount;
    }
    for (size_t i = 0; i < model.tiers.size(); ++i) {
      const int number = static_cast<int>(i) + 1;
      if (tier_volume[i] > 0) {
        out.steps.push_back({StepKind::percent, number, tier_volume[i], model.tiers[i].percent, tier_amount[i]});
      }
      if (tier_entered[i] && !model.tiers[i].flat_fee.zero()) {
        out.steps.push_back(
            {StepKind::flat_fee, number, 1, model.tiers[i].flat_fee, Exact::of(model.tiers[i].flat_fee)});
      }
    }
    return out;
  });
}

std::expected<Charge, DomainError> charge(const ChargeModel& model, const Usage& usage, const Currency& currency) {
  if (const auto* m = std::get_if<StandardModel>(&model)) return charge_standard(*m, usage.units);
  if (const auto* m = std::get_if<GraduatedModel>(&model)) return charge_graduated(*m, usage.units);
  if (const auto* m = std::get_if<VolumeModel>(&model)) return charge_volume(*m, usage.units);
  if (const auto* m = std::get_if<PackageModel>(&model)) return charge_package(*m, usage.units);
  if (const auto* m = std::get_if<PercentageModel>(&model)) {
    return charge_percentage(*m, usage.transactions_minor, currency);
  }
  return charge_graduated_percentage(std::get<GraduatedPercentageModel>(model), usage.transactions_minor, currency,
                                     usage.volume_before_minor);
}

}  // namespace tenantry::domain::billing
