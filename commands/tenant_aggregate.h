// A tenant's stream behind the processor's Aggregate interface: its lifecycle
// (domain/tenant) and its billing (domain/billing/account) share the stream, its
// sequence and one cached state, so a billing decision can move the lifecycle (a
// plan change, a suspension for non-payment) in the same atomic step.
#pragma once

#include "commands/aggregate.h"
#include "domain/billing/account.h"
#include "domain/tenant/tenant.h"
#include "tenantry/v1/billing.pb.h"

namespace tenantry::commands {

class TenantAggregate final : public Aggregate {
 public:
  bool handles(std::string_view command_type) const override;
  Outcome decide(const v1::CommandEnvelope& command, std::string_view state,
                 const DecideContext& context) const override;
  std::string evolve(std::string_view state, const v1::EventEnvelope& event) const override;
  uint64_t version(std::string_view state) const override;
  std::unique_ptr<LoadedState> load(std::string_view state) const override;
  Outcome decide_loaded(const v1::CommandEnvelope& command, const LoadedState& state,
                        const DecideContext& context) const override;
  std::vector<NameUse> names_claimed(const v1::CommandEnvelope& command) const override;
  std::vector<NameUse> names_released(const LoadedState& before, const v1::EventEnvelope& event) const override;

  // State bytes <-> the deciders' states (exposed for the read side and tests).
  static domain::tenant::TenantState decode_state(std::string_view state);
  static v1::BillingStateSnapshot decode_billing(std::string_view state);
  static std::string encode_state(const domain::tenant::TenantState& state,
                                  const v1::BillingStateSnapshot& billing = {});
  // One event applied to both parts (the lifecycle counts every event into the version).
  static void evolve_parts(domain::tenant::TenantState& state, v1::BillingStateSnapshot& billing,
                           const v1::EventEnvelope& event);
  // The same from the event as decided, before its wire form (no parse).
  static void evolve_parts(domain::tenant::TenantState& state, v1::BillingStateSnapshot& billing,
                           const domain::billing::AccountEvent& event);
};

}  // namespace tenantry::commands
