#include "connectors/log/accepted_reader.h"

namespace tenantry::log {

namespace {

constexpr size_t kWarmUpBatch = 4096;

void collect(PartitionHistory& history, StoredRecord&& record, AcceptedBatch& batch) {
  RuleOutcome outcome = history.apply(record);
  switch (outcome.verdict) {
    case Verdict::accepted:
      batch.records.push_back(AcceptedRecord{std::move(record), std::move(outcome.envelope)});
      break;
    case Verdict::claim: ++batch.claims; break;
    case Verdict::stale_claim: break;
    case Verdict::fenced: ++batch.fenced; break;
    case Verdict::violation: batch.violations.push_back(std::move(*outcome.violation)); break;
  }
}

// Applies [from, to) of a partition to `history` without delivering anything.
Result<void> warm_up(EventLog& log, const std::string& topic, int32_t partition, int64_t from,
                     int64_t to, PartitionHistory& history) {
  if (to <= from) return {};
  auto reader = log.open_reader(topic, partition, from);
  if (!reader) return std::unexpected(reader.error());
  RuleOutcome outcome;  // only the history matters here, not the envelopes
  while ((*reader)->position() < to) {
    auto records = (*reader)->read(kWarmUpBatch, std::chrono::milliseconds(1000));
    if (!records) return std::unexpected(records.error());
    if (records->empty()) {
      return fail(ErrorCode::timeout, "warm-up of " + topic + "/" + std::to_string(partition) +
                                          " stalled before offset " + std::to_string(to));
    }
    for (auto& record : *records) {
      if (record.offset >= to) return {};
      history.check(record, outcome);
    }
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<AcceptedReader>> AcceptedReader::open(EventLog& log, const std::string& topic,
                                                             int32_t partition, int64_t from_offset,
                                                             TopicKind kind) {
  auto reader = log.open_reader(topic, partition, from_offset);
  if (!reader) return std::unexpected(reader.error());
  std::unique_ptr<AcceptedReader> accepted(new AcceptedReader(std::move(*reader), kind));
  if (auto warmed = warm_up(log, topic, partition, 0, from_offset, accepted->history_); !warmed) {
    return std::unexpected(warmed.error());
  }
  return accepted;
}

Result<AcceptedBatch> AcceptedReader::read(size_t max_records, std::chrono::milliseconds wait) {
  auto records = reader_->read(max_records, wait);
  if (!records) return std::unexpected(records.error());
  AcceptedBatch batch;
  batch.records_read = static_cast<int64_t>(records->size());
  batch.records.reserve(records->size());
  for (auto& record : *records) collect(history_, std::move(record), batch);
  return batch;
}

Result<std::unique_ptr<AcceptedConsumer>> AcceptedConsumer::subscribe(
    EventLog& log, const std::string& group, const std::vector<std::string>& topics, TopicKind kind) {
  auto consumer = log.subscribe(group, topics);
  if (!consumer) return std::unexpected(consumer.error());
  return std::unique_ptr<AcceptedConsumer>(new AcceptedConsumer(log, std::move(*consumer), kind));
}

Result<PartitionHistory*> AcceptedConsumer::history_for(const StoredRecord& record) {
  auto key = std::make_pair(record.topic, record.partition);
  auto it = partitions_.find(key);
  if (it != partitions_.end() && it->second.next_offset == record.offset) return &it->second.history;
  // First sight of this partition, or the group moved it (a rebalance, a rewind):
  // rebuild the rules' state from the start of the partition up to this record.
  Tracked tracked{PartitionHistory(kind_), 0};
  if (auto warmed = warm_up(log_, record.topic, record.partition, 0, record.offset, tracked.history);
      !warmed) {
    return std::unexpected(warmed.error());
  }
  tracked.next_offset = record.offset;
  auto [slot, _] = partitions_.insert_or_assign(key, std::move(tracked));
  return &slot->second.history;
}

Result<AcceptedBatch> AcceptedConsumer::poll(size_t max_records, std::chrono::milliseconds wait) {
  auto records = consumer_->poll(max_records, wait);
  if (!records) return std::unexpected(records.error());
  AcceptedBatch batch;
  batch.records_read = static_cast<int64_t>(records->size());
  for (auto& record : *records) {
    auto history = history_for(record);
    if (!history) return std::unexpected(history.error());
    auto& tracked = partitions_.at({record.topic, record.partition});
    tracked.next_offset = record.offset + 1;
    collect(**history, std::move(record), batch);
  }
  return batch;
}

}  // namespace tenantry::log
