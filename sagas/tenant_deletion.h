// The deletion saga: once a tenant's grace period has ended, it completes the
// deletion (CompleteTenantDeletion), and nothing else.
//
// Its timers are durable without a store of their own: the due time of every pending
// deletion is in the tenant directory (rebuilt from the log), so after a restart the
// next pass finds whatever fell due meanwhile. Command ids are deterministic (tenant
// and due time), so a pass repeated after a crash, or two nodes passing at once,
// complete each deletion once: the processor answers a repeated id with its first
// reply. A deletion cancelled after the pass read the directory is refused by the
// tenant decider (not pending any more), which is the right outcome. The tenant's slug
// and custom domains go back to the platform when the processor appends TenantDeleted
// (see commands/name_registry.h); the tenant id itself is never reused.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "commands/command_client.h"
#include "sagas/periodic.h"
#include "connectors/clock/clock.h"
#include "projections/tenant_directory/tenant_directory.h"

namespace tenantry::sagas {

struct DeletionSagaOptions {
  std::chrono::milliseconds interval{1000};        // between passes
  std::chrono::milliseconds reply_timeout{10000};  // per pass, for the replies it waits for
};

struct DeletionPass {
  int64_t due = 0;        // pending deletions whose grace period has ended
  int64_t completed = 0;  // accepted now or earlier (a repeated command id)
  int64_t refused = 0;    // e.g. cancelled meanwhile
};

class TenantDeletionSaga {
 public:
  TenantDeletionSaga(projections::TenantDirectory& directory, commands::CommandClient& client,
                     const clock::Clock& clock, DeletionSagaOptions options = {})
      : directory_(directory), client_(client), clock_(clock), options_(options) {}
  ~TenantDeletionSaga() { stop(); }

  // One pass over the pending deletions, on the caller's thread.
  log::Result<DeletionPass> run_once();
  // Passes every interval on a thread of its own until stop(); a failed pass is
  // retried at the next interval.
  void start();
  void stop();

  // The deterministic id of the command completing this deletion.
  static std::string command_id(const std::string& tenant_id, int64_t deletion_due_at_us);

 private:
  projections::TenantDirectory& directory_;
  commands::CommandClient& client_;
  const clock::Clock& clock_;
  DeletionSagaOptions options_;
  Periodic periodic_;
};

}  // namespace tenantry::sagas
