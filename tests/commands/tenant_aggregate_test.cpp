// The tenant stream's cached state: the lifecycle and the billing parts survive the
// encoding the processor's cache stores, as the schema reads them.
#include <catch2/catch.hpp>

#include <google/protobuf/util/message_differencer.h>

#include "commands/tenant_aggregate.h"
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
