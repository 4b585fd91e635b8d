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
  heads_[tenant_id] = std::move(head);
}

const ChainHead* PartitionHistory::head(const std::string& tenant_id) const {
  auto it = heads_.find(tenant_id);
  return it == heads_.end() ? nullptr : &it->second;
}

namespace {

RuleOutcome violation(const StoredRecord& record, ViolationKind kind, std::string detail,
                      std::string tenant_id = {}, uint64_t sequence = 0) {
  RuleOutcome outcome;
  outcome.verdict = Verdict::violation;
  outcome.violation = Violation{record.topic, record.partition, record.offset,
                                tenant_id.empty() ? record.key : std::move(tenant_id),
                                sequence, kind, std::move(detail)};
  return outcome;
}

}  // namespace

std::optional<uint64_t> PartitionHistory::header_epoch(const StoredRecord& record,
                                                       bool* malformed) const {
  *malformed = false;
  const std::string* text = record.header(kEpochHeader);
  if (text == nullptr) return std::nullopt;
  uint64_t epoch = 0;
  auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), epoch);
  if (error != std::errc() || end != text->data() + text->size()) {
    *malformed = true;
    return std::nullopt;
  }
  return epoch;
}

RuleOutcome PartitionHistory::apply(const StoredRecord& record) {
  RuleOutcome outcome;
  apply(record, outcome);
  return outcome;
}

void PartitionHistory::apply(const StoredRecord& record, RuleOutcome& outcome) {
  outcome.verdict = Verdict::accepted;
  outcome.violation.reset();
  const std::string* kind = record.header(kKindHeader);
  if (kind != nullptr && *kind == kClaimKind) {
    outcome = apply_claim(record);
    return;
  }
  if (kind_ == TopicKind::events) {
    apply_event(record, outcome);
    return;
  }
  bool malformed = false;
  auto epoch = header_epoch(record, &malformed);
  if (malformed) {
    outcome = violation(record, ViolationKind::corrupt_record, "unreadable tenantry-epoch header");
  } else if (epoch && *epoch < epoch_) {
    outcome.verdict = Verdict::fenced;
  } else if (epoch && *epoch > epoch_) {
    outcome = violation(record, ViolationKind::unclaimed_epoch,
                        "epoch " + std::to_string(*epoch) + " > claimed " + std::to_string(epoch_));
  }
  // No epoch header: written by an unfenced producer (a client's command); accepted.
}

RuleOutcome PartitionHistory::apply_claim(const StoredRecord& record) {
  v1::WriterClaim claim;
  if (!claim.ParseFromString(record.value) || claim.epoch() == 0) {
    return violation(record, ViolationKind::corrupt_record, "claim record is not a WriterClaim");
  }
  if (claim.epoch() <= epoch_) return RuleOutcome{Verdict::stale_claim, std::nullopt, {}};
  epoch_ = claim.epoch();
  return RuleOutcome{Verdict::claim, std::nullopt, {}};
}

void PartitionHistory::apply_event(const StoredRecord& record, RuleOutcome& outcome) {
  v1::EventEnvelope& envelope = outcome.envelope;
  if (auto opened = open_envelope_into(record.value, envelope); !opened) {
    const auto kind = opened.error().failure == OpenFailure::not_an_envelope ? ViolationKind::corrupt_record
                      : opened.error().failure == OpenFailure::missing_hash  ? ViolationKind::missing_hash
                                                                             : ViolationKind::hash_mismatch;
    outcome = violation(record, kind, opened.error().detail);
    return;
  }
  const uint64_t epoch = envelope.writer_epoch();
  if (epoch == 0) {
    outcome = violation(record, ViolationKind::missing_epoch, "", envelope.tenant_id(), envelope.sequence());
    return;
  }
  bool malformed = false;
  auto stamped = header_epoch(record, &malformed);
  if (malformed || (stamped && *stamped != epoch)) {
    outcome = violation(record, ViolationKind::epoch_mismatch, "header epoch differs from envelope",
                        envelope.tenant_id(), envelope.sequence());
    return;
  }
  if (epoch < epoch_) {
    outcome.verdict = Verdict::fenced;
    return;
  }
  if (epoch > epoch_) {
    outcome = violation(record, ViolationKind::unclaimed_epoch,
                        "epoch " + std::to_string(epoch) + " > claimed " + std::to_string(epoch_),
                        envelope.tenant_id(), envelope.sequence());
    return;
  }
  if (envelope.tenant_id() != record.key) {
    outcome = violation(record, ViolationKind::tenant_mismatch, "record key " + record.key, envelope.tenant_id(),
                        envelope.sequence());
    return;
  }
  auto [it, inserted] = heads_.try_emplace(envelope.tenant_id());
  ChainHead& head = it->second;
  if (envelope.sequence() != head.sequence + 1) {
    auto refused = violation(record, ViolationKind::sequence_gap, "expected " + std::to_string(head.sequence + 1),
                             envelope.tenant_id(), envelope.sequence());
    if (inserted) heads_.erase(it);
    outcome = std::move(refused);
    return;
  }
  if (envelope.previous_hash() != head.hash) {
    auto refused = violation(record, ViolationKind::previous_hash_mismatch, "", envelope.tenant_id(),
                             envelope.sequence());
    if (inserted) heads_.erase(it);
    outcome = std::move(refused);
    return;
  }
  head.sequence = envelope.sequence();
  head.hash = envelope.hash();
}

}  // namespace tenantry::log
