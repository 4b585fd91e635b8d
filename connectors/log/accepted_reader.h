// The one reader every consumer of Tenantry's own topics uses: it applies the
// accepted-history rules (history_rules.h) to what the engine returns, so
// projections, sagas and auditors see the same history and the same violations.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "connectors/log/event_log.h"
#include "connectors/log/history_rules.h"

namespace tenantry::log {

struct AcceptedRecord {
  StoredRecord record;
  v1::EventEnvelope envelope;  // parsed and verified (event topics only)
};

struct AcceptedBatch {
  std::vector<AcceptedRecord> records;
  std::vector<Violation> violations;
  int64_t fenced = 0;         // zombie records passed over
  int64_t claims = 0;         // effective writer claims seen
  int64_t records_read = 0;   // everything the engine returned
};

// Reads one partition from an offset. Opening it at offset N replays [0, N) through
// the rules first (not delivered), so the rules hold from the first record it returns.
class AcceptedReader {
 public:
  static Result<std::unique_ptr<AcceptedReader>> open(EventLog& log, const std::string& topic,
                                                      int32_t partition, int64_t from_offset,
                                                      TopicKind kind);

  Result<AcceptedBatch> read(size_t max_records, std::chrono::milliseconds wait);
  int64_t position() const { return reader_->position(); }
  const PartitionHistory& history() const { return history_; }

 private:
  AcceptedReader(std::unique_ptr<PartitionReader> reader, TopicKind kind)
      : reader_(std::move(reader)), history_(kind) {}

  std::unique_ptr<PartitionReader> reader_;
  PartitionHistory history_;
};

// A group member that applies the rules per assigned partition. A partition seen for
// the first time is warmed up from offset 0 to where the group resumes.
class AcceptedConsumer {
 public:
  static Result<std::unique_ptr<AcceptedConsumer>> subscribe(EventLog& log, const std::string& group,
                                                             const std::vector<std::string>& topics,
                                                             TopicKind kind);

  Result<AcceptedBatch> poll(size_t max_records, std::chrono::milliseconds wait);
  GroupConsumer& consumer() { return *consumer_; }

 private:
  AcceptedConsumer(EventLog& log, std::unique_ptr<GroupConsumer> consumer, TopicKind kind)
      : log_(log), consumer_(std::move(consumer)), kind_(kind) {}
  Result<PartitionHistory*> history_for(const StoredRecord& record);

  EventLog& log_;
  std::unique_ptr<GroupConsumer> consumer_;
  TopicKind kind_;
  struct Tracked {
    PartitionHistory history;
    int64_t next_offset;
  };
  std::map<std::pair<std::string, int32_t>, Tracked> partitions_;
};

}  // namespace tenantry::log
