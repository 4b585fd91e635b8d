#include "connectors/log/fenced_writer.h"

#include <unordered_map>

#include "connectors/log/envelope_codec.h"
#include "tenantry/v1/log.pb.h"

namespace tenantry::log {

namespace {
constexpr size_t kCatchUpBatch = 4096;
}

Result<void> FencedWriter::catch_up(int64_t to_offset) {
  if (next_offset_ >= to_offset) return {};
  auto reader = log_.open_reader(topic_, partition_, next_offset_);
  if (!reader) return std::unexpected(reader.error());
  RuleOutcome outcome;  // only the history matters here, not the envelopes
  while (next_offset_ < to_offset) {
    auto records = (*reader)->read(kCatchUpBatch, std::chrono::milliseconds(1000));
    if (!records) return std::unexpected(records.error());
    if (records->empty()) {
      return fail(ErrorCode::timeout, "catching up " + topic_ + "/" + std::to_string(partition_) +
                                          " stalled at offset " + std::to_string(next_offset_));
    }
    for (const auto& record : *records) {
      if (record.offset >= to_offset) break;
      history_.check(record, outcome);
      next_offset_ = record.offset + 1;
    }
  }
  return {};
}

Result<std::unique_ptr<FencedWriter>> FencedWriter::claim(EventLog& log, const std::string& topic,
                                                          int32_t partition, const std::string& writer_id,
                                                          int64_t claimed_at_us, const BeforeClaim& before_claim) {
  std::unique_ptr<FencedWriter> writer(new FencedWriter(log, topic, partition));
  auto end = log.end_offset(topic, partition);
  if (!end) return std::unexpected(end.error());
  if (auto caught = writer->catch_up(*end); !caught) return std::unexpected(caught.error());

  v1::WriterClaim claim;
  claim.set_epoch(writer->history_.epoch() + 1);
  claim.set_writer_id(writer_id);
  claim.set_claimed_at_us(claimed_at_us);
  if (before_claim) {
    if (auto done = before_claim(claim.epoch()); !done) return std::unexpected(done.error());
  }
  Record record{topic, "", claim.SerializeAsString(), {{std::string(kKindHeader), std::string(kClaimKind)}},
                partition};
  AppendRequest request;
  request.records.push_back(std::move(record));
  auto appended = log.append(std::move(request));
  if (!appended) return std::unexpected(appended.error());

  const int64_t claim_offset = appended->positions.front().offset;
  if (auto caught = writer->catch_up(claim_offset + 1); !caught) return std::unexpected(caught.error());
  if (writer->history_.epoch() != claim.epoch()) {
    return fail(ErrorCode::invalid_argument,
                "claim of epoch " + std::to_string(claim.epoch()) + " on " + topic + "/" +
                    std::to_string(partition) + " lost to a concurrent claim");
  }
  writer->epoch_ = claim.epoch();
  return writer;
}

Result<PreparedAppend> FencedWriter::prepare(WriterAppend request) {
  if (needs_catch_up_) {
    auto end = log_.end_offset(topic_, partition_);
    if (!end) return std::unexpected(end.error());
    if (auto caught = catch_up(*end); !caught) return std::unexpected(caught.error());
    needs_catch_up_ = false;
  }
  const std::string epoch_text = std::to_string(epoch_);
  // Heads advance on a scratch copy: several events of one tenant chain onto each
  // other inside one append, and the writer's view changes only once it is appended.
  std::unordered_map<std::string, ChainHead> scratch;
  sealed_.clear();
  sealed_at_ = next_offset_;
  PreparedAppend prepared;
  AppendRequest& out = prepared.request;
  out.records.reserve(request.events.size() + request.extra.size());
  prepared.events.reserve(request.events.size());
  for (auto& draft : request.events) {
    v1::EventEnvelope& envelope = draft.envelope;
    const std::string& tenant = envelope.tenant_id();
    if (tenant.empty()) return fail(ErrorCode::invalid_argument, "event without tenant_id");
    auto it = scratch.find(tenant);
    if (it == scratch.end()) {
      it = scratch.emplace(tenant, history_.head(tenant).value_or(ChainHead{})).first;
    }
    envelope.set_sequence(it->second.sequence + 1);
    envelope.set_previous_hash(it->second.hash);
    envelope.set_writer_epoch(epoch_);
    if (envelope.recorded_at_us() == 0) envelope.set_recorded_at_us(request.recorded_at_us);
    std::string value = seal_envelope(envelope);
    it->second = ChainHead{envelope.sequence(), envelope.hash()};
    sealed_.emplace_back(tenant, it->second);
    out.records.push_back(Record{topic_, tenant, std::move(value),
                                 {{std::string(kEpochHeader), epoch_text}}, partition_});
    prepared.events.push_back(std::move(envelope));
  }
  for (auto& record : request.extra) {
    record.headers.push_back({std::string(kEpochHeader), epoch_text});
    out.records.push_back(std::move(record));
  }
  out.group = std::move(request.group);
  out.offsets = std::move(request.offsets);
  out.member = request.member;
  return prepared;
}

void FencedWriter::appended(const std::vector<Record>& records, const std::vector<RecordPosition>& positions) {
  advance_past(records, positions);
}

void FencedWriter::append_failed() {
  needs_catch_up_ = true;
  sealed_.clear();
}

Result<SealedAppend> FencedWriter::append(WriterAppend request) {
  auto prepared = prepare(std::move(request));
  if (!prepared) return std::unexpected(prepared.error());
  // Kept to apply our own records to the history without reading them back.
  std::vector<Record> mine = prepared->request.records;
  auto result = log_.append(std::move(prepared->request));
  if (!result) {
    // The outcome may be unknown (a timeout): learn it from the log before writing on.
    append_failed();
    return std::unexpected(result.error());
  }
  appended(mine, result->positions);
  return SealedAppend{std::move(*result), std::move(prepared->events)};
}

void FencedWriter::advance_past(const std::vector<Record>& mine, const std::vector<RecordPosition>& positions) {
  // The writer's view must be exactly what every reader concludes, including its own
  // fencing if a newer claim got in first. When our records follow what we have
  // read with no gap, nobody else wrote in between and they can be applied as they
  // are; otherwise someone did, and we read the partition back.
  int64_t expected = next_offset_;
  bool contiguous = true;
  int64_t last = next_offset_;
  for (size_t i = 0; i < mine.size(); ++i) {
    const auto& position = positions[i];
    if (position.partition != partition_ || mine[i].topic != topic_) continue;
    contiguous = contiguous && position.offset == expected;
    expected = position.offset + 1;
    last = std::max(last, position.offset + 1);
  }
  if (last == next_offset_) return;
  if (!contiguous) {
    sealed_.clear();
    if (!catch_up(last)) needs_catch_up_ = true;
    return;
  }
  if (advance_sealed(mine, positions, last)) return;
  StoredRecord stored;
  RuleOutcome outcome;
  stored.topic = topic_;
  stored.partition = partition_;
  for (size_t i = 0; i < mine.size(); ++i) {
    if (positions[i].partition != partition_ || mine[i].topic != topic_) continue;
    stored.offset = positions[i].offset;
    stored.key = mine[i].key;
    stored.value = mine[i].value;
    stored.headers = mine[i].headers;
    history_.check(stored, outcome);
  }
  next_offset_ = last;
}

bool FencedWriter::advance_sealed(const std::vector<Record>& mine, const std::vector<RecordPosition>& positions,
                                  int64_t last) {
  // Our own events, sealed on the heads we hold, at our epoch (not fenced), landing
  // right after what we had read when we sealed them, and byte for byte what we
  // sealed (the hash trailer): every reader's rules accept them and move the heads
  // exactly so. Anything else takes the general path.
  std::vector<std::pair<std::string, ChainHead>> sealed = std::move(sealed_);
  sealed_.clear();
  if (fenced() || sealed_at_ != next_offset_) return false;
  size_t at = 0;
  for (size_t i = 0; i < mine.size(); ++i) {
    if (positions[i].partition != partition_ || mine[i].topic != topic_) continue;
    if (at == sealed.size()) return false;
    const Record& record = mine[i];
    const auto& [tenant, head] = sealed[at++];
    if (record.key != tenant || record.value.size() < kHashTrailerBytes ||
        std::string_view(record.value).substr(record.value.size() - kSha256Bytes) != head.hash) {
      return false;
    }
  }
  if (at != sealed.size()) return false;
  for (auto& [tenant, head] : sealed) history_.advance_sealed(tenant, std::move(head));
  next_offset_ = last;
  return true;
}
}  // namespace tenantry::log
