#include "connectors/log/history_rules.h"

#include <charconv>

#include "connectors/log/envelope_codec.h"
#include "tenantry/v1/log.pb.h"

namespace tenantry::log {

const char* to_string(ViolationKind kind) {
  switch (kind) {
    case ViolationKind::corrupt_record: return "corrupt_record";
    case ViolationKind::missing_hash: return "missing_hash";
    case ViolationKind::hash_mismatch: return "hash_mismatch";
    case ViolationKind::missing_epoch: return "missing_epoch";
    case ViolationKind::unclaimed_epoch: return "unclaimed_epoch";
    case ViolationKind::epoch_mismatch: return "epoch_mismatch";
    case ViolationKind::tenant_mismatch: return "tenant_mismatch";
    case ViolationKind::sequence_gap: return "sequence_gap";
    case ViolationKind::previous_hash_mismatch: return "previous_hash_mismatch";
  }
  return "unknown";
}

std::string Violation::describe() const {
  std::string text = topic + "/" + std::to_string(partition) + "@" + std::to_string(offset);
  if (!tenant_id.empty()) text += " tenant " + tenant_id;
  if (sequence != 0) text += " seq " + std::to_string(sequence);
  text += ": ";
  text += to_string(kind);
  if (!detail.empty()) text += " (" + detail + ")";
  return text;
}

void PartitionHistory::advance_sealed(const std::string& tenant_id, ChainHead head) {
  heads_.set(tenant_id, head.sequence, head.hash);
}

std::optional<ChainHead> PartitionHistory::head(std::string_view tenant_id) const {
  ChainHeads::Head head;
  if (!heads_.find(tenant_id, head)) return std::nullopt;
  return ChainHead{head.sequence, std::string(head.hash)};
}

namespace {

void refuse(const StoredRecord& record, RuleOutcome& outcome, ViolationKind kind, std::string detail,
            std::string_view tenant_id = {}, uint64_t sequence = 0) {
  outcome.verdict = Verdict::violation;
  outcome.violation = Violation{record.topic,
                                record.partition,
                                record.offset,
                                tenant_id.empty() ? record.key : std::string(tenant_id),
                                sequence,
                                kind,
                                std::move(detail)};
}

// The `tenantry-epoch` header's value: nullopt when absent, *malformed when it is not
// a decimal number.
std::optional<uint64_t> header_epoch(const std::string* text, bool* malformed) {
  *malformed = false;
  if (text == nullptr) return std::nullopt;
  uint64_t epoch = 0;
  auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), epoch);
  if (error != std::errc() || end != text->data() + text->size()) {
    *malformed = true;
    return std::nullopt;
  }
  return epoch;
}

}  // namespace

RuleOutcome PartitionHistory::apply(const StoredRecord& record) {
  RuleOutcome outcome;
  apply(record, outcome);
  return outcome;
}

void PartitionHistory::apply(const StoredRecord& record, RuleOutcome& outcome) {
  apply_rules(record, outcome, &outcome.envelope);
}

void PartitionHistory::check(const StoredRecord& record, RuleOutcome& outcome) {
  apply_rules(record, outcome, nullptr);
}

void PartitionHistory::apply_rules(const StoredRecord& record, RuleOutcome& outcome, v1::EventEnvelope* envelope) {
  outcome.verdict = Verdict::accepted;
  outcome.violation.reset();
  outcome.fields = EnvelopeFields{};
  // Both headers in one pass, the first of each name counting (StoredRecord::header).
  const std::string* kind = nullptr;
  const std::string* epoch_header = nullptr;
  for (const auto& header : record.headers) {
    if (kind == nullptr && header.key == kKindHeader) kind = &header.value;
    if (epoch_header == nullptr && header.key == kEpochHeader) epoch_header = &header.value;
  }
  if (kind != nullptr && *kind == kClaimKind) {
    apply_claim(record, outcome);
    return;
  }
  if (kind_ == TopicKind::events) {
    apply_event(record, epoch_header, outcome, envelope);
    return;
  }
  bool malformed = false;
  auto epoch = header_epoch(epoch_header, &malformed);
  if (malformed) {
    refuse(record, outcome, ViolationKind::corrupt_record, "unreadable tenantry-epoch header");
  } else if (epoch && *epoch < epoch_) {
    outcome.verdict = Verdict::fenced;
  } else if (epoch && *epoch > epoch_) {
    refuse(record, outcome, ViolationKind::unclaimed_epoch,
           "epoch " + std::to_string(*epoch) + " > claimed " + std::to_string(epoch_));
  }
  // No epoch header: written by an unfenced producer (a client's command); accepted.
}

void PartitionHistory::apply_claim(const StoredRecord& record, RuleOutcome& outcome) {
  v1::WriterClaim claim;
  if (!claim.ParseFromString(record.value) || claim.epoch() == 0) {
    refuse(record, outcome, ViolationKind::corrupt_record, "claim record is not a WriterClaim");
    return;
  }
  if (claim.epoch() <= epoch_) {
    outcome.verdict = Verdict::stale_claim;
    return;
  }
  epoch_ = claim.epoch();
  outcome.verdict = Verdict::claim;
}

void PartitionHistory::apply_event(const StoredRecord& record, const std::string* epoch_header, RuleOutcome& outcome,
                                   v1::EventEnvelope* envelope) {
  auto opened = open_envelope_fields(record.value);
  if (!opened) {
    const auto kind = opened.error().failure == OpenFailure::not_an_envelope ? ViolationKind::corrupt_record
                      : opened.error().failure == OpenFailure::missing_hash  ? ViolationKind::missing_hash
                                                                             : ViolationKind::hash_mismatch;
    refuse(record, outcome, kind, std::move(opened.error().detail));
    return;
  }
  const EnvelopeFields& event = *opened;
  const uint64_t epoch = event.writer_epoch;
  if (epoch == 0) {
    refuse(record, outcome, ViolationKind::missing_epoch, "", event.tenant_id, event.sequence);
    return;
  }
  bool malformed = false;
  auto stamped = header_epoch(epoch_header, &malformed);
  if (malformed || (stamped && *stamped != epoch)) {
    refuse(record, outcome, ViolationKind::epoch_mismatch, "header epoch differs from envelope", event.tenant_id,
           event.sequence);
    return;
  }
  if (epoch < epoch_) {
    outcome.verdict = Verdict::fenced;
    return;
  }
  if (epoch > epoch_) {
    refuse(record, outcome, ViolationKind::unclaimed_epoch,
           "epoch " + std::to_string(epoch) + " > claimed " + std::to_string(epoch_), event.tenant_id,
           event.sequence);
    return;
  }
  if (event.tenant_id != record.key) {
    refuse(record, outcome, ViolationKind::tenant_mismatch, "record key " + record.key, event.tenant_id,
           event.sequence);
    return;
  }
  ChainHeads::Head head;  // a tenant's first event follows sequence 0 and no hash
  heads_.find(event.tenant_id, head);
  if (event.sequence != head.sequence + 1) {
    refuse(record, outcome, ViolationKind::sequence_gap, "expected " + std::to_string(head.sequence + 1),
           event.tenant_id, event.sequence);
    return;
  }
  if (event.previous_hash != head.hash) {
    refuse(record, outcome, ViolationKind::previous_hash_mismatch, "", event.tenant_id, event.sequence);
    return;
  }
  // open_envelope_fields accepts exactly what protobuf parses (tested), so this parse
  // succeeds; were it ever not so, the record is still not an envelope, and the head
  // does not move.
  if (envelope != nullptr && !envelope->ParseFromArray(record.value.data(), static_cast<int>(record.value.size()))) {
    refuse(record, outcome, ViolationKind::corrupt_record, "value is not a protobuf EventEnvelope");
    return;
  }
  heads_.set(event.tenant_id, event.sequence, event.hash);
  outcome.fields = event;
}

}  // namespace tenantry::log
