// The single writer of a partition of an event topic. It claims the partition with a
// new writer epoch, learns every tenant's chain head from the log, and seals each
// event it appends with the next sequence, the previous hash and its epoch. A writer
// that loses its claim to a newer one keeps running as a zombie until it notices;
// whatever it appends after the newer claim is fenced out by every reader.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "connectors/log/event_log.h"
#include "connectors/log/history_rules.h"

namespace tenantry::log {

// An event before the writer seals it: everything but sequence, epoch and hashes.
struct EventDraft {
  v1::EventEnvelope envelope;  // event_id, tenant_id, event_type, payload, actor, ids, times
};

struct WriterAppend {
  std::vector<EventDraft> events;
  std::vector<Record> extra;          // other records (replies), stamped with the epoch
  std::string group;                  // input offsets committed with them
  std::vector<PartitionOffset> offsets;
  GroupConsumer* member = nullptr;     // see AppendRequest::member
  int64_t recorded_at_us = 0;
};

// An append the writer has sealed but not yet handed to the log, so that several
// writers' appends can go to the log as one request.
struct PreparedAppend {
  AppendRequest request;
  std::vector<v1::EventEnvelope> events;  // as sealed (sequence, hashes set)
};

struct SealedAppend {
  AppendResult result;
  std::vector<v1::EventEnvelope> events;  // as sealed (sequence, hashes set)
};

class FencedWriter {
 public:
  // Reads the partition to its end, appends a claim with an epoch above every claim
  // seen, and reads back to the claim so the chain heads include everything accepted
  // before it. Fails if another writer's claim got in first with the same epoch.
  // `before_claim`, when set, runs with the chosen epoch before the claim is appended
  // (a caller claiming other partitions with the same epoch first); its failure is
  // the claim's, and nothing is appended to this partition.
  using BeforeClaim = std::function<Result<void>(uint64_t epoch)>;
  static Result<std::unique_ptr<FencedWriter>> claim(EventLog& log, const std::string& topic,
                                                     int32_t partition, const std::string& writer_id,
                                                     int64_t claimed_at_us, const BeforeClaim& before_claim = {});

  // Seals and appends the events (all keyed to tenants of this partition) and the
  // extra records atomically. On failure the chain heads are unchanged and the caller
  // should claim again before writing more (the outcome may be unknown).
  Result<SealedAppend> append(WriterAppend request);

  // The two halves of append(), for a caller that combines several writers' records
  // into one log append: prepare() seals; after the log append, appended() gets this
  // writer's records and their positions (in prepare's order), or append_failed().
  Result<PreparedAppend> prepare(WriterAppend request);
  void appended(const std::vector<Record>& records, const std::vector<RecordPosition>& positions);
  void append_failed();

  uint64_t epoch() const { return epoch_; }
  // True once a newer claim is in the partition: whatever this writer appends is
  // fenced out, and it must stop writing.
  bool fenced() const { return history_.epoch() != epoch_; }
  const std::string& topic() const { return topic_; }
  int32_t partition() const { return partition_; }
  // The tenant's last sequence and hash as this writer knows them (nullopt: none).
  std::optional<ChainHead> head(const std::string& tenant_id) const { return history_.head(tenant_id); }

 private:
  FencedWriter(EventLog& log, std::string topic, int32_t partition)
      : log_(log), topic_(std::move(topic)), partition_(partition), history_(TopicKind::events) {}
  Result<void> catch_up(int64_t to_offset);
  void advance_past(const std::vector<Record>& mine, const std::vector<RecordPosition>& positions);
  bool advance_sealed(const std::vector<Record>& mine, const std::vector<RecordPosition>& positions, int64_t last);

  EventLog& log_;
  std::string topic_;
  int32_t partition_;
  PartitionHistory history_;  // the accepted history up to next_offset_
  int64_t next_offset_ = 0;
  // The last prepare()'s events (tenant, head after it) and next_offset_ then: when
  // they land right there, appended() moves the heads without reading them back.
  std::vector<std::pair<std::string, ChainHead>> sealed_;
  int64_t sealed_at_ = -1;
  uint64_t epoch_ = 0;
  bool needs_catch_up_ = false;
};

}  // namespace tenantry::log
