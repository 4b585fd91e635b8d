#include "domain/billing/ledger.h"

#include <algorithm>
#include <array>
#include <iterator>

namespace tenantry::domain::billing {

namespace {

// check_ledger indexes arrays by the account's value.
static_assert(static_cast<size_t>(Account::credits) + 1 == std::size(kAccounts));

bool known(Account account) {
  return std::find(std::begin(kAccounts), std::end(kAccounts), account) != std::end(kAccounts);
}

void post(std::vector<Entry>& out, Account debit, Account credit, int64_t amount_minor, std::string_view currency,
          std::string_view reference) {
  // A negative amount is kept as given, for apply_entries to refuse: a builder never turns a
  // mistaken sign into the opposite movement.
  if (amount_minor == 0) return;
  out.push_back(Entry{debit, credit, amount_minor, std::string(currency), std::string(reference)});
}

std::vector<FieldError> entry_errors(const Entry& entry, const std::string& at) {
  std::vector<FieldError> errors;
  if (!known(entry.debit)) errors.push_back({at + ".debit", "unknown account"});
  if (!known(entry.credit)) errors.push_back({at + ".credit", "unknown account"});
  if (entry.debit == entry.credit) errors.push_back({at + ".credit", "must differ from the debit account"});
  if (entry.amount_minor <= 0 || entry.amount_minor > kEntryAmountMax) {
    errors.push_back({at + ".amount_minor", "must be 1 to 10^15 minor units"});
  }
  if (!find_currency(entry.currency)) errors.push_back({at + ".currency", "unknown currency"});
  if (entry.reference.empty() || entry.reference.size() > kReferenceMax) {
    errors.push_back({at + ".reference", "must be 1 to 128 characters"});
  }
  return errors;
}

bool add(int64_t& into, int64_t amount) { return !__builtin_add_overflow(into, amount, &into); }

}  // namespace

const char* account_name(Account account) {
  switch (account) {
    case Account::receivable: return "receivable";
    case Account::cash: return "cash";
    case Account::revenue: return "revenue";
    case Account::tax_payable: return "tax_payable";
    case Account::credits: return "credits";
  }
  return "unknown";
}

std::optional<Account> account_from(std::string_view name) {
  for (Account account : kAccounts) {
    if (name == account_name(account)) return account;
  }
  return std::nullopt;
}

bool debit_normal(Account account) { return account == Account::receivable || account == Account::cash; }

std::expected<void, DomainError> apply_entries(Ledger& ledger, std::span<const Entry> entries) {
  if (entries.empty() || entries.size() > kEntriesPerPostingMax) {
    return std::unexpected(make_error(error_type::limit_exceeded, "a posting has 1 to 8 entries",
                                      {{"entries", "1 to 8 entries"}}));
  }
  std::vector<FieldError> errors;
  for (size_t i = 0; i < entries.size(); ++i) {
    auto found = entry_errors(entries[i], "entries[" + std::to_string(i) + "]");
    errors.insert(errors.end(), found.begin(), found.end());
  }
  if (!errors.empty()) return std::unexpected(validation_failed(std::move(errors)));
  // Compute the new totals aside, then commit: all or none.
  auto totals = ledger.totals;
  for (const Entry& entry : entries) {
    auto& accounts = totals[entry.currency];
    if (!add(accounts[entry.debit].debits_minor, entry.amount_minor) ||
        !add(accounts[entry.credit].credits_minor, entry.amount_minor)) {
      return std::unexpected(make_error(error_type::limit_exceeded, "an account total would overflow"));
    }
  }
  ledger.totals = std::move(totals);
  ledger.entries.insert(ledger.entries.end(), entries.begin(), entries.end());
  return {};
}

std::vector<std::string> check_ledger(const Ledger& ledger) {
  constexpr size_t kProblemsMax = 32;
  std::vector<std::string> problems;
  auto problem = [&problems](std::string text) {
    if (problems.size() < kProblemsMax) problems.push_back(std::move(text));
  };
  // Recomputed from the entries alone. A ledger holds a handful of currencies, so a
  // short vector searched linearly beats a map on this path (it runs over every
  // entry), and each currency is looked up in the table once.
  struct Book {
    std::string currency;
    bool known = false;
    std::array<AccountTotals, std::size(kAccounts)> accounts{};
    std::array<bool, std::size(kAccounts)> posted{};
  };
  std::vector<Book> books;
  auto book_of = [&books](const std::string& currency) -> Book& {
    for (auto& book : books) {
      if (book.currency == currency) return book;
    }
    books.push_back(Book{currency, find_currency(currency).has_value(), {}, {}});
    return books.back();
  };
  for (size_t i = 0; i < ledger.entries.size(); ++i) {
    const Entry& entry = ledger.entries[i];
    Book& book = book_of(entry.currency);
    const auto debit = static_cast<size_t>(entry.debit);
    const auto credit = static_cast<size_t>(entry.credit);
    if (!book.known || !known(entry.debit) || !known(entry.credit) || debit == credit || entry.amount_minor <= 0 ||
        entry.amount_minor > kEntryAmountMax || entry.reference.empty() || entry.reference.size() > kReferenceMax) {
      problem("entry " + std::to_string(i) + " is malformed");
      if (!known(entry.debit) || !known(entry.credit)) continue;
    }
    book.posted[debit] = book.posted[credit] = true;
    if (!add(book.accounts[debit].debits_minor, entry.amount_minor) ||
        !add(book.accounts[credit].credits_minor, entry.amount_minor)) {
      problem("entry " + std::to_string(i) + " overflows its account's total");
    }
  }
  auto describe = [](const std::string& currency, Account account) {
    return currency + " " + account_name(account);
  };
  for (const auto& [currency, accounts] : ledger.totals) {
    int64_t debits = 0, credits = 0, balances = 0;
    const Book* book = nullptr;
    for (const auto& b : books) {
      if (b.currency == currency) book = &b;
    }
    for (const auto& [account, totals] : accounts) {
      if (!known(account)) {
        problem(currency + " has a total for an unknown account");
        continue;
      }
      const AccountTotals expected = book ? book->accounts[static_cast<size_t>(account)] : AccountTotals{};
      if (totals != expected) {
        problem(describe(currency, account) + " holds debits " + std::to_string(totals.debits_minor) +
                " and credits " + std::to_string(totals.credits_minor) + "; its entries sum to " +
                std::to_string(expected.debits_minor) + " and " + std::to_string(expected.credits_minor));
      }
      if (!add(debits, totals.debits_minor) || !add(credits, totals.credits_minor) ||
          !add(balances, totals.balance_minor())) {
        problem(currency + " totals overflow");
      }
    }
    if (debits != credits) {
      problem(currency + " debits " + std::to_string(debits) + " differ from credits " + std::to_string(credits));
    }
    if (balances != 0) problem(currency + " balances sum to " + std::to_string(balances) + ", not 0");
  }
  for (const auto& book : books) {
    const auto stored = ledger.totals.find(book.currency);
    for (Account account : kAccounts) {
      if (!book.posted[static_cast<size_t>(account)]) continue;
      if (stored == ledger.totals.end() || !stored->second.contains(account)) {
        problem(describe(book.currency, account) + " has entries but no stored total");
      }
    }
  }
  return problems;
}

int64_t balance_minor(const Ledger& ledger, std::string_view currency, Account account) {
  const auto c = ledger.totals.find(std::string(currency));
  if (c == ledger.totals.end()) return 0;
  const auto a = c->second.find(account);
  return a == c->second.end() ? 0 : a->second.balance_minor();
}

int64_t holding_minor(const Ledger& ledger, std::string_view currency, Account account) {
  const int64_t balance = balance_minor(ledger, currency, account);
  return debit_normal(account) ? balance : -balance;
}

std::vector<Entry> invoice_entries(const Invoice& invoice, std::string_view reference) {
  std::vector<Entry> out;
  // A negative subtotal (unused time credited) reverses revenue and tax into the
  // tenant's credit balance; a positive one is owed.
  if (invoice.subtotal_minor >= 0) {
    post(out, Account::receivable, Account::revenue, invoice.subtotal_minor, invoice.currency, reference);
    post(out, Account::receivable, Account::tax_payable, invoice.tax_minor, invoice.currency, reference);
  } else {
    post(out, Account::revenue, Account::credits, -invoice.subtotal_minor, invoice.currency, reference);
    post(out, Account::tax_payable, Account::credits, -invoice.tax_minor, invoice.currency, reference);
  }
  post(out, Account::credits, Account::receivable, invoice.credits_applied_minor, invoice.currency, reference);
  return out;
}

std::vector<Entry> payment_entries(std::string_view currency, int64_t amount_minor, std::string_view reference) {
  std::vector<Entry> out;
  post(out, Account::cash, Account::receivable, amount_minor, currency, reference);
  return out;
}

std::vector<Entry> credit_grant_entries(std::string_view currency, int64_t amount_minor, std::string_view reference) {
  std::vector<Entry> out;
  post(out, Account::revenue, Account::credits, amount_minor, currency, reference);
  return out;
}

std::vector<Entry> credit_note_entries(std::string_view currency, int64_t amount_minor, int64_t tax_minor,
                                       bool invoice_paid, std::string_view reference) {
  std::vector<Entry> out;
  const Account against = invoice_paid ? Account::credits : Account::receivable;
  post(out, Account::revenue, against, amount_minor, currency, reference);
  post(out, Account::tax_payable, against, tax_minor, currency, reference);
  return out;
}

std::vector<Entry> refund_entries(std::string_view currency, int64_t amount_minor, std::string_view reference) {
  std::vector<Entry> out;
  post(out, Account::credits, Account::cash, amount_minor, currency, reference);
  return out;
}

}  // namespace tenantry::domain::billing
