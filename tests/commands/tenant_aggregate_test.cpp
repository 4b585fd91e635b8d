// The tenant stream's cached state: the lifecycle and the billing parts survive the
// encoding the processor's cache stores, as the schema reads them.
#include <catch2/catch.hpp>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/message_differencer.h>

#include <random>

#include "commands/tenant_aggregate.h"
#include "commands/tenant_commands.h"
#include "domain/billing/periods.h"
#include "domain/billing/plans.h"
#include "domain/billing/wire.h"
#include "tenantry/v1/state.pb.h"

using namespace tenantry;

TEST_CASE("tenant aggregate: the cached state carries the billing part as the schema's field", "[commands][billing]") {
  domain::tenant::TenantState tenant = domain::tenant::initial_state();
  tenant.exists = true;
  tenant.tenant_id = "acme";
  tenant.plan = "pro";
  tenant.version = 7;
  v1::BillingStateSnapshot billing;
  billing.set_status(v1::SUBSCRIPTION_STATUS_ACTIVE);
  *billing.mutable_plan() = domain::billing::plan_to_wire(*domain::billing::builtin_plan("pro"));
  billing.set_invoices_issued(3);

  const std::string bytes = commands::TenantAggregate::encode_state(tenant, billing);
  CHECK(commands::TenantAggregate::decode_state(bytes) == tenant);
  const auto decoded = commands::TenantAggregate::decode_billing(bytes);
  CHECK(google::protobuf::util::MessageDifferencer::Equals(decoded, billing));
  // What the schema itself reads: the whole snapshot, billing in its field.
  v1::TenantStateSnapshot whole;
  REQUIRE(whole.ParseFromString(bytes));
  CHECK(whole.tenant_id() == "acme");
  CHECK(google::protobuf::util::MessageDifferencer::Equals(whole.billing(), billing));
  // Without billing, nothing is added.
  CHECK(commands::TenantAggregate::decode_billing(commands::TenantAggregate::encode_state(tenant)).ByteSizeLong() == 0);
}

namespace {

// The state's content in one byte form: protobuf leaves the order of map entries to
// the serializer (a map parsed back may serialize in another order), so equal states
// are compared in deterministic form.
std::string canonical(const std::string& state) {
  v1::TenantStateSnapshot snapshot;
  REQUIRE(snapshot.ParseFromString(state));
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  snapshot.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

// The command of a random run: mostly billing, with lifecycle moves in between.
v1::CommandEnvelope random_command(std::mt19937_64& random, const commands::LoadedState& loaded, int64_t now_us,
                                   int step) {
  const auto billing = commands::TenantAggregate::decode_billing(loaded.encode());
  const std::vector<std::string> plans = {"basic", "pro", "enterprise"};
  auto plan = [&] { return domain::billing::plan_to_wire(*domain::billing::builtin_plan(plans[random() % plans.size()])); };
  auto invoice = [&]() -> std::string {
    if (billing.invoices_size() == 0) return "in_000001";
    return billing.invoices(static_cast<int>(random() % static_cast<uint64_t>(billing.invoices_size()))).invoice_id();
  };
  const std::string id = "c" + std::to_string(step);
  switch (random() % 12) {
    case 0: {
      v1::StartSubscription start;
      *start.mutable_plan() = plan();
      start.set_skip_trial(random() % 2 == 0);
      start.set_payment_method("pm_ok");
      start.set_tax_rate_bp(static_cast<uint32_t>(random() % 3000));
      start.set_at_us(now_us);
      return testing::command_of("acme", id, start);
    }
    case 1: {
      v1::ChangeSubscriptionPlan change;
      *change.mutable_plan() = plan();
      change.set_at_once(random() % 2 == 0);
      change.set_at_us(now_us);
      return testing::command_of("acme", id, change);
    }
    case 2:
    case 3: {
      v1::CloseBillingPeriod close;
      *close.mutable_period() = billing.period();
      (*close.mutable_usage())["api_calls"].set_units(static_cast<int64_t>(random() % 3'000'000));
      close.set_at_us(std::max(now_us, billing.period().end_us()));
      return testing::command_of("acme", id, close);
    }
    case 4:
    case 5: {
      v1::RecordPayment payment;
      payment.set_invoice_id(invoice());
      payment.set_attempt(static_cast<uint32_t>(step));
      payment.set_succeeded(random() % 3 != 0);
      payment.set_payment_id("pay-" + std::to_string(step));
      if (!payment.succeeded()) payment.set_failure_code("card_declined");
      payment.set_at_us(now_us);
      return testing::command_of("acme", id, payment);
    }
    case 6: {
      v1::GrantCredit credit;
      credit.set_amount_minor(static_cast<int64_t>(random() % 2000 + 1));
      credit.set_currency("USD");
      return testing::command_of("acme", id, credit);
    }
    case 7: {
      v1::VoidInvoice void_invoice;
      void_invoice.set_invoice_id(invoice());
      return testing::command_of("acme", id, void_invoice);
    }
    case 8: {
      v1::IssueCreditNote note;
      note.set_invoice_id(invoice());
      note.set_amount_minor(static_cast<int64_t>(random() % 1500 + 1));
      return testing::command_of("acme", id, note);
    }
    case 9: {
      v1::CancelSubscription cancel;
      cancel.set_at_once(random() % 2 == 0);
      cancel.set_reason("random run");
      cancel.set_at_us(now_us);
      return testing::command_of("acme", id, cancel);
    }
    case 10: {
      v1::SuspendTenant suspend;
      suspend.set_reason("random run");
      return testing::command_of("acme", id, suspend);
    }
    default: {
      v1::ConfigureTenant configure;
      configure.set_display_name("Acme " + std::to_string(step));
      (*configure.mutable_set_settings())["theme"] = step % 2 == 0 ? "dark" : "light";
      return testing::command_of("acme", id, configure);
    }
  }
}

}  // namespace

TEST_CASE("tenant aggregate: evolving from the decided events equals evolving from their wire form", "[commands][billing]") {
  commands::TenantAggregate aggregate;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    std::mt19937_64 random(seed);
    auto loaded = aggregate.load("");
    std::string bytes;  // the bytes path alongside
    int64_t now_us = domain::billing::utc_us(2025, 1, 1);
    int accepted = 0;
    for (int step = 0; step < 300; ++step) {
      const auto command = step == 0 ? testing::command_of("acme", "register", testing::registration_body("acme"))
                                     : random_command(random, *loaded, now_us, step);
      now_us += static_cast<int64_t>(random() % 240 + 1) * 3'600'000'000;
      auto outcome = aggregate.decide_loaded(command, *loaded, commands::DecideContext{now_us, "token"});
      if (!outcome) continue;
      ++accepted;
      auto from_wire = loaded->clone();
      for (auto& event : *outcome) {
        v1::EventEnvelope envelope;
        envelope.set_tenant_id("acme");
        envelope.set_event_type(event.event_type);
        envelope.set_payload(event.payload);
        REQUIRE(event.decided != nullptr);
        loaded->evolve_decided(envelope, *event.decided);
        from_wire->evolve(envelope);
        bytes = aggregate.evolve(bytes, envelope);
      }
      INFO("seed " << seed << " step " << step << " " << command.command_type());
      REQUIRE(canonical(loaded->encode()) == canonical(from_wire->encode()));
      REQUIRE(canonical(loaded->encode()) == canonical(bytes));
      REQUIRE(loaded->version() == aggregate.version(bytes));
    }
    INFO("seed " << seed);
    CHECK(accepted > 50);  // the run is more than refusals
    CHECK(commands::TenantAggregate::decode_billing(loaded->encode()).invoices_issued() > 3);
  }
}
