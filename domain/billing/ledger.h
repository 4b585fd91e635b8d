// A tenant's double-entry ledger as pure data: every movement of money is an entry
// that debits one account and credits another by the same positive amount, in one
// currency. Balances are kept per currency and account beside the entries, and
// check_ledger proves them: each balance is the sum of its entries, and debits equal
// credits. Amounts are minor units (already rounded: the ledger never rounds).
//
// Accounts, and which side they grow on:
//   receivable   (debit)   what the tenant owes
//   cash         (debit)   what was collected
//   revenue      (credit)  what was earned
//   tax_payable  (credit)  tax collected for the authorities
//   credits      (credit)  what the platform owes the tenant: its credit balance
// The entries of each business operation are built by the functions at the end, so
// that every caller posts an operation the same way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "domain/billing/invoice.h"
#include "domain/errors.h"

namespace tenantry::domain::billing {

enum class Account { receivable, cash, revenue, tax_payable, credits };
inline constexpr Account kAccounts[] = {Account::receivable, Account::cash, Account::revenue, Account::tax_payable,
                                        Account::credits};
const char* account_name(Account account);
std::optional<Account> account_from(std::string_view name);
// receivable and cash grow by debits; the others by credits.
bool debit_normal(Account account);

inline constexpr int64_t kEntryAmountMax = 1'000'000'000'000'000;  // 10^15 minor units
inline constexpr size_t kEntriesPerPostingMax = 8;
inline constexpr size_t kReferenceMax = 128;

struct Entry {
  Account debit = Account::receivable;
  Account credit = Account::revenue;
  int64_t amount_minor = 0;   // > 0
  std::string currency;       // ISO 4217, one billing knows
  std::string reference;      // what caused it: "inv_2024_0001", "pay_8d1f"; 1-128 characters

  bool operator==(const Entry&) const = default;
};

struct AccountTotals {
  int64_t debits_minor = 0;
  int64_t credits_minor = 0;

  // Signed, debits positive: a receivable of 500 is 500, a revenue of 500 is -500.
  int64_t balance_minor() const { return debits_minor - credits_minor; }
  bool operator==(const AccountTotals&) const = default;
};

struct Ledger {
  std::string tenant_id;
  std::vector<Entry> entries;                                       // every entry applied, in order
  std::map<std::string, std::map<Account, AccountTotals>> totals;   // currency -> account -> totals

  bool operator==(const Ledger&) const = default;
};

// Posts `entries` together (one business operation): all or none. On an error the
// ledger is unchanged. Errors: validation (fields "entries[1].amount_minor",
// "entries[0].credit", ...: an amount not in 1..10^15, the same account on both
// sides, an unknown currency, a missing or long reference), limit_exceeded (more than
// 8 entries at once, or a total that would overflow).
std::expected<void, DomainError> apply_entries(Ledger& ledger, std::span<const Entry> entries);

// Every inconsistency, as sentences; empty when the ledger is sound: each stored total
// equals the sum of its entries, each entry is well formed, and in every currency
// total debits equal total credits (so the balances sum to zero).
std::vector<std::string> check_ledger(const Ledger& ledger);

// Debit-positive balance; 0 for an account never posted to.
int64_t balance_minor(const Ledger& ledger, std::string_view currency, Account account);
// The same, positive on the account's normal side: what it holds.
int64_t holding_minor(const Ledger& ledger, std::string_view currency, Account account);

// The entries of each operation (amounts of 0 post nothing).
// An invoice issued: receivable to revenue and tax_payable, the credit balance applied
// (credits to receivable); a negative invoice moves its amount to credits.
std::vector<Entry> invoice_entries(const Invoice& invoice, std::string_view reference);
// A payment received: cash from receivable.
std::vector<Entry> payment_entries(std::string_view currency, int64_t amount_minor, std::string_view reference);
// A credit granted (goodwill, promotion): revenue given back as credit balance.
std::vector<Entry> credit_grant_entries(std::string_view currency, int64_t amount_minor, std::string_view reference);
// A credit note on an issued invoice: its revenue and tax reversed, against what the
// tenant still owes (receivable) or, once paid, as credit balance.
std::vector<Entry> credit_note_entries(std::string_view currency, int64_t amount_minor, int64_t tax_minor,
                                       bool invoice_paid, std::string_view reference);
// A refund: credit balance paid out in cash.
std::vector<Entry> refund_entries(std::string_view currency, int64_t amount_minor, std::string_view reference);

}  // namespace tenantry::domain::billing
