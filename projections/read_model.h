// A read model says only how one accepted event changes its keys; the projection
// runner owns reading, batching, offsets and rebuilds.
#pragma once

#include <string>
#include <vector>

#include "connectors/log/accepted_reader.h"
#include "connectors/store/rocks_store.h"

namespace tenantry::projections {

class ReadModel {
 public:
  virtual ~ReadModel() = default;
  // Stable name: the store family its keys live in, and its offsets' prefix.
  virtual std::string name() const = 0;
  // Stages the event's effect into `batch` (which sees earlier events of the same
  // batch). Must be deterministic: a rebuild from offset 0 must give the same keys.
  // Events of types it does not know are passed over.
  virtual log::Result<void> apply(const log::AcceptedRecord& event, store::StoreBatch& batch) = 0;
  // False for a model that never reads (batch.get) a key already written in the same
  // batch: the runner then gives it an unindexed batch, whose get() reads the store
  // only and whose writes skip the index that reading them back takes.
  virtual bool reads_own_writes() const { return true; }
  // Around each batch of `partition` (on that partition's thread): a model that keeps
  // its changes in memory while a batch is applied, to write each key once, drops what
  // it holds at begin (a batch that was never written must leave nothing behind) and
  // stages it into the batch at finish, before the batch is written.
  virtual void begin_batch(int32_t partition) {}
  virtual log::Result<void> finish_batch(int32_t partition, store::StoreBatch& batch) { return {}; }
  // Called once the batch holding `events` is written, from the runner's thread for
  // that partition (several partitions' threads may call at once). For caches built on
  // the model: what they hold of these events' keys is now stale.
  virtual void committed(const std::vector<log::AcceptedRecord>& events) {}
  // Called when the runner has cleared the model's family (a rebuild), with no batch
  // under way: whatever the model holds of its stored keys is gone.
  virtual void cleared() {}
};

}  // namespace tenantry::projections
