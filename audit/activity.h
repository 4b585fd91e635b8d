// Who did what: one entry per command outcome (from the replies topic: actor,
// command, tenant, time, accepted or why not, whichever path the command came by)
// and per access decision the gateway recorded (from the audit topic: denied
// attempts such as cross-tenant access, and platform staff acting on a tenant).
// A read model the projection runner feeds from both topics (kind fenced).
//
// Each entry is kept under three keys of the family, so that the platform's
// trail, a tenant's and an actor's are each one ordered range scan:
//   'a' time source               -> entry
//   't' tenant '\0' time source   -> entry
//   'u' actor '\0' time source    -> entry
// time: 8 bytes big-endian microseconds; source: topic tag, partition, offset (unique
// and the same on every rebuild). Entries are compact JSON objects.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "connectors/store/rocks_store.h"
#include "projections/read_model.h"

namespace tenantry::audit {

inline constexpr const char* kActivityFamily = "audit_activity";

class ActivityModel : public projections::ReadModel {
 public:
  ActivityModel(std::string replies_topic = "tenantry.replies", std::string audit_topic = "tenantry.audit")
      : replies_topic_(std::move(replies_topic)), audit_topic_(std::move(audit_topic)) {}
  std::string name() const override { return kActivityFamily; }
  log::Result<void> apply(const log::AcceptedRecord& record, store::StoreBatch& batch) override;

  const std::string& replies_topic() const { return replies_topic_; }
  const std::string& audit_topic() const { return audit_topic_; }

 private:
  std::string replies_topic_;
  std::string audit_topic_;
};

// Every set field filters; bounds inclusive.
struct ActivityQuery {
  std::optional<std::string> tenant_id;
  std::optional<std::string> actor_id;
  // accepted, rejected, conflict, failed, denied, platform_access
  std::optional<std::string> outcome;
  std::optional<int64_t> from_us;
  std::optional<int64_t> to_us;
  size_t limit = 100;
  std::string cursor;  // from a previous page's next_cursor
};

struct ActivityPage {
  std::vector<std::string> entries;  // JSON objects, oldest first
  std::string next_cursor;           // empty on the last page
};

// The outcome names an entry may carry.
bool known_outcome(const std::string& outcome);

class ActivityLog {
 public:
  explicit ActivityLog(store::RocksStore& store) : store_(store) {}
  // Errors: a cursor this query did not make is `invalid_argument`.
  log::Result<ActivityPage> query(const ActivityQuery& query);

 private:
  store::RocksStore& store_;
};

}  // namespace tenantry::audit
