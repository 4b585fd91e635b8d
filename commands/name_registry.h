// Platform-wide uniqueness of tenant slugs and custom domains.
//
// Each tenant decides alone (one writer per tenant partition), so no tenant's decider
// can see another's slug. The registry makes the names topic's single partition the
// arbiter instead: a claim is a record appended to it, and every node applies the
// records in offset order with the same rule (a claim takes a free name; a release by
// the holder frees it; anything else has no effect). Two requests racing for one name
// append two claims; the earlier offset wins everywhere, and the later caller, once its
// own record has been applied, sees that it lost.
//
// The command processor claims before deciding a command that uses a name (register,
// clone, add a custom domain) and releases when the command is refused or the name is
// given up (domain removed, tenant deleted). A claim whose command never ran (a crash in between) stays
// with its tenant id: retrying the request with the same tenant id finds it already
// held by that tenant.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "connectors/log/event_log.h"
#include "tenantry/v1/names.pb.h"

namespace tenantry::commands {

struct NameRegistryOptions {
  std::string topic = "tenantry.names";
  std::chrono::milliseconds apply_timeout{10000};  // waiting for one's own record to be applied
};

// claimed: the name was free and is now the tenant's; already_held: it was the
// tenant's before this claim; taken: another tenant holds it.
enum class ClaimOutcome { claimed, already_held, taken };

struct NameRequest {
  v1::NameKind kind = v1::NAME_KIND_UNSPECIFIED;
  std::string name;
  std::string tenant_id;
  std::string reason;
};

class NameRegistry {
 public:
  // Creates the topic (1 partition) when missing, replays it, and tails it.
  static log::Result<std::unique_ptr<NameRegistry>> open(log::EventLog& log, NameRegistryOptions options = {});
  ~NameRegistry();

  // `name` is compared case-insensitively (a domain's trailing dot ignored).
  log::Result<ClaimOutcome> claim(v1::NameKind kind, std::string_view name, const std::string& tenant_id,
                                  const std::string& reason, int64_t now_us);
  // Several claims in one append (one fsync) and one read-back: outcomes in order.
  log::Result<std::vector<ClaimOutcome>> claim_all(const std::vector<NameRequest>& claims, int64_t now_us);
  // Releases in one append; returns once durable, without waiting to read them back.
  log::Result<void> release_all(const std::vector<NameRequest>& releases, int64_t now_us);
  // Frees the name if `tenant_id` holds it; returns once applied.
  log::Result<void> release(v1::NameKind kind, std::string_view name, const std::string& tenant_id,
                            const std::string& reason, int64_t now_us);
  // The tenant holding the name, empty when free (as applied so far on this node).
  std::string holder(v1::NameKind kind, std::string_view name) const;
  size_t size() const;

 private:
  NameRegistry(log::EventLog& log, NameRegistryOptions options) : log_(log), options_(std::move(options)) {}
  // Appends the records in order; the offset of each.
  log::Result<std::vector<int64_t>> append_all(const std::vector<v1::NameRecord>& records);
  static v1::NameRecord record_of(v1::NameAction action, const NameRequest& request, int64_t now_us);
  log::Result<void> wait_applied(int64_t offset);
  // True when the record changed who holds its name.
  bool apply(const v1::NameRecord& record);
  void remember(int64_t offset, bool took);
  void tail();

  log::EventLog& log_;
  NameRegistryOptions options_;
  std::unique_ptr<log::PartitionReader> reader_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::condition_variable applied_changed_;
  int64_t applied_ = 0;  // next offset to apply
  std::optional<log::Error> failure_;
  std::unordered_map<std::string, std::string> holders_;  // kind \0 name -> tenant id
  // Whether each recent claim record took its name, by offset, so a claimant learns
  // the effect of its own record (not of a twin claim by the same tenant). Bounded.
  std::unordered_map<int64_t, bool> recent_;
  std::deque<int64_t> recent_order_;
};

}  // namespace tenantry::commands
