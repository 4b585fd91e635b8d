// The per-tenant double-entry ledger: operations post balanced entries, a refused
// posting changes nothing, and thousands of random valid operations keep every
// balance equal to the sum of its entries and debits equal to credits.
#include <catch2/catch.hpp>

#include <random>

#include "domain/billing/ledger.h"

using namespace tenantry::domain;
using namespace tenantry::domain::billing;

namespace {

void post(Ledger& ledger, const std::vector<Entry>& entries) {
  auto applied = apply_entries(ledger, entries);
  if (!applied) FAIL(applied.error().message << " " << (applied.error().fields.empty() ? "" : applied.error().fields[0].field));
}

Invoice invoice(std::string currency, int64_t subtotal, int64_t tax, int64_t credits_applied) {
  Invoice out;
  out.currency = std::move(currency);
  out.subtotal_minor = subtotal;
  out.tax_minor = tax;
  out.credits_applied_minor = credits_applied;
  out.total_minor = subtotal + tax - credits_applied;
  return out;
}

}  // namespace

TEST_CASE("billing ledger: an invoice, a payment, a credit note and a refund, balanced at every step",
          "[domain][billing]") {
  Ledger ledger;
  ledger.tenant_id = "acme";
  // $100 + $20 tax, issued.
  post(ledger, invoice_entries(invoice("USD", 10'000, 2'000, 0), "inv_1"));
  CHECK(holding_minor(ledger, "USD", Account::receivable) == 12'000);
  CHECK(holding_minor(ledger, "USD", Account::revenue) == 10'000);
  CHECK(holding_minor(ledger, "USD", Account::tax_payable) == 2'000);
  CHECK(balance_minor(ledger, "USD", Account::revenue) == -10'000);  // credit-normal
  // Paid in full.
  post(ledger, payment_entries("USD", 12'000, "pay_1"));
  CHECK(holding_minor(ledger, "USD", Account::receivable) == 0);
  CHECK(holding_minor(ledger, "USD", Account::cash) == 12'000);
  // $10 + $2 tax credited back after payment: to the credit balance, then refunded.
  post(ledger, credit_note_entries("USD", 1'000, 200, true, "cn_1"));
  CHECK(holding_minor(ledger, "USD", Account::credits) == 1'200);
  post(ledger, refund_entries("USD", 1'200, "ref_1"));
  CHECK(holding_minor(ledger, "USD", Account::credits) == 0);
  CHECK(holding_minor(ledger, "USD", Account::cash) == 10'800);
  CHECK(holding_minor(ledger, "USD", Account::revenue) == 9'000);
  // A goodwill credit, applied to the next invoice.
  post(ledger, credit_grant_entries("USD", 500, "promo_1"));
  post(ledger, invoice_entries(invoice("USD", 1'000, 0, 500), "inv_2"));
  CHECK(holding_minor(ledger, "USD", Account::receivable) == 500);
  CHECK(holding_minor(ledger, "USD", Account::credits) == 0);
  // A negative invoice (a downgrade at once) becomes credit balance.
  post(ledger, invoice_entries(invoice("USD", -500, -100, 0), "inv_3"));
  CHECK(holding_minor(ledger, "USD", Account::credits) == 600);
  // Another currency keeps its own books.
  post(ledger, invoice_entries(invoice("JPY", 5'000, 500, 0), "inv_4"));
  CHECK(holding_minor(ledger, "JPY", Account::receivable) == 5'500);
  CHECK(holding_minor(ledger, "USD", Account::receivable) == 500);
  CHECK(check_ledger(ledger).empty());
  CHECK(std::string(account_name(Account::tax_payable)) == "tax_payable");
  CHECK(account_from("credits") == Account::credits);
  CHECK_FALSE(account_from("equity").has_value());
}

TEST_CASE("billing ledger: a malformed posting is refused whole and changes nothing", "[domain][billing]") {
  Ledger ledger;
  post(ledger, invoice_entries(invoice("USD", 10'000, 0, 0), "inv_1"));
  const Ledger before = ledger;
  const Entry good{Account::cash, Account::receivable, 100, "USD", "pay_1"};
  const std::vector<std::pair<Entry, std::string>> cases = {
      {Entry{Account::cash, Account::receivable, 0, "USD", "pay"}, "entries[1].amount_minor"},
      {Entry{Account::cash, Account::receivable, -5, "USD", "pay"}, "entries[1].amount_minor"},
      {Entry{Account::cash, Account::receivable, kEntryAmountMax + 1, "USD", "pay"}, "entries[1].amount_minor"},
      {Entry{Account::cash, Account::cash, 5, "USD", "pay"}, "entries[1].credit"},
      {Entry{Account::cash, Account::receivable, 5, "XYZ", "pay"}, "entries[1].currency"},
      {Entry{Account::cash, Account::receivable, 5, "USD", ""}, "entries[1].reference"},
      {Entry{Account::cash, static_cast<Account>(42), 5, "USD", "pay"}, "entries[1].credit"},
  };
  for (const auto& [bad, field] : cases) {
    INFO(field);
    const std::vector<Entry> posting = {good, bad};
    auto applied = apply_entries(ledger, posting);
    REQUIRE_FALSE(applied.has_value());
    CHECK(applied.error().type == error_type::validation_error);
    REQUIRE_FALSE(applied.error().fields.empty());
    CHECK(applied.error().fields[0].field == field);
    CHECK(ledger == before);
  }
  CHECK(apply_entries(ledger, std::vector<Entry>{}).error().type == error_type::limit_exceeded);
  CHECK(apply_entries(ledger, std::vector<Entry>(kEntriesPerPostingMax + 1, good)).error().type == error_type::limit_exceeded);
  CHECK(ledger == before);
  // A negative payment is not silently turned into its opposite.
  CHECK_FALSE(apply_entries(ledger, payment_entries("USD", -100, "pay_2")).has_value());
  CHECK(payment_entries("USD", 0, "pay_3").empty());

  // check_ledger catches a total that is not the sum of its entries.
  Ledger tampered = ledger;
  tampered.totals["USD"][Account::revenue].credits_minor += 1;
  const auto problems = check_ledger(tampered);
  REQUIRE_FALSE(problems.empty());
  CHECK_THAT(problems[0], Catch::Contains("USD revenue"));
  Ledger rewritten = ledger;
  rewritten.entries[0].amount_minor -= 1;
  CHECK_FALSE(check_ledger(rewritten).empty());
}

TEST_CASE("billing ledger: thousands of random valid operations keep the books balanced", "[domain][billing]") {
  const uint64_t seed = 0x7e4a47c1b111ULL;
  INFO("seed " << seed);
  std::mt19937_64 random(seed);
  auto between = [&random](int64_t low, int64_t high) {
    return std::uniform_int_distribution<int64_t>(low, high)(random);
  };
  const std::vector<std::string> currencies = {"USD", "JPY", "EUR"};
  Ledger ledger;
  ledger.tenant_id = "acme";
  int64_t posted_minor = 0;  // the sum of every entry's amount, kept aside
  int operations[5] = {0, 0, 0, 0, 0};
  constexpr int kSteps = 5'000;
  for (int step = 0; step < kSteps; ++step) {
    INFO("step " << step);
    const std::string& currency = currencies[static_cast<size_t>(between(0, 2))];
    const std::string reference = "op_" + std::to_string(step);
    auto holding = [&](Account account) { return holding_minor(ledger, currency, account); };
    std::vector<Entry> entries;
    const int64_t kind = between(0, 4);
    if (kind == 0) {  // charge: an invoice, part of the credit balance applied
      const int64_t subtotal = between(1, 1'000'000);
      const int64_t tax = *round_ratio(subtotal, between(0, 2'500), 10'000);
      const int64_t applied = std::min(holding(Account::credits), between(0, subtotal + tax));
      entries = invoice_entries(invoice(currency, subtotal, tax, applied), reference);
    } else if (kind == 1 && holding(Account::receivable) > 0) {  // payment of part of what is owed
      entries = payment_entries(currency, between(1, holding(Account::receivable)), reference);
    } else if (kind == 2 && holding(Account::revenue) > 0) {  // credit granted, out of revenue earned
      entries = credit_grant_entries(currency, between(1, std::min<int64_t>(50'000, holding(Account::revenue))),
                                     reference);
    } else if (kind == 3 && holding(Account::credits) > 0 && holding(Account::cash) > 0) {  // refund of credit
      entries = refund_entries(currency, between(1, std::min(holding(Account::credits), holding(Account::cash))),
                               reference);
    } else if (kind == 4 && holding(Account::revenue) > 0) {  // credit note on revenue (and tax) earned
      const int64_t amount = between(1, holding(Account::revenue));
      const int64_t tax = between(0, holding(Account::tax_payable));
      const bool unpaid = holding(Account::receivable) >= amount + tax;
      entries = credit_note_entries(currency, amount, tax, !unpaid || between(0, 1) == 1, reference);
    }
    if (entries.empty()) continue;
    ++operations[kind];
    for (const auto& entry : entries) posted_minor += entry.amount_minor;
    post(ledger, entries);

    // The invariant after every step: each balance is the sum of its entries, and
    // debits equal credits in every currency.
    const auto problems = check_ledger(ledger);
    INFO((problems.empty() ? std::string() : problems[0]));
    REQUIRE(problems.empty());
    // And the business meaning of valid operations: nothing goes below zero.
    for (Account account : kAccounts) {
      INFO(account_name(account) << " in " << currency);
      REQUIRE(holding(account) >= 0);
    }

    // Now and then a posting with one bad entry: refused, nothing changes.
    if (step % 97 == 0) {
      const size_t entries_before = ledger.entries.size();
      std::vector<Entry> bad = entries;
      bad.push_back(Entry{Account::cash, Account::cash, 1, currency, reference});
      REQUIRE_FALSE(apply_entries(ledger, bad).has_value());
      REQUIRE(ledger.entries.size() == entries_before);
    }
  }
  int64_t debits = 0, credits = 0;
  for (const auto& [currency, accounts] : ledger.totals) {
    for (const auto& [account, totals] : accounts) {
      debits += totals.debits_minor;
      credits += totals.credits_minor;
    }
  }
  CHECK(debits == posted_minor);
  CHECK(credits == posted_minor);
  for (int count : operations) CHECK(count > 100);  // every kind of operation was exercised
}
