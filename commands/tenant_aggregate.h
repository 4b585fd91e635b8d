// The tenant decider (domain/tenant) behind the processor's Aggregate interface.
#pragma once

#include "commands/aggregate.h"
#include "domain/tenant/tenant.h"

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

  // State bytes <-> the decider's state (exposed for the read side and tests).
  static domain::tenant::TenantState decode_state(std::string_view state);
  static std::string encode_state(const domain::tenant::TenantState& state);
};

}  // namespace tenantry::commands
