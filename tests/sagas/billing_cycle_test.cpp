// The billing saga end to end on the embedded log: the command processor, the billing
// read model, the test payment provider and a tenant on a test clock. A year of a
// subscription with an upgrade, a downgrade and failed payments is compared line by
// line with an expectation computed here independently; a saga pass repeated (as
// after a crash between steps) issues no invoice and no charge twice.
#include <catch2/catch.hpp>

#include "commands/command_client.h"
#include "commands/command_processor.h"
#include "commands/tenant_aggregate.h"
#include "connectors/payments/test_provider.h"
#include "domain/billing/account.h"
#include "domain/billing/periods.h"
#include "domain/billing/wire.h"
#include "log/embedded_harness.h"
#include "projections/billing/billing_model.h"
#include "projections/projection_runner.h"
#include "sagas/billing_cycle.h"
#include "test_support.h"
#include "tenantry/v1/tenant.pb.h"

using namespace tenantry;
using namespace std::chrono_literals;
using domain::billing::utc_us;

namespace {

constexpr const char* kTenant = "acme";

domain::billing::PlanVersion plan(const std::string& id, int64_t fee_dollars) {
  domain::billing::PlanVersion p;
  p.plan_id = id;
  p.name = id;
  p.base_fee = domain::billing::Decimal{fee_dollars, 0};
  p.charges["api_calls"] = domain::billing::MeterCharge{0, domain::billing::StandardModel{{1, 2}}};  // $0.01
  return p;
}

v1::CommandEnvelope command(const google::protobuf::Message& body, const std::string& id) {
  v1::CommandEnvelope c;
  c.set_command_id(id);
  c.set_tenant_id(kTenant);
  c.set_command_type(body.GetDescriptor()->full_name());
  c.set_payload(body.SerializeAsString());
  return c;
}

struct World {
  EmbeddedHarness harness;
  testing::ScratchDir dir;
  std::unique_ptr<store::RocksStore> store;
  clock::ManualClock clock{utc_us(2026, 11, 1)};
  commands::TenantAggregate aggregate;
  std::unique_ptr<commands::CommandProcessor> processor;
  projections::BillingModel model;
  std::unique_ptr<projections::ProjectionRunner> runner;
  std::unique_ptr<commands::CommandClient> client;
  std::unique_ptr<payments::TestPaymentProvider> provider;
  std::unique_ptr<projections::BillingQueries> queries;
  std::unique_ptr<sagas::BillingSaga> saga;
  int commands = 0;

  World() {
    for (const char* topic : {"tenantry.commands", "tenantry.events", "tenantry.replies"}) {
      REQUIRE(harness.log().create_topic({topic, 2}).has_value());
    }
    auto families = commands::CommandProcessor::store_families();
    families.push_back(projections::kBillingFamily);
    families.push_back(projections::kOffsetsFamily);
    families.push_back(payments::kTestProviderFamily);
    auto opened = store::RocksStore::open({(dir.path() / "state").string(), families});
    REQUIRE(opened.has_value());
    store = std::move(*opened);
    processor = std::make_unique<commands::CommandProcessor>(harness.log(), *store, aggregate, clock);
    REQUIRE(processor->start().has_value());
    runner = std::make_unique<projections::ProjectionRunner>(harness.log(), *store, model);
    REQUIRE(runner->start().has_value());
    auto started = commands::CommandClient::start(harness.log());
    REQUIRE(started.has_value());
    client = std::move(*started);
    provider = std::make_unique<payments::TestPaymentProvider>(*store);
    queries = std::make_unique<projections::BillingQueries>(*store);
    // api_calls: 100 calls per month of the period's start (January 100, ...).
    auto usage = [](const std::string&, const std::vector<std::string>& meters, const domain::billing::Period& period)
        -> log::Result<std::map<std::string, v1::MeterUsage>> {
      std::map<std::string, v1::MeterUsage> out;
      const int month = std::stoi(domain::billing::format_date(period.start_us).substr(5, 2));
      for (const auto& meter : meters) out[meter].set_units(100 * month);
      return out;
    };
    saga = std::make_unique<sagas::BillingSaga>(*queries, *client, *provider, clock, usage);
  }
  ~World() {
    runner->stop();
    processor->stop();
  }

  v1::CommandReply send(const google::protobuf::Message& body) {
    auto reply = client->execute(command(body, "cmd-" + std::to_string(++commands)), 30s);
    REQUIRE(reply.has_value());
    INFO(body.GetDescriptor()->name() << " " << reply->error_type() << ": " << reply->message() << " "
                                      << (reply->field_errors_size() > 0 ? reply->field_errors(0).field() + " " +
                                                                              reply->field_errors(0).message()
                                                                        : ""));
    REQUIRE(reply->status() == v1::CommandReply::STATUS_ACCEPTED);
    for (int i = 0; i < 5000; ++i) {
      auto seen = queries->sequence(kTenant);
      REQUIRE(seen.has_value());
      if (*seen >= reply->resulting_sequence()) break;
      std::this_thread::sleep_for(2ms);
    }
    return *reply;
  }

  void register_acme() {
    v1::RegisterTenant registration;
    registration.set_slug("acme");
    registration.set_display_name("Acme");
    registration.set_plan("basic");
    registration.set_isolation_tier(v1::ISOLATION_TIER_SHARED);
    registration.set_region("eu-west-1");
    registration.mutable_admin_contact()->set_name("Ops");
    registration.mutable_admin_contact()->set_email("ops@example.com");
    send(registration);
  }

  // Moves the tenant's test clock and runs everything that fell due.
  void advance_to(int64_t to_us) {
    v1::AdvanceTestClock advance;
    advance.set_to_us(to_us);
    send(advance);
    auto ran = saga->run_tenant(kTenant);
    INFO((ran ? std::string() : ran.error().message));
    REQUIRE(ran.has_value());
  }

  v1::BillingStateSnapshot state() {
    auto found = queries->state(kTenant);
    REQUIRE(found.has_value());
    REQUIRE(found->has_value());
    return **found;
  }
};

// Half to even, on integers: the rule stated in money.h, computed here on its own.
int64_t prorate(int64_t cents, int64_t days_left, int64_t days) {
  const int64_t whole = cents * days_left / days;
  const int64_t rest = cents * days_left % days;
  if (2 * rest > days || (2 * rest == days && whole % 2 == 1)) return whole + 1;
  return whole;
}

}  // namespace

TEST_CASE("billing saga: a year on a test clock, line by line, with an upgrade, a downgrade and failed payments",
          "[sagas][billing]") {
  World world;
  world.register_acme();
  v1::AttachTestClock attach;
  attach.set_now_us(utc_us(2025, 1, 1));
  world.send(attach);

  v1::StartSubscription start;
  *start.mutable_plan() = domain::billing::plan_to_wire(plan("ten", 10));
  start.set_skip_trial(true);
  start.set_proration("day");
  start.set_payment_method("pm_ok");
  world.send(start);

  // March 16: upgrade to $20 at once (16 of March's 31 days left).
  world.advance_to(utc_us(2025, 3, 16));
  v1::ChangeSubscriptionPlan upgrade;
  *upgrade.mutable_plan() = domain::billing::plan_to_wire(plan("twenty", 20));
  world.send(upgrade);
  // June 10: downgrade to $10, at the period's end.
  world.advance_to(utc_us(2025, 6, 10));
  v1::ChangeSubscriptionPlan downgrade;
  *downgrade.mutable_plan() = domain::billing::plan_to_wire(plan("ten", 10));
  world.send(downgrade);
  // September 20: a card that declines. September's invoice (closed October 1) fails
  // at once and at its first retry a day later...
  world.advance_to(utc_us(2025, 9, 20));
  v1::SetPaymentMethod declining;
  declining.set_payment_method("pm_decline");
  world.send(declining);
  world.advance_to(utc_us(2025, 10, 2, 12 * 3600));
  CHECK(world.state().status() == v1::SUBSCRIPTION_STATUS_PAST_DUE);
  // ... then a working card; the retry on October 3 settles it and restores service.
  v1::SetPaymentMethod working;
  working.set_payment_method("pm_ok");
  world.send(working);
  world.advance_to(utc_us(2026, 1, 1));
  CHECK(world.state().status() == v1::SUBSCRIPTION_STATUS_ACTIVE);

  // Independently: each month's fee (with March's proration) and 100 calls per month
  // number at a cent each.
  std::vector<std::vector<int64_t>> expected;  // per invoice: its lines' amounts
  for (int month = 1; month <= 12; ++month) {
    const int64_t usage = 100 * month;
    if (month == 3) {
      expected.push_back({1000, -prorate(1000, 16, 31), prorate(2000, 16, 31), usage});
    } else if (month >= 4 && month <= 6) {
      expected.push_back({2000, usage});
    } else {
      expected.push_back({1000, usage});
    }
  }
  auto invoices = world.queries->invoices(kTenant, "", 100);
  REQUIRE(invoices.has_value());
  REQUIRE(invoices->size() == 12);
  for (size_t i = 0; i < 12; ++i) {
    const auto& doc = (*invoices)[i];
    INFO("invoice " << i + 1);
    CHECK(doc.finalized().number() == i + 1);
    CHECK(doc.draft().period().start_us() == utc_us(2025, static_cast<unsigned>(i + 1), 1));
    std::vector<int64_t> lines;
    int64_t total = 0;
    for (const auto& line : doc.draft().lines()) {
      lines.push_back(line.amount_minor());
      total += line.amount_minor();
    }
    CHECK(lines == expected[i]);
    CHECK(doc.draft().total_minor() == total);
    CHECK(doc.status() == v1::INVOICE_STATUS_PAID);
    CHECK(doc.failures_size() == (i == 8 ? 2 : 0));
  }
  // 12 payments and 2 declines, each asked once.
  auto charges = world.provider->charges_count();
  REQUIRE(charges.has_value());
  CHECK(*charges == 14);

  // A pass repeated (as after a crash between steps) finds nothing new to do.
  auto again = world.saga->run_tenant(kTenant);
  REQUIRE(again.has_value());
  CHECK(again->closed == 0);
  CHECK(again->charged == 0);
  CHECK(*world.provider->charges_count() == 14);
  const auto state = world.state();
  CHECK(state.invoices_issued() == 12);
  CHECK(domain::billing::account_balance_minor(state, "USD", "receivable") == 0);
}

TEST_CASE("billing saga: each step repeated after a crash is a no-op (same command ids, same charge keys)",
          "[sagas][billing]") {
  World world;
  world.register_acme();
  v1::StartSubscription start;
  *start.mutable_plan() = domain::billing::plan_to_wire(plan("ten", 10));
  start.set_skip_trial(true);
  start.set_payment_method("pm_ok");
  start.set_at_us(utc_us(2026, 10, 1));
  world.send(start);

  // The close, sent twice with the saga's id: one invoice.
  const auto state = world.state();
  v1::CloseBillingPeriod close;
  *close.mutable_period() = state.period();
  close.set_at_us(state.period().end_us());
  const std::string close_id = sagas::BillingSaga::close_command_id(kTenant, state.period().end_us());
  for (int i = 0; i < 2; ++i) {
    auto reply = world.client->execute(command(close, close_id), 30s);
    REQUIRE(reply.has_value());
    CHECK(reply->status() == v1::CommandReply::STATUS_ACCEPTED);
  }
  for (int i = 0; i < 3; ++i) {
    auto pass = world.saga->run_once();
    REQUIRE(pass.has_value());
    INFO("pass " << i << ": closed " << pass->closed << " charged " << pass->charged << " declined " << pass->declined
                 << " unavailable " << pass->unavailable << " refused " << pass->refused);
    std::this_thread::sleep_for(50ms);
  }
  auto invoices = world.queries->invoices(kTenant, "", 10);
  REQUIRE(invoices.has_value());
  REQUIRE(invoices->size() == 1);
  CHECK((*invoices)[0].status() == v1::INVOICE_STATUS_PAID);
  CHECK((*invoices)[0].payments_size() == 1);
  CHECK(*world.provider->charges_count() == 1);
  CHECK(world.state().invoices_issued() == 1);
}
