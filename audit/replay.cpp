#include "audit/replay.h"

#include <chrono>

#include "domain/tenant/wire.h"

namespace tenantry::audit {

namespace {

// A reader short of the end offset seen at the start has records to return; this long
// without any means the engine is stuck, and a partial answer must not pass as whole.
constexpr std::chrono::milliseconds kReadWait(10000);

}  // namespace

bool EventFilter::matches(const v1::EventEnvelope& envelope) const {
  if (event_type) {
    const std::string& type = envelope.event_type();
    const bool same = type == *event_type ||
                      (type.size() > event_type->size() && type.ends_with(*event_type) &&
                       type[type.size() - event_type->size() - 1] == '.');
    if (!same) return false;
  }
  if (actor_id && envelope.actor().id() != *actor_id) return false;
  if (from_us && envelope.occurred_at_us() < *from_us) return false;
  if (to_us && envelope.occurred_at_us() > *to_us) return false;
  if (from_sequence && envelope.sequence() < *from_sequence) return false;
  if (to_sequence && envelope.sequence() > *to_sequence) return false;
  return true;
}

log::Result<ReadSummary> read_accepted(log::EventLog& log, const ReadOptions& options,
                                       const std::function<bool(const log::AcceptedRecord&)>& on_event) {
  auto partitions = log.partition_count(options.topic);
  if (!partitions) return std::unexpected(partitions.error());
  ReadSummary summary;
  const size_t batch_records = std::max<size_t>(options.batch_records, 1);
  for (int32_t p = 0; p < *partitions; ++p) {
    if (options.tenant && log::partition_for_key(*options.tenant, *partitions) != p) continue;
    auto end = log.end_offset(options.topic, p);
    if (!end) return std::unexpected(end.error());
    auto reader = log::AcceptedReader::open(log, options.topic, p, 0, log::TopicKind::events);
    if (!reader) return std::unexpected(reader.error());
    while ((*reader)->position() < *end) {
      auto batch = (*reader)->read(batch_records, kReadWait);
      if (!batch) return std::unexpected(batch.error());
      if (batch->records_read == 0) {
        return log::fail(log::ErrorCode::timeout, options.topic + "/" + std::to_string(p) +
                                                      ": no record returned before end offset " +
                                                      std::to_string(*end));
      }
      summary.violations += static_cast<int64_t>(batch->violations.size());
      summary.fenced += batch->fenced;
      for (const auto& accepted : batch->records) {
        if (accepted.record.offset >= *end) break;
        if (options.tenant && accepted.envelope.tenant_id() != *options.tenant) continue;
        ++summary.events;
        if (!on_event(accepted)) return summary;
      }
    }
  }
  return summary;
}

log::Result<RebuiltState> rebuild_state(log::EventLog& log, const StateQuery& query) {
  RebuiltState rebuilt;
  rebuilt.state = domain::tenant::initial_state();
  ReadOptions options;
  options.topic = query.topic;
  options.tenant = query.tenant;
  auto read = read_accepted(log, options, [&](const log::AcceptedRecord& accepted) {
    const auto& envelope = accepted.envelope;
    rebuilt.tenant_has_events = true;
    // A tenant's events are in sequence order and stamped by one clock per writer:
    // the first one past the instant ends the history as it was then.
    if (query.at_sequence && envelope.sequence() > *query.at_sequence) return false;
    if (query.as_of_us && envelope.occurred_at_us() > *query.as_of_us) return false;
    v1::TenantEvent event;
    if (domain::tenant::event_from_wire(envelope.event_type(), envelope.payload(), event) !=
        domain::tenant::WireRead::ok) {
      event.Clear();  // evolve advances the version only
      ++rebuilt.undecoded_events;
    }
    rebuilt.state = domain::tenant::evolve(std::move(rebuilt.state), event);
    ++rebuilt.events_applied;
    rebuilt.last_event = envelope;
    rebuilt.last_event.clear_payload();
    return true;
  });
  if (!read) return std::unexpected(read.error());
  return rebuilt;
}

}  // namespace tenantry::audit
