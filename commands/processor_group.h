// Several command processors in one consumer group, in one process, each on a thread
// of its own. The group shares the commands partitions among them, so each partition
// still has one writer; a tenant's commands stay in order. The benchmarks measure
// with it (`--processors`); serve runs one processor: with two, the HTTP crash test
// found chain violations after a kill -9 and the Kafka engine's rebalance left
// requests unanswered (docs/architecture.md, the command processor, says why).
//
// Each member gets `options` with its own writer id ("<writer_id>-<n>" when there are
// several) and an equal share of the state cache budget. The members write one store,
// so they share a SharedStore: a member that lost a partition and has not noticed yet
// cannot write it back over what its new holder caught up.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "commands/command_processor.h"

namespace tenantry::commands {

class ProcessorGroup {
 public:
  ProcessorGroup(log::EventLog& log, store::RocksStore& store, const Aggregate& aggregate, const clock::Clock& clock,
                 ProcessorOptions options, int count);

  // Starts every member; on a failure the ones started are stopped again.
  log::Result<void> start();
  void stop();
  // The first member's failure, if any stopped.
  std::optional<log::Error> failure();
  // The members' memory, summed.
  ProcessorMemory memory() const;
  size_t size() const { return members_.size(); }

 private:
  std::vector<std::unique_ptr<CommandProcessor>> members_;
};

}  // namespace tenantry::commands
