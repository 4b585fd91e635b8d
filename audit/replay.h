// Reading the accepted history back for an auditor: a tenant's events (its partition
// only) or the platform's (every partition), through AcceptedReader, so the same
// accepted-history rules hold as for every other reader; and a tenant's state rebuilt
// with the aggregate's own evolve up to a sequence or an instant.
//
// Memory: one read batch, plus the rules' chain head per tenant of the partition
// being read. Partitions are read one after another, each to its end offset as seen
// when its reading starts.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "connectors/log/accepted_reader.h"
#include "domain/tenant/tenant.h"

namespace tenantry::audit {

// Every bound is inclusive; an unset field does not filter.
struct EventFilter {
  // "tenantry.v1.TenantSuspended", or the short name "TenantSuspended".
  std::optional<std::string> event_type;
  std::optional<std::string> actor_id;
  std::optional<int64_t> from_us;  // occurred_at
  std::optional<int64_t> to_us;
  std::optional<uint64_t> from_sequence;
  std::optional<uint64_t> to_sequence;

  bool matches(const v1::EventEnvelope& envelope) const;
};

struct ReadOptions {
  std::string topic = "tenantry.events";
  // When set: only this tenant's partition is read, and only its events delivered.
  std::optional<std::string> tenant;
  size_t batch_records = 1000;  // per read; bounds memory
};

struct ReadSummary {
  int64_t events = 0;      // accepted events delivered (of the tenant when set)
  int64_t violations = 0;  // records the rules refused, passed over (`audit verify` names them)
  int64_t fenced = 0;      // zombie writers' records, passed over
};

// Calls `on_event` for each accepted event in partition order, then offset order;
// `on_event` returns false to stop early. Errors are the log's (unreadable, timeout).
log::Result<ReadSummary> read_accepted(log::EventLog& log, const ReadOptions& options,
                                       const std::function<bool(const log::AcceptedRecord&)>& on_event);

// Up to and including `at_sequence`, or every event that occurred at or before
// `as_of_us` (exactly one of the two).
struct StateQuery {
  std::string topic = "tenantry.events";
  std::string tenant;
  std::optional<uint64_t> at_sequence;
  std::optional<int64_t> as_of_us;
};

struct RebuiltState {
  domain::tenant::TenantState state;
  int64_t events_applied = 0;
  // Events whose payload this version cannot read (unknown type or unreadable bytes):
  // applied as evolve applies an unknown event (version only), and counted here.
  int64_t undecoded_events = 0;
  bool tenant_has_events = false;  // any accepted event at all, before or after the query
  v1::EventEnvelope last_event;    // the last applied; payload cleared
};

log::Result<RebuiltState> rebuild_state(log::EventLog& log, const StateQuery& query);

}  // namespace tenantry::audit
