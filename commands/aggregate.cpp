#include "commands/aggregate.h"

namespace tenantry::commands {

namespace {

// The decoded form of an aggregate that has none: the state bytes themselves, moved
// along through the aggregate's bytes path.
class BytesState final : public LoadedState {
 public:
  BytesState(const Aggregate& aggregate, std::string bytes) : aggregate_(aggregate), bytes_(std::move(bytes)) {}
  uint64_t version() const override { return aggregate_.version(bytes_); }
  void evolve(const v1::EventEnvelope& event) override { bytes_ = aggregate_.evolve(bytes_, event); }
  std::string encode() const override { return bytes_; }
  std::unique_ptr<LoadedState> clone() const override { return std::make_unique<BytesState>(aggregate_, bytes_); }
  size_t memory_bytes() const override { return sizeof(*this) + bytes_.capacity(); }
  const std::string& bytes() const { return bytes_; }

 private:
  const Aggregate& aggregate_;
  std::string bytes_;
};

}  // namespace

std::unique_ptr<LoadedState> Aggregate::load(std::string_view state) const {
  return std::make_unique<BytesState>(*this, std::string(state));
}

Outcome Aggregate::decide_loaded(const v1::CommandEnvelope& command, const LoadedState& state,
                                 const DecideContext& context) const {
  return decide(command, state.encode(), context);
}

}  // namespace tenantry::commands
