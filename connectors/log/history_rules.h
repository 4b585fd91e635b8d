// The accepted history of a partition: which records count, decided from the log
// alone so that every reader (projections, sagas, auditors) agrees without
// trusting the broker's transactions.
//
// Rules, applied in offset order:
// 1. A record with header `tenantry-kind: claim` carries a WriterClaim. It takes
//    effect when its epoch is higher than the partition's current epoch; an equal or
//    lower one is stale and passed over.
// 2. A record stamped with an epoch lower than the current one is fenced (a zombie
//    writer's); one with a higher epoch than any effective claim is a violation.
// 3. On event topics every record is a sealed EventEnvelope: its hash must verify,
//    its tenant must be the record key, its epoch must equal the writer's stamp,
//    its sequence must follow the tenant's last accepted one by exactly 1 and its
//    previous_hash must be that event's hash.
// A violating record is reported and not accepted; reading goes on after it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "connectors/log/chain_heads.h"
#include "connectors/log/envelope_codec.h"
#include "connectors/log/event_log.h"
#include "tenantry/v1/envelope.pb.h"

namespace tenantry::log {

inline constexpr std::string_view kKindHeader = "tenantry-kind";
inline constexpr std::string_view kClaimKind = "claim";
inline constexpr std::string_view kEpochHeader = "tenantry-epoch";

enum class ViolationKind {
  corrupt_record,       // not a protobuf envelope / claim
  missing_hash,         // no hash trailer
  hash_mismatch,        // stored bytes were altered
  missing_epoch,        // an event without a writer epoch
  unclaimed_epoch,      // stamped with an epoch no claim has taken
  epoch_mismatch,       // header epoch differs from the envelope's
  tenant_mismatch,      // envelope tenant differs from the record key
  sequence_gap,         // sequence is not last + 1
  previous_hash_mismatch,
};

const char* to_string(ViolationKind kind);

struct Violation {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string tenant_id;
  uint64_t sequence = 0;
  ViolationKind kind = ViolationKind::corrupt_record;
  std::string detail;

  // "events/3@17 tenant acme seq 5: sequence_gap (expected 4)"
  std::string describe() const;
};

struct ChainHead {
  uint64_t sequence = 0;
  std::string hash;
};

enum class Verdict { accepted, claim, stale_claim, fenced, violation };

struct RuleOutcome {
  Verdict verdict = Verdict::accepted;
  std::optional<Violation> violation;
  // Set when accepted on an event topic: what the rules read of the event, views into
  // the record's value (valid while the record is).
  EnvelopeFields fields;
  // Set when accepted on an event topic by apply(); check() leaves it alone.
  v1::EventEnvelope envelope;
};

enum class TopicKind {
  events,   // sealed envelopes, hash-chained per tenant
  fenced,   // any payload; fenced by the `tenantry-epoch` header when present
};

// The rules for one partition. Not thread-safe: one per reader.
class PartitionHistory {
 public:
  explicit PartitionHistory(TopicKind kind) : kind_(kind) {}

  RuleOutcome apply(const StoredRecord& record);
  // The same into an outcome the caller keeps: its envelope's storage is reused from
  // record to record (for walks over whole partitions). The envelope is meaningful
  // only when the verdict is accepted on an event topic.
  void apply(const StoredRecord& record, RuleOutcome& outcome);
  // The same rules, verdicts and history as apply(), without building the envelope:
  // for walks that need only the verdict and outcome.fields (verification, a reader
  // replaying a partition up to where it starts). Nothing is allocated per record
  // but for a violation or a tenant's first event.
  void check(const StoredRecord& record, RuleOutcome& outcome);
  // What apply() concludes for an event its own writer sealed on `head` of this
  // history at the current epoch and appended right after everything applied here:
  // accepted, the tenant's head moves to `head`. Saves opening and hashing it again;
  // only FencedWriter, which can vouch for all of that, calls it.
  void advance_sealed(const std::string& tenant_id, ChainHead head);

  uint64_t epoch() const { return epoch_; }
  // The tenant's last accepted sequence and hash (nullopt: no event accepted yet).
  std::optional<ChainHead> head(std::string_view tenant_id) const;
  size_t tenants() const { return heads_.size(); }

 private:
  // apply() and check(); `envelope` is where apply() wants the envelope built.
  void apply_rules(const StoredRecord& record, RuleOutcome& outcome, v1::EventEnvelope* envelope);
  void apply_claim(const StoredRecord& record, RuleOutcome& outcome);
  void apply_event(const StoredRecord& record, const std::string* epoch_header, RuleOutcome& outcome,
                   v1::EventEnvelope* envelope);

  TopicKind kind_;
  uint64_t epoch_ = 0;
  ChainHeads heads_;
};

}  // namespace tenantry::log
