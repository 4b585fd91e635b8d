// The billing account decider: subscriptions, period closes and invoices, payments
// and the dunning path, the ledger after every event, and the issue's known answers
// through whole decisions (not just the calculator).
#include <catch2/catch.hpp>

#include <random>

#include "domain/billing/account.h"
#include "domain/billing_test_support.h"
#include "domain/billing/ledger.h"
#include "domain/billing/wire.h"

using namespace tenantry;
using namespace tenantry::domain;
using namespace tenantry::domain::billing;

namespace {

int64_t at(int year, unsigned month, unsigned day, int64_t hours = 0) { return utc_us(year, month, day, hours * 3600); }
constexpr int64_t kHour = int64_t{3600} * 1'000'000;

using tenantry::domain::billing::testing::d;

PlanVersion monthly(const std::string& id, std::string_view fee) {
  PlanVersion plan;
  plan.plan_id = id;
  plan.name = id;
  plan.base_fee = d(fee);
  return plan;
}

// One tenant's account: decides, applies what was decided, keeps every event.
struct Book {
  v1::BillingStateSnapshot state;
  TenantView tenant{true, v1::TENANT_STATUS_ACTIVE, "basic", "acme"};
  std::vector<AccountEvent> log;
  int64_t now = at(2024, 1, 1);

  std::expected<std::vector<AccountEvent>, DomainError> send(const v1::BillingCommand& command) {
    auto decided = decide(command, state, tenant, Context{now});
    if (!decided) return decided;
    for (const auto& event : *decided) {
      if (const auto* billing = std::get_if<v1::BillingEvent>(&event)) {
        evolve(state, *billing);
      } else {
        const auto& t = std::get<v1::TenantEvent>(event);
        if (t.has_tenant_configured() && t.tenant_configured().has_plan()) tenant.plan = t.tenant_configured().plan();
        if (t.has_tenant_suspended()) tenant.status = v1::TENANT_STATUS_SUSPENDED;
        if (t.has_tenant_reactivated()) tenant.status = v1::TENANT_STATUS_ACTIVE;
      }
      log.push_back(event);
    }
    return decided;
  }
  std::vector<AccountEvent> ok(const v1::BillingCommand& command) {
    auto decided = send(command);
    if (!decided) FAIL(decided.error().type << ": " << decided.error().message);
    return *decided;
  }
  const v1::InvoiceDrafted& last_invoice() const {
    for (auto it = log.rbegin(); it != log.rend(); ++it) {
      if (const auto* e = std::get_if<v1::BillingEvent>(&*it); e && e->has_invoice_drafted()) return e->invoice_drafted();
    }
    FAIL("no invoice");
    static v1::InvoiceDrafted none;
    return none;
  }
};

v1::BillingCommand start(const PlanVersion& plan, int64_t at_us, std::string proration = "second",
                         std::optional<uint32_t> anchor_day = std::nullopt, std::string payment_method = "pm_ok") {
  v1::BillingCommand command;
  auto* s = command.mutable_start_subscription();
  *s->mutable_plan() = plan_to_wire(plan);
  s->set_skip_trial(true);
  s->set_proration(std::move(proration));
  if (anchor_day) s->set_anchor_day(*anchor_day);
  s->set_payment_method(std::move(payment_method));
  s->set_at_us(at_us);
  return command;
}

v1::BillingCommand change(const PlanVersion& plan, int64_t at_us, bool at_once = false) {
  v1::BillingCommand command;
  auto* c = command.mutable_change_subscription_plan();
  *c->mutable_plan() = plan_to_wire(plan);
  c->set_at_once(at_once);
  c->set_at_us(at_us);
  return command;
}

v1::BillingCommand close(const v1::BillingStateSnapshot& state, std::map<std::string, int64_t> units = {},
                         int64_t at_us = 0) {
  v1::BillingCommand command;
  auto* c = command.mutable_close_billing_period();
  *c->mutable_period() = state.period();
  for (const auto& [meter, n] : units) (*c->mutable_usage())[meter].set_units(n);
  c->set_at_us(at_us > 0 ? at_us : state.period().end_us());
  return command;
}

v1::BillingCommand payment(const std::string& invoice, uint32_t attempt, bool succeeded, int64_t at_us,
                           std::string payment_id = "") {
  v1::BillingCommand command;
  auto* p = command.mutable_record_payment();
  p->set_invoice_id(invoice);
  p->set_attempt(attempt);
  p->set_succeeded(succeeded);
  p->set_payment_id(payment_id.empty() ? invoice + "-" + std::to_string(attempt) : payment_id);
  p->set_at_us(at_us);
  if (!succeeded) p->set_failure_code("card_declined");
  return command;
}

// The ledger rebuilt from the events alone, as an auditor would.
Ledger ledger_of(const std::vector<AccountEvent>& log) {
  Ledger ledger;
  auto apply = [&](const google::protobuf::RepeatedPtrField<v1::LedgerEntry>& wire) {
    std::vector<Entry> entries;
    for (const auto& e : wire) entries.push_back(*entry_from_wire(e));
    if (entries.empty()) return;  // an operation of 0 posts nothing
    auto applied = apply_entries(ledger, entries);
    if (!applied) FAIL(applied.error().message << " " << (applied.error().fields.empty() ? "" : applied.error().fields[0].field));
  };
  for (const auto& event : log) {
    const auto* e = std::get_if<v1::BillingEvent>(&event);
    if (e == nullptr) continue;
    if (e->has_invoice_finalized()) apply(e->invoice_finalized().entries());
    if (e->has_payment_succeeded()) apply(e->payment_succeeded().entries());
    if (e->has_invoice_voided()) apply(e->invoice_voided().entries());
    if (e->has_credit_granted()) apply(e->credit_granted().entries());
    if (e->has_credit_note_issued()) apply(e->credit_note_issued().entries());
    if (e->has_refund_issued()) apply(e->refund_issued().entries());
  }
  return ledger;
}

std::vector<v1::SubscriptionStatus> statuses(const std::vector<AccountEvent>& events) {
  std::vector<v1::SubscriptionStatus> out;
  for (const auto& event : events) {
    if (const auto* e = std::get_if<v1::BillingEvent>(&event); e && e->has_subscription_status_changed()) {
      out.push_back(e->subscription_status_changed().to());
    }
  }
  return out;
}

}  // namespace

TEST_CASE("billing account: $10 upgraded to $20 exactly halfway, by the second, nets +$5.00", "[domain][billing]") {
  Book account;
  const PlanVersion ten = monthly("ten", "10"), twenty = monthly("twenty", "20");
  account.ok(start(ten, at(2024, 4, 1)));  // April: 30 days, so halfway is April 16 00:00
  REQUIRE(account.tenant.plan == "ten");
  auto changed = account.ok(change(twenty, at(2024, 4, 16)));
  CHECK(account.tenant.plan == "twenty");  // the entitlement moved in the same decision
  REQUIRE(changed.size() == 2);
  account.ok(close(account.state));
  const auto& invoice = account.last_invoice();
  REQUIRE(invoice.lines_size() == 3);
  CHECK(invoice.lines(0).amount_minor() == 1000);
  CHECK(invoice.lines(1).kind() == "unused_time");
  CHECK(invoice.lines(1).amount_minor() + invoice.lines(2).amount_minor() == 500);
  CHECK(invoice.total_minor() == 1500);
}

TEST_CASE("billing account: $50 a month from August 10, by the day, first invoice $35.48", "[domain][billing]") {
  Book account;
  account.ok(start(monthly("fifty", "50"), at(2024, 8, 10), "day", 1));
  CHECK(period_from_wire(account.state.period()) == Period{at(2024, 8, 1), at(2024, 9, 1)});
  account.ok(close(account.state));
  CHECK(account.last_invoice().total_minor() == 3548);
  CHECK(account.state.invoices(0).display_number() == "acme-000001");
}

TEST_CASE("billing account: usage known answers at the period's close", "[domain][billing]") {
  SECTION("volume pricing of 65,000 calls with a $10 fee: $49.00") {
    PlanVersion plan = monthly("volume", "10");
    plan.charges["api_calls"] =
        MeterCharge{0, VolumeModel{{Tier{0, 10'000, d("0.0010"), {}}, Tier{10'001, 50'000, d("0.0008"), {}},
                                    Tier{50'001, 100'000, d("0.0006"), {}}, Tier{100'001, std::nullopt, d("0.0004"), {}}}}};
    Book account;
    account.ok(start(plan, at(2024, 3, 1)));
    account.ok(close(account.state, {{"api_calls", 65'000}}));
    CHECK(account.last_invoice().total_minor() == 4900);
  }
  SECTION("package pricing, $5 per 100 with the first 100 free, 201 units: $10.00") {
    PlanVersion plan = monthly("package", "0");
    plan.charges["units"] = MeterCharge{0, PackageModel{d("5"), 100, 100}};
    Book account;
    account.ok(start(plan, at(2024, 3, 1)));
    account.ok(close(account.state, {{"units", 201}}));
    CHECK(account.last_invoice().total_minor() == 1000);
  }
  SECTION("graduated percentage over $500, $550 and $4,000: $205 + $306 + $80") {
    PlanVersion plan = monthly("payments", "0");
    plan.charges["payments"] = MeterCharge{
        0, GraduatedPercentageModel{{PercentTier{0, 100'000, d("1"), d("200")},
                                     PercentTier{100'001, 1'000'000, d("2"), d("300")}}}};
    Book account;
    account.ok(start(plan, at(2024, 3, 1)));
    auto command = close(account.state);
    auto& usage = (*command.mutable_close_billing_period()->mutable_usage())["payments"];
    for (int64_t amount : {50'000, 55'000, 400'000}) usage.add_transactions_minor(amount);
    account.ok(command);
    CHECK(account.last_invoice().total_minor() == 20'500 + 30'600 + 8'000);
  }
}

TEST_CASE("billing account: invoice numbers are sequential and never reused", "[domain][billing]") {
  Book account;
  account.ok(start(monthly("ten", "10"), at(2024, 1, 1)));
  account.ok(close(account.state));
  account.ok(close(account.state));
  v1::BillingCommand void_it;
  void_it.mutable_void_invoice()->set_invoice_id("in_000002");
  account.ok(void_it);
  account.ok(close(account.state));
  REQUIRE(account.state.invoices_size() == 3);
  CHECK(account.state.invoices(1).status() == v1::INVOICE_STATUS_VOID);
  CHECK(account.state.invoices(2).invoice_id() == "in_000003");
  CHECK(account.state.invoices(2).number() == 3);
  // Voiding reversed exactly what finalising posted.
  CHECK(account_balance_minor(account.state, "USD", "receivable") == 2000);
  CHECK(check_ledger(ledger_of(account.log)).empty());
}

TEST_CASE("billing account: the dunning path, step by step, and a payment restores service", "[domain][billing]") {
  Book account;
  PlanVersion plan = monthly("ten", "10");
  account.ok(start(plan, at(2024, 1, 1)));
  account.ok(close(account.state));
  const int64_t first = at(2024, 2, 1);
  auto failed = account.ok(payment("in_000001", 1, false, first));
  CHECK(statuses(failed) == std::vector{v1::SUBSCRIPTION_STATUS_PAST_DUE});
  CHECK(account.state.invoices(0).next_retry_at_us() == first + 24 * kHour);
  CHECK(account.ok(payment("in_000001", 1, false, first)).empty());  // the same attempt again: nothing

  account.ok(payment("in_000001", 2, false, first + 24 * kHour));
  auto degraded = account.ok(payment("in_000001", 3, false, first + 48 * kHour));
  CHECK(statuses(degraded) == std::vector{v1::SUBSCRIPTION_STATUS_DEGRADED});
  CHECK_FALSE(writes_allowed(account.state.status()));

  SECTION("paid while degraded: active at once") {
    auto paid = account.ok(payment("in_000001", 4, true, first + 72 * kHour));
    CHECK(statuses(paid) == std::vector{v1::SUBSCRIPTION_STATUS_ACTIVE});
    CHECK(account.state.invoices(0).status() == v1::INVOICE_STATUS_PAID);
    CHECK(account_balance_minor(account.state, "USD", "receivable") == 0);
    // A duplicate webhook for the same payment changes nothing.
    CHECK(account.ok(payment("in_000001", 4, true, first + 73 * kHour)).empty());
  }
  SECTION("suspended, then canceled after the last retry; a late payment still settles") {
    for (uint32_t attempt = 4; attempt <= 5; ++attempt) {
      account.ok(payment("in_000001", attempt, false, first + plan.dunning.retry_after_hours[attempt - 2] * kHour));
    }
    auto suspended = account.ok(payment("in_000001", 6, false, first + 168 * kHour));
    CHECK(statuses(suspended) == std::vector{v1::SUBSCRIPTION_STATUS_SUSPENDED});
    CHECK(account.tenant.status == v1::TENANT_STATUS_SUSPENDED);
    SECTION("paid while suspended: the tenant is reactivated in the same step") {
      auto paid = account.ok(payment("in_000001", 7, true, first + 200 * kHour));
      CHECK(statuses(paid) == std::vector{v1::SUBSCRIPTION_STATUS_ACTIVE});
      CHECK(account.tenant.status == v1::TENANT_STATUS_ACTIVE);
    }
    SECTION("every retry fails") {
      account.ok(payment("in_000001", 7, false, first + 216 * kHour));
      account.ok(payment("in_000001", 8, false, first + 288 * kHour));
      auto last = account.ok(payment("in_000001", 9, false, first + 336 * kHour));
      CHECK(statuses(last) == std::vector{v1::SUBSCRIPTION_STATUS_CANCELED});
      CHECK(account.state.invoices(0).status() == v1::INVOICE_STATUS_UNCOLLECTIBLE);
      CHECK(account.state.invoices(0).next_retry_at_us() == 0);
      account.ok(payment("in_000001", 10, true, first + 400 * kHour));
      CHECK(account.state.invoices(0).status() == v1::INVOICE_STATUS_PAID);
      CHECK(account.state.status() == v1::SUBSCRIPTION_STATUS_CANCELED);
    }
  }
  CHECK(check_ledger(ledger_of(account.log)).empty());
}

TEST_CASE("billing account: bad input is refused and changes nothing", "[domain][billing]") {
  Book account;
  const PlanVersion pro = *builtin_plan("pro");
  account.ok(start(pro, at(2024, 1, 1)));
  const std::string before = account.state.SerializeAsString();

  SECTION("an unknown currency names the field") {
    PlanVersion odd = monthly("odd", "10");
    odd.currency = "XYZ";
    auto refused = account.send(change(odd, at(2024, 1, 5)));
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().type == "validation_error");
    CHECK(refused.error().fields.at(0).field == "plan.currency");
  }
  SECTION("a downgrade below current usage") {
    PlanVersion small = *builtin_plan("free");
    small.features["quota.storage_bytes"] = "1000";
    auto command = change(small, at(2024, 1, 5), true);
    (*command.mutable_change_subscription_plan()->mutable_current_usage())["storage_bytes"] = 5000;
    auto refused = account.send(command);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().type == "invalid_transition");
    CHECK(refused.error().fields.at(0).field == "current_usage.storage_bytes");
  }
  SECTION("a payment for an unknown invoice") {
    auto refused = account.send(payment("in_000042", 1, true, at(2024, 1, 5)));
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().type == "not_found");
  }
  SECTION("closing a period that has not ended, or another period") {
    auto early = account.send(close(account.state, {}, at(2024, 1, 20)));
    REQUIRE_FALSE(early.has_value());
    CHECK(early.error().type == "invalid_transition");
    auto other = close(account.state);
    other.mutable_close_billing_period()->mutable_period()->set_start_us(at(2023, 12, 1));
    auto refused = account.send(other);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().fields.at(0).field == "period");
  }
  SECTION("a second subscription") {
    auto refused = account.send(start(pro, at(2024, 1, 2)));
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().type == "already_exists");
  }
  CHECK(account.state.SerializeAsString() == before);
}

TEST_CASE("billing account: downgrades wait for the period's end, cancel and resume", "[domain][billing]") {
  Book account;
  account.ok(start(monthly("twenty", "20"), at(2024, 4, 1)));
  account.ok(change(monthly("ten", "10"), at(2024, 4, 10)));
  CHECK(account.tenant.plan == "twenty");  // still entitled to what was paid for
  account.ok(close(account.state));
  CHECK(account.last_invoice().total_minor() == 2000);
  CHECK(account.tenant.plan == "ten");
  CHECK(account.state.plan().plan_id() == "ten");

  v1::BillingCommand cancel;
  cancel.mutable_cancel_subscription()->set_at_us(at(2024, 5, 3));
  account.ok(cancel);
  v1::BillingCommand resume;
  resume.mutable_resume_subscription();
  account.ok(resume);
  account.ok(cancel);
  account.ok(close(account.state));
  CHECK(account.state.status() == v1::SUBSCRIPTION_STATUS_CANCELED);
  CHECK(account.state.period().end_us() == 0);
  CHECK(account.last_invoice().total_minor() == 1000);
}

TEST_CASE("billing account: the ledger balances after every event of long random runs", "[domain][billing]") {
  const std::vector<PlanVersion> plans = {monthly("a", "10"), monthly("b", "20"), monthly("c", "35.50")};
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 random(seed);
    Book account;
    int64_t now = at(2024, 1, 1);
    account.ok(start(plans[0], now));
    uint32_t attempts = 0;
    for (int step = 0; step < 200; ++step) {
      now += static_cast<int64_t>(random() % 72 + 1) * kHour;
      account.now = now;
      v1::BillingCommand command;
      switch (random() % 7) {
        case 0: command = change(plans[random() % plans.size()], now, random() % 2 == 0); break;
        case 1:
          if (account.state.period().end_us() > 0 && now >= account.state.period().end_us()) {
            command = close(account.state, {}, now);
          } else {
            command = change(plans[random() % plans.size()], now);
          }
          break;
        case 2:
        case 3:
          if (account.state.invoices_size() > 0) {
            const auto& invoice = account.state.invoices(random() % account.state.invoices_size());
            command = payment(invoice.invoice_id(), ++attempts, random() % 3 != 0, now);
          }
          break;
        case 4: {
          command.mutable_grant_credit()->set_amount_minor(static_cast<int64_t>(random() % 2000 + 1));
          command.mutable_grant_credit()->set_currency("USD");
          break;
        }
        case 5:
          if (account.state.invoices_size() > 0) {
            command.mutable_void_invoice()->set_invoice_id(
                account.state.invoices(random() % account.state.invoices_size()).invoice_id());
          }
          break;
        case 6:
          if (account.state.status() == v1::SUBSCRIPTION_STATUS_CANCELED && account.state.period().end_us() == 0) {
            command = start(plans[random() % plans.size()], now);
          } else if (account.state.invoices_size() > 0 && random() % 2 == 0) {
            auto* note = command.mutable_issue_credit_note();
            note->set_invoice_id(account.state.invoices(random() % account.state.invoices_size()).invoice_id());
            note->set_amount_minor(static_cast<int64_t>(random() % 1500 + 1));
          } else {
            command.mutable_refund_credit()->set_amount_minor(static_cast<int64_t>(random() % 1500 + 1));
            command.mutable_refund_credit()->set_currency("USD");
          }
          break;
      }
      if (command.command_case() == v1::BillingCommand::COMMAND_NOT_SET) continue;
      (void)account.send(command);  // refusals are part of the run; they must change nothing
      const Ledger ledger = ledger_of(account.log);
      INFO("seed " << seed << " step " << step);
      REQUIRE(check_ledger(ledger).empty());
      for (const char* name : {"receivable", "cash", "revenue", "tax_payable", "credits"}) {
        REQUIRE(account_balance_minor(account.state, "USD", name) ==
                balance_minor(ledger, "USD", *account_from(name)));
      }
    }
  }
}

TEST_CASE("billing account: test clocks move forwards only, and bound what commands may do", "[domain][billing]") {
  Book account;
  v1::BillingCommand attach;
  attach.mutable_attach_test_clock()->set_now_us(at(2024, 1, 1));
  account.ok(attach);
  account.ok(start(monthly("ten", "10"), 0));
  CHECK(account.state.started_at_us() == at(2024, 1, 1));  // the clock's time, not the context's
  auto early = account.send(close(account.state));
  REQUIRE_FALSE(early.has_value());
  CHECK(early.error().fields.at(0).field == "at_us");  // past the clock
  v1::BillingCommand advance;
  advance.mutable_advance_test_clock()->set_to_us(at(2024, 2, 1));
  account.ok(advance);
  account.ok(close(account.state));
  advance.mutable_advance_test_clock()->set_to_us(at(2024, 1, 15));
  auto back = account.send(advance);
  REQUIRE_FALSE(back.has_value());
  CHECK(back.error().fields.at(0).field == "to_us");
}

TEST_CASE("billing catalog: published versions follow the version rules, subscriptions keep theirs", "[domain][billing]") {
  v1::BillingStateSnapshot catalog;
  const TenantView none{};
  const Context on_catalog{at(2024, 1, 1), kCatalogStream};
  auto publish = [&](const PlanVersion& plan) {
    v1::BillingCommand command;
    *command.mutable_publish_plan_version()->mutable_plan() = plan_to_wire(plan);
    return decide(command, catalog, none, on_catalog);
  };
  PlanVersion pro = *builtin_plan("pro");
  pro.base_fee = d("129");
  auto published = publish(pro);
  REQUIRE(published.has_value());
  const auto& event = std::get<v1::BillingEvent>(published->at(0));
  CHECK(event.plan_version_published().plan().version() == 2);  // the built-in one is version 1
  evolve(catalog, event);
  CHECK(publish(pro).error().fields.at(0).field == "plan");  // nothing changed
  pro.currency = "EUR";
  CHECK(publish(pro).error().fields.at(0).field == "plan.currency");
  PlanVersion fresh = monthly("team", "15");
  auto first = publish(fresh);
  REQUIRE(first.has_value());
  CHECK(std::get<v1::BillingEvent>(first->at(0)).plan_version_published().plan().version() == 1);

  // Only on the catalog stream, and nothing else there.
  v1::BillingCommand command;
  *command.mutable_publish_plan_version()->mutable_plan() = plan_to_wire(fresh);
  const TenantView tenant{true, v1::TENANT_STATUS_ACTIVE, "free", "acme"};
  CHECK(decide(command, {}, tenant, Context{at(2024, 1, 1), "acme"}).error().type == "invalid_transition");
  CHECK(decide(start(fresh, at(2024, 1, 1)), catalog, none, on_catalog).error().type == "invalid_transition");
}

TEST_CASE("billing account: credit notes and refunds, with tax in proportion", "[domain][billing]") {
  Book account;
  account.ok(start(monthly("hundred", "100"), at(2024, 1, 1)));
  v1::BillingCommand tax;
  tax.mutable_set_tax_rate()->set_tax_rate_bp(2000);
  account.ok(tax);
  account.ok(close(account.state));
  REQUIRE(account.state.invoices(0).total_minor() == 12000);  // $100 + 20%

  SECTION("on an open invoice: off what is owed") {
    v1::BillingCommand note;
    note.mutable_issue_credit_note()->set_invoice_id("in_000001");
    note.mutable_issue_credit_note()->set_amount_minor(3000);
    auto issued = account.ok(note);
    CHECK(std::get<v1::BillingEvent>(issued[0]).credit_note_issued().tax_minor() == 500);  // 2000 x 3000 / 12000
    CHECK(amount_due_minor(account.state.invoices(0)) == 9000);
    CHECK(account_balance_minor(account.state, "USD", "receivable") == 9000);
    note.mutable_issue_credit_note()->set_amount_minor(9001);
    CHECK(account.send(note).error().fields.at(0).field == "amount_minor");
    account.ok(payment("in_000001", 1, true, at(2024, 2, 2)));
    CHECK(account.state.invoices(0).status() == v1::INVOICE_STATUS_PAID);
    CHECK(account.state.invoices(0).paid_minor() == 9000);
  }
  SECTION("on a paid invoice: to the credit balance, which can be refunded") {
    account.ok(payment("in_000001", 1, true, at(2024, 2, 2)));
    v1::BillingCommand note;
    note.mutable_issue_credit_note()->set_invoice_id("in_000001");
    note.mutable_issue_credit_note()->set_amount_minor(6000);
    account.ok(note);
    CHECK(credit_balance_minor(account.state, "USD") == 6000);
    v1::BillingCommand refund;
    refund.mutable_refund_credit()->set_amount_minor(6001);
    refund.mutable_refund_credit()->set_currency("USD");
    CHECK(account.send(refund).error().fields.at(0).field == "amount_minor");
    refund.mutable_refund_credit()->set_amount_minor(4000);
    account.ok(refund);
    CHECK(credit_balance_minor(account.state, "USD") == 2000);
    CHECK(account_balance_minor(account.state, "USD", "cash") == 12000 - 4000);
  }
  CHECK(check_ledger(ledger_of(account.log)).empty());
}

TEST_CASE("billing wire: a plan's malformed decimals are named by their fields", "[domain][billing]") {
  v1::PlanSpec spec = plan_to_wire(monthly("custom", "10"));
  spec.set_base_fee("1e3");
  auto& charges = *spec.mutable_charges();
  charges["calls"].mutable_standard()->set_unit_price("x");
  auto* tier = charges["rows"].mutable_graduated()->add_tiers();
  tier->set_unit_price("1.2.3");
  charges["packs"].mutable_package()->set_package_price("");
  charges["packs"].mutable_package()->set_package_size(10);
  charges["fees"].mutable_percentage()->set_percent("0.0000000000001");
  auto* percent_tier = charges["cuts"].mutable_graduated_percentage()->add_tiers();
  percent_tier->set_percent("1");
  percent_tier->set_flat_fee("--1");
  auto plan = plan_from_wire(spec, "plan");
  REQUIRE_FALSE(plan.has_value());
  std::map<std::string, std::string> fields;
  for (const auto& field : plan.error().fields) {
    UNSCOPED_INFO(field.field << ": " << field.message);
    fields[field.field] = field.message;
  }
  const std::string shape = "must be a decimal number such as 10, 0.5 or 0.0004 (digits, at most one '.', no "
                            "exponent, no separators)";
  CHECK(fields == std::map<std::string, std::string>{
                      {"plan.base_fee", shape},
                      {"plan.charges.calls.standard.unit_price", shape},
                      {"plan.charges.rows.graduated.tiers[0].unit_price", shape},
                      {"plan.charges.packs.package.package_price", shape},
                      {"plan.charges.fees.percentage.percent", "at most 12 decimal places"},
                      {"plan.charges.cuts.graduated_percentage.tiers[0].flat_fee", shape},
                  });
}
