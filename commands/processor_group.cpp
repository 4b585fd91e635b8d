#include "commands/processor_group.h"

#include <algorithm>

namespace tenantry::commands {

ProcessorGroup::ProcessorGroup(log::EventLog& log, store::RocksStore& store, const Aggregate& aggregate,
                               const clock::Clock& clock, ProcessorOptions options, int count) {
  const int members = std::max(count, 1);
  if (members > 1 && !options.shared_store) options.shared_store = std::make_shared<SharedStore>();
  for (int i = 0; i < members; ++i) {
    ProcessorOptions own = options;
    if (members > 1) {
      own.writer_id = options.writer_id + "-" + std::to_string(i + 1);
      own.state_cache_bytes = options.state_cache_bytes / static_cast<size_t>(members);
    }
    members_.push_back(std::make_unique<CommandProcessor>(log, store, aggregate, clock, std::move(own)));
  }
}

log::Result<void> ProcessorGroup::start() {
  for (auto& member : members_) {
    if (auto started = member->start(); !started) {
      stop();
      return started;
    }
  }
  return {};
}

void ProcessorGroup::stop() {
  for (auto& member : members_) member->stop();
}

std::optional<log::Error> ProcessorGroup::failure() {
  for (auto& member : members_) {
    if (auto failed = member->failure()) return failed;
  }
  return std::nullopt;
}

ProcessorMemory ProcessorGroup::memory() const {
  ProcessorMemory total;
  for (const auto& member : members_) {
    const auto memory = member->memory();
    total.cached_states += memory.cached_states;
    total.cached_state_bytes += memory.cached_state_bytes;
    total.unwritten_replies += memory.unwritten_replies;
  }
  return total;
}

}  // namespace tenantry::commands
