#include "commands/command_processor.h"

#include <algorithm>
#include <charconv>
#include <future>
#include <unordered_map>

#include "connectors/log/envelope_codec.h"
#include "tenantry/v1/log.pb.h"

namespace tenantry::commands {

namespace {

constexpr const char* kStateFamily = "tenant_state";
constexpr const char* kRepliesFamily = "command_replies";
constexpr const char* kOffsetsFamily = "processor_offsets";
constexpr size_t kCatchUpBatch = 4096;

std::string reply_key(const std::string& tenant, const std::string& command_id) {
  return tenant + '\0' + command_id;
}

std::string offset_key(const std::string& topic, int32_t partition) {
  return topic + '/' + std::to_string(partition);
}

std::optional<int64_t> parse_offset(const std::string& text) {
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// What makes two commands with one id the same command.
std::string command_digest(const v1::CommandEnvelope& command) {
  std::string material = command.tenant_id();
  material += '\0';
  material += command.command_type();
  material += '\0';
  if (command.has_expected_version()) material += std::to_string(command.expected_version());
  material += '\0';
  material += command.payload();
  return log::sha256(material);
}

v1::CommandReply rejection_reply(const std::string& type, const std::string& message,
                                 v1::CommandReply::Status status = v1::CommandReply::STATUS_REJECTED,
                                 const std::string& field = {}) {
  v1::CommandReply reply;
  reply.set_status(status);
  reply.set_error_type(type);
  reply.set_message(message);
  if (!field.empty()) {
    auto* f = reply.add_field_errors();
    f->set_field(field);
    f->set_message(message);
  }
  return reply;
}

std::string random_token(std::mt19937_64& random) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token(32, '0');
  for (int word = 0; word < 2; ++word) {
    uint64_t bits = random();
    for (int i = 0; i < 16; ++i, bits >>= 4) token[static_cast<size_t>(word * 16 + i)] = kHex[bits & 15];
  }
  return token;
}

// What a cache entry costs beyond the state itself: list node, index node, key.
size_t entry_overhead(const std::string& tenant) {
  return 96 + (tenant.capacity() > 15 ? tenant.capacity() + 1 : 0);
}

}  // namespace

struct CommandProcessor::Partition {
  int32_t id = 0;
  int32_t partitions = 1;  // of the commands topic
  std::unique_ptr<log::FencedWriter> writer;
  // Appended but not yet in the store: replies to remember, and the offsets the
  // store will be at once they and the cache's unwritten states are written.
  std::unordered_map<std::string, std::string> unwritten_replies;
  std::optional<int64_t> unwritten_events_offset;
  std::optional<int64_t> unwritten_replies_offset;
  // The commands offset after the last batch that landed since the claim (before the
  // first: where the first batch began). A fenced batch is decided again from here.
  std::optional<int64_t> landed_offset;
  // The replies offset after this processor's last records there (at first, its claim):
  // a reply landing anywhere else means another writer wrote in between.
  int64_t replies_end = 0;
  // This partition's share of the append in flight, which the next poll's decisions
  // see before anything durable.
  const Work* in_flight = nullptr;
};

CommandProcessor::CommandProcessor(log::EventLog& log, store::RocksStore& store, const Aggregate& aggregate,
                                   const clock::Clock& clock, ProcessorOptions options)
    : log_(log), store_(store), aggregate_(aggregate), clock_(clock), options_(std::move(options)),
      random_(std::random_device{}()) {}

CommandProcessor::~CommandProcessor() { stop(); }

log::Result<const LoadedState*> CommandProcessor::cached_state(int32_t partition, const std::string& tenant) {
  if (auto it = cache_index_.find(tenant); it != cache_index_.end()) {
    cache_.splice(cache_.begin(), cache_, it->second);  // most recently used
    return it->second->state.get();
  }
  // Not cached, so not unwritten either (those are never evicted): the store has it.
  auto stored = store_.get(kStateFamily, tenant);
  if (!stored) return std::unexpected(stored.error());
  cache_state(partition, tenant, aggregate_.load(stored->value_or("")), false);
  return cache_.front().state.get();
}

void CommandProcessor::cache_state(int32_t partition, const std::string& tenant, std::unique_ptr<LoadedState> state,
                                   bool unwritten) {
  if (auto it = cache_index_.find(tenant); it != cache_index_.end()) {
    CachedState& entry = *it->second;
    cache_bytes_ -= entry.bytes;
    entry.state = std::move(state);
    entry.bytes = entry.state->memory_bytes() + entry_overhead(entry.tenant);
    cache_bytes_ += entry.bytes;
    if (unwritten && !entry.unwritten) unwritten_states_.push_back(it->second);
    entry.unwritten = entry.unwritten || unwritten;
    cache_.splice(cache_.begin(), cache_, it->second);
    return;
  }
  cache_.push_front(CachedState{tenant, partition, std::move(state), 0, unwritten});
  CachedState& entry = cache_.front();
  entry.bytes = entry.state->memory_bytes() + entry_overhead(entry.tenant);
  cache_bytes_ += entry.bytes;
  cache_index_.emplace(entry.tenant, cache_.begin());
  if (unwritten) unwritten_states_.push_back(cache_.begin());
  evict_states();
}

void CommandProcessor::evict_states() {
  // From the least recently used end, passing over states the store does not have yet.
  for (auto it = cache_.end(); cache_bytes_ > options_.state_cache_bytes && it != cache_.begin();) {
    --it;
    if (it->unwritten) continue;
    cache_bytes_ -= it->bytes;
    cache_index_.erase(it->tenant);
    it = cache_.erase(it);
  }
  reported_states_ = cache_.size();
  reported_state_bytes_ = cache_bytes_;
}

void CommandProcessor::forget(int32_t partition) {
  std::erase_if(unwritten_states_, [&](const CacheList::iterator& it) { return it->partition == partition; });
  for (auto it = cache_.begin(); it != cache_.end();) {
    if (it->partition != partition) {
      ++it;
      continue;
    }
    cache_bytes_ -= it->bytes;
    cache_index_.erase(it->tenant);
    it = cache_.erase(it);
  }
  partitions_.erase(partition);
}

bool CommandProcessor::cache_write_due(bool idle) const {
  if (unwritten_commands_ == 0) return false;
  return idle || unwritten_commands_ >= options_.max_unwritten_commands ||
         std::chrono::steady_clock::now() - unwritten_since_ >= options_.max_unwritten_age;
}

log::Result<void> CommandProcessor::write_cache() {
  // States, replies and the offsets they reflect in one store write: the store is
  // never ahead of its offsets (catch-up would apply an event twice) nor behind them
  // (it would miss one). Sorted keys make the memtable inserts cheaper.
  // With a shared store, only partitions this processor still holds there: what a
  // lost one leaves unwritten is caught up by its new holder from the log.
  std::unique_lock<std::mutex> shared;
  if (options_.shared_store) shared = std::unique_lock(options_.shared_store->mutex);
  auto holds = [&](int32_t partition) {
    if (!options_.shared_store) return true;
    auto it = options_.shared_store->holders.find(partition);
    return it != options_.shared_store->holders.end() && it->second == this;
  };
  std::vector<std::pair<std::string_view, std::string>> states;
  states.reserve(unwritten_states_.size());
  for (const auto& it : unwritten_states_) {
    if (holds(it->partition)) states.emplace_back(it->tenant, it->state->encode());
  }
  std::sort(states.begin(), states.end());
  std::vector<std::pair<std::string_view, std::string_view>> replies;
  for (const auto& [id, partition] : partitions_) {
    if (!holds(id)) continue;
    for (const auto& [key, reply] : partition->unwritten_replies) replies.emplace_back(key, reply);
  }
  std::sort(replies.begin(), replies.end());
  // Only writes: nothing here reads back what the batch holds.
  auto batch = store_.unindexed_batch();
  for (const auto& [tenant, state] : states) batch.put(kStateFamily, tenant, state);
  for (const auto& [key, reply] : replies) batch.put(kRepliesFamily, key, reply);
  for (const auto& [id, partition] : partitions_) {
    if (!holds(id)) continue;
    if (partition->unwritten_events_offset) {
      batch.put(kOffsetsFamily, offset_key(options_.events_topic, id), std::to_string(*partition->unwritten_events_offset));
    }
    if (partition->unwritten_replies_offset) {
      batch.put(kOffsetsFamily, offset_key(options_.replies_topic, id), std::to_string(*partition->unwritten_replies_offset));
    }
  }
  if (batch.operations() > 0) {
    if (auto written = store_.write(batch, false); !written) return std::unexpected(written.error());
  }
  for (const auto& it : unwritten_states_) it->unwritten = false;
  unwritten_states_.clear();
  unwritten_commands_ = 0;
  for (auto& [id, partition] : partitions_) {
    partition->unwritten_replies.clear();
    partition->unwritten_events_offset.reset();
    partition->unwritten_replies_offset.reset();
  }
  reported_replies_ = 0;
  evict_states();
  return {};
}

ProcessorMemory CommandProcessor::memory() const {
  return ProcessorMemory{reported_states_, reported_state_bytes_, reported_replies_};
}

std::vector<std::string> CommandProcessor::store_families() {
  return {kStateFamily, kRepliesFamily, kOffsetsFamily};
}

log::Result<void> CommandProcessor::catch_up(Partition& partition) {
  // Replies first, then events, each from where the store says it stopped. A command
  // whose events are in the log but whose reply is not (a writer died between two
  // claims) is still recognised by the command id the events carry.
  auto batch = store_.batch();
  const int32_t p = partition.id;
  for (const bool replies : {true, false}) {
    const std::string& topic = replies ? options_.replies_topic : options_.events_topic;
    auto stored = store_.get(kOffsetsFamily, offset_key(topic, p));
    if (!stored) return std::unexpected(stored.error());
    const int64_t from = stored->has_value() ? parse_offset(**stored).value_or(0) : 0;
    auto end = log_.end_offset(topic, p);
    if (!end) return std::unexpected(end.error());
    auto reader = log::AcceptedReader::open(log_, topic, p, from,
                                            replies ? log::TopicKind::fenced : log::TopicKind::events);
    if (!reader) return std::unexpected(reader.error());
    while ((*reader)->position() < *end) {
      auto read = (*reader)->read(kCatchUpBatch, std::chrono::milliseconds(1000));
      if (!read) return std::unexpected(read.error());
      if (read->records_read == 0) return log::fail(log::ErrorCode::timeout, "catch-up of " + topic + " stalled");
      for (const auto& accepted : read->records) {
        if (replies) {
          if (accepted.record.header(log::kKindHeader) != nullptr) continue;  // a claim
          v1::CommandReply reply;
          if (!reply.ParseFromString(accepted.record.value)) continue;
          batch.put(kRepliesFamily, reply_key(reply.tenant_id(), reply.command_id()), accepted.record.value);
          continue;
        }
        const auto& envelope = accepted.envelope;
        auto state = batch.get(kStateFamily, envelope.tenant_id());
        if (!state) return std::unexpected(state.error());
        const std::string next = aggregate_.evolve(state->value_or(""), envelope);
        batch.put(kStateFamily, envelope.tenant_id(), next);
        const std::string key = reply_key(envelope.tenant_id(), envelope.command_id());
        auto known = batch.get(kRepliesFamily, key);
        if (!known) return std::unexpected(known.error());
        if (!known->has_value() && !envelope.command_id().empty()) {
          v1::CommandReply reply;
          reply.set_command_id(envelope.command_id());
          reply.set_tenant_id(envelope.tenant_id());
          reply.set_status(v1::CommandReply::STATUS_ACCEPTED);
          reply.set_resulting_sequence(envelope.sequence());
          batch.put(kRepliesFamily, key, reply.SerializeAsString());
        }
      }
    }
    batch.put(kOffsetsFamily, offset_key(topic, p), std::to_string((*reader)->position()));
  }
  return store_.write(batch, false);
}

log::Result<CommandProcessor::Partition*> CommandProcessor::partition(int32_t id) {
  // Held partitions are never fenced here: a fenced one is let go when its append lands.
  if (auto it = partitions_.find(id); it != partitions_.end()) return it->second.get();
  // Claim the replies partition, then the events partition with the same epoch, then
  // bring the cache up to the claim. In that order, an older writer's batch that lands
  // between the two claims loses its replies but keeps its events (which catch_up
  // recognises as done); the other order would leave an accepted reply whose events
  // were fenced out.
  const int64_t now_us = clock_.now_us();
  int64_t replies_end = 0;
  auto claim_replies = [&](uint64_t epoch) -> log::Result<void> {
    v1::WriterClaim claim;
    claim.set_epoch(epoch);
    claim.set_writer_id(options_.writer_id);
    claim.set_claimed_at_us(now_us);
    log::AppendRequest request;
    request.records.push_back(log::Record{options_.replies_topic, "", claim.SerializeAsString(),
                                          {{std::string(log::kKindHeader), std::string(log::kClaimKind)}}, id});
    auto appended = log_.append(std::move(request));
    if (!appended) return std::unexpected(appended.error());
    replies_end = appended->positions.front().offset + 1;
    return {};
  };
  auto writer = log::FencedWriter::claim(log_, options_.events_topic, id, options_.writer_id, now_us, claim_replies);
  if (!writer) return std::unexpected(writer.error());
  auto count = log_.partition_count(options_.commands_topic);
  if (!count) return std::unexpected(count.error());
  auto fresh = std::make_unique<Partition>();
  fresh->id = id;
  fresh->partitions = *count;
  fresh->writer = std::move(*writer);
  fresh->replies_end = replies_end;
  {
    // From here on the store's keys of this partition are this processor's to write.
    std::unique_lock<std::mutex> shared;
    if (options_.shared_store) {
      shared = std::unique_lock(options_.shared_store->mutex);
      options_.shared_store->holders[id] = this;
    }
    if (auto caught = catch_up(*fresh); !caught) return std::unexpected(caught.error());
  }
  auto* raw = fresh.get();
  partitions_[id] = std::move(fresh);
  return raw;
}

log::Result<CommandProcessor::Work> CommandProcessor::handle(Partition& partition,
                                                             std::vector<log::StoredRecord>& records) {
  const int64_t now_us = clock_.now_us();
  if (!partition.landed_offset) partition.landed_offset = records.front().offset;
  // Decisions of this batch see the batch's earlier decisions through these.
  std::unordered_map<std::string, std::unique_ptr<LoadedState>> states;
  std::unordered_map<std::string, std::string> replies;  // reply_key -> serialized reply (new ones)
  log::WriterAppend append;
  append.recorded_at_us = now_us;
  append.extra.reserve(records.size());

  // Then the append in flight (decided, not yet durable), then what is durable.
  const Work* flight = partition.in_flight;
  auto state_of = [&](const std::string& tenant) -> log::Result<const LoadedState*> {
    if (auto it = states.find(tenant); it != states.end()) return it->second.get();
    if (flight != nullptr) {
      if (auto it = flight->states.find(tenant); it != flight->states.end()) return it->second.get();
    }
    return cached_state(partition.id, tenant);
  };
  auto reply_of = [&](const std::string& key) -> log::Result<std::optional<std::string>> {
    if (auto it = replies.find(key); it != replies.end()) return std::optional<std::string>(it->second);
    if (flight != nullptr) {
      if (auto it = flight->replies.find(key); it != flight->replies.end()) return std::optional<std::string>(it->second);
    }
    if (auto it = partition.unwritten_replies.find(key); it != partition.unwritten_replies.end()) {
      return std::optional<std::string>(it->second);
    }
    return store_.get(kRepliesFamily, key);
  };

  // Every command parsed once; then the names the new ones take, claimed together (one
  // append, one read-back) before any of them is decided.
  std::vector<v1::CommandEnvelope> commands(records.size());
  std::vector<char> parsed(records.size());
  for (size_t i = 0; i < records.size(); ++i) parsed[i] = commands[i].ParseFromString(records[i].value);
  struct Claimed {
    NameUse name;
    ClaimOutcome outcome;
  };
  std::unordered_map<size_t, std::vector<Claimed>> claims;  // by record index
  std::optional<log::Error> names_failure;
  std::vector<NameRequest> refused_claims;  // taken by commands refused in this batch: given back
  if (options_.names != nullptr) {
    std::vector<NameRequest> requests;
    std::vector<std::pair<size_t, NameUse>> owners;
    for (size_t i = 0; i < records.size(); ++i) {
      if (!parsed[i] || commands[i].tenant_id() != records[i].key) continue;
      auto names = aggregate_.names_claimed(commands[i]);
      if (names.empty()) continue;
      // A repeated command gets its first reply; it claims nothing again.
      auto known = reply_of(reply_key(records[i].key, commands[i].command_id()));
      if (!known) return std::unexpected(known.error());
      if (known->has_value()) continue;
      for (auto& name : names) {
        requests.push_back({name.kind, name.name, records[i].key, "command " + commands[i].command_id()});
        owners.emplace_back(i, std::move(name));
      }
    }
    if (!requests.empty()) {
      auto outcomes = options_.names->claim_all(requests, now_us);
      if (!outcomes) {
        names_failure = outcomes.error();
      } else {
        for (size_t j = 0; j < owners.size(); ++j) claims[owners[j].first].push_back({owners[j].second, (*outcomes)[j]});
      }
    }
  }
  std::vector<NameRequest> releases;

  for (size_t index = 0; index < records.size(); ++index) {
    const auto& record = records[index];
    v1::CommandEnvelope& command = commands[index];
    v1::CommandReply reply;
    const std::string tenant = record.key;
    bool remember = true;
    const auto claimed = claims.find(index);
    const Claimed* taken = nullptr;
    if (claimed != claims.end()) {
      for (const auto& claim : claimed->second) {
        if (claim.outcome == ClaimOutcome::taken) taken = &claim;
      }
    }
    if (!parsed[index]) {
      reply = rejection_reply("malformed_command", "the record is not a CommandEnvelope");
      remember = false;
    } else if (command.command_id().empty() || command.command_id().size() > 200) {
      reply = rejection_reply("validation_error", "command_id must be 1 to 200 characters",
                              v1::CommandReply::STATUS_REJECTED, "command_id");
      remember = false;
    } else if (command.tenant_id() != tenant || tenant.empty()) {
      reply = rejection_reply("validation_error", "tenant_id must be set and equal the record key",
                              v1::CommandReply::STATUS_REJECTED, "tenant_id");
      remember = false;
    } else if (log::partition_for_key(tenant, partition.partitions) != partition.id) {
      // A client that chose the partition itself: the tenant's events live elsewhere.
      reply = rejection_reply("misrouted_command",
                              "the command is on partition " + std::to_string(partition.id) +
                                  ", the tenant's partition is " +
                                  std::to_string(log::partition_for_key(tenant, partition.partitions)));
      remember = false;
    } else {
      const std::string key = reply_key(tenant, command.command_id());
      const std::string digest = command_digest(command);
      auto known = reply_of(key);
      if (!known) return std::unexpected(known.error());
      if (known->has_value()) {
        v1::CommandReply original;
        original.ParseFromString(**known);
        if (original.command_digest().empty() || original.command_digest() == digest) {
          reply = original;  // the original outcome, again
        } else {
          reply = rejection_reply("idempotency_conflict",
                                  "command id " + command.command_id() + " was used with another body",
                                  v1::CommandReply::STATUS_CONFLICT, "command_id");
        }
        remember = false;
      } else {
        auto state = state_of(tenant);
        if (!state) return std::unexpected(state.error());
        const uint64_t version = (*state)->version();
        if (command.has_expected_version() && command.expected_version() != version) {
          reply = rejection_reply("version_conflict",
                                  "expected version " + std::to_string(command.expected_version()) +
                                      ", the tenant is at " + std::to_string(version),
                                  v1::CommandReply::STATUS_CONFLICT, "expected_version");
          reply.set_resulting_sequence(version);
        } else if (!aggregate_.handles(command.command_type())) {
          reply = rejection_reply("unknown_command", "unknown command type " + command.command_type(),
                                  v1::CommandReply::STATUS_REJECTED, "command_type");
        } else if (names_failure && !aggregate_.names_claimed(command).empty()) {
          // Not an answer about the command: it is not remembered, so a retry decides it.
          reply = rejection_reply("unavailable", "names cannot be claimed now: " + names_failure->message,
                                  v1::CommandReply::STATUS_REJECTED);
          reply.set_resulting_sequence(version);
          remember = false;
        } else if (taken != nullptr) {
          reply = rejection_reply("already_exists", taken->name.field + " '" + taken->name.name +
                                      "' is taken by another tenant",
                                  v1::CommandReply::STATUS_REJECTED, taken->name.field);
          reply.set_resulting_sequence(version);
        } else {
          DecideContext context{now_us, random_token(random_)};
          auto outcome = aggregate_.decide_loaded(command, **state, context);
          if (!outcome) {
            reply.set_status(v1::CommandReply::STATUS_REJECTED);
            reply.set_error_type(outcome.error().error_type);
            reply.set_message(outcome.error().message);
            for (const auto& field : outcome.error().fields) *reply.add_field_errors() = field;
            reply.set_resulting_sequence(version);
          } else {
            std::unique_ptr<LoadedState> next;
            if (auto it = states.find(tenant); it != states.end()) {
              next = std::move(it->second);  // already this batch's own copy
            } else {
              next = (*state)->clone();
            }
            for (auto& event : *outcome) {
              log::EventDraft draft;
              auto& envelope = draft.envelope;
              envelope.set_event_id(log::make_uuid_v7(now_us / 1000, random_));
              envelope.set_tenant_id(tenant);
              envelope.set_event_type(event.event_type);
              envelope.set_schema_version(1);
              envelope.set_occurred_at_us(now_us);
              *envelope.mutable_actor() = command.actor();
              envelope.set_command_id(command.command_id());
              envelope.set_correlation_id(command.correlation_id().empty() ? command.command_id()
                                                                           : command.correlation_id());
              envelope.set_causation_id(command.command_id());
              envelope.set_payload(std::move(event.payload));
              if (options_.names != nullptr) {
                for (auto& name : aggregate_.names_released(*next, envelope)) {
                  releases.push_back({name.kind, std::move(name.name), tenant, "event of " + command.command_id()});
                }
              }
              if (event.decided) {
                next->evolve_decided(envelope, *event.decided);
              } else {
                next->evolve(envelope);
              }
              append.events.push_back(std::move(draft));
            }
            reply.set_status(v1::CommandReply::STATUS_ACCEPTED);
            reply.set_resulting_sequence(next->version());
            states[tenant] = std::move(next);
          }
        }
        reply.set_command_digest(digest);
      }
      reply.set_command_id(command.command_id());
      reply.set_correlation_id(command.correlation_id());
    }
    // A name this command took goes back when it was not accepted.
    if (claimed != claims.end() && reply.status() != v1::CommandReply::STATUS_ACCEPTED) {
      for (const auto& claim : claimed->second) {
        if (claim.outcome == ClaimOutcome::claimed) {
          refused_claims.push_back({claim.name.kind, claim.name.name, tenant, "refused " + command.command_id()});
        }
      }
    }
    reply.set_tenant_id(tenant);
    if (parsed[index] && reply.command_type().empty()) {
      *reply.mutable_actor() = command.actor();
      reply.set_command_type(command.command_type());
    }
    if (reply.replied_at_us() == 0) reply.set_replied_at_us(now_us);
    std::string bytes = reply.SerializeAsString();
    if (remember) replies[reply_key(tenant, command.command_id())] = bytes;
    append.extra.push_back(log::Record{options_.replies_topic, tenant, std::move(bytes), {}, partition.id});
  }
  append.offsets.push_back(log::PartitionOffset{options_.commands_topic, partition.id, records.back().offset + 1});
  if (!refused_claims.empty()) {
    // A failure here leaves the names with the tenant id that claimed them: a retry of
    // the command finds them already its own.
    (void)options_.names->release_all(refused_claims, now_us);
  }
  Work work;
  work.partition = &partition;
  work.commands = static_cast<int64_t>(records.size());
  work.commands_end = records.back().offset + 1;
  work.event_count = append.events.size();
  work.append = std::move(append);
  work.states = std::move(states);
  work.replies = std::move(replies);
  work.releases = std::move(releases);
  return work;
}

log::Result<std::future<log::Result<log::AppendResult>>> CommandProcessor::submit(std::vector<Work>& works) {
  // Sealed only now: the writer's chain heads include every earlier append.
  for (auto& work : works) {
    auto prepared = work.partition->writer->prepare(std::move(work.append));
    if (!prepared) {
      for (auto& sealed : works) sealed.partition->writer->append_failed();
      return std::unexpected(prepared.error());
    }
    work.request = std::move(prepared->request);
  }
  // Every partition's records and offsets in one log append: one fsync for the poll.
  log::AppendRequest request;
  request.group = options_.group;
  request.member = consumer_.get();
  for (const auto& work : works) {
    request.records.insert(request.records.end(), work.request.records.begin(), work.request.records.end());
    request.offsets.insert(request.offsets.end(), work.request.offsets.begin(), work.request.offsets.end());
  }
  auto done = std::make_shared<std::promise<log::Result<log::AppendResult>>>();
  auto future = done->get_future();
  log_.append_async(std::move(request), [done](log::Result<log::AppendResult> result) { done->set_value(std::move(result)); });
  return future;
}

log::Result<CommandProcessor::Landed> CommandProcessor::commit(std::vector<Work>& works) {
  auto submitted = submit(works);
  if (!submitted) return std::unexpected(submitted.error());
  return land(works, submitted->get());
}

log::Result<CommandProcessor::Landed> CommandProcessor::land(std::vector<Work>& works,
                                                             log::Result<log::AppendResult> appended) {
  for (auto& work : works) work.partition->in_flight = nullptr;
  if (!appended) {
    for (auto& work : works) work.partition->writer->append_failed();
    return std::unexpected(appended.error());
  }
  // The log has it all; now each writer's view, and the cache with the offsets it
  // reflects (written to the store later, all together: see write_cache). A share
  // that landed behind a newer claim is fenced out for every reader: its states,
  // replies and name releases are not taken, and its commands are not counted.
  Landed landed;
  size_t at = 0;
  for (auto& work : works) {
    Partition& partition = *work.partition;
    const size_t count = work.request.records.size();
    const std::vector<log::RecordPosition> positions(appended->positions.begin() + static_cast<std::ptrdiff_t>(at),
                                                     appended->positions.begin() + static_cast<std::ptrdiff_t>(at + count));
    at += count;
    partition.writer->appended(work.request.records, positions);
    if (partition.writer->fenced()) {
      landed.fenced.push_back(partition.id);
      continue;
    }
    // A newer writer claims the replies partition before the events partition: a batch
    // landing between the two keeps its events but loses its replies. Its commands are
    // done (catch_up knows them by the events' command id); let go, they come again
    // and are answered from the caught up store.
    bool replies_fenced = false;
    if (positions.size() > work.event_count) {
      const int64_t first_reply = positions[work.event_count].offset;
      if (first_reply != partition.replies_end) {
        auto claimed = replies_claimed(partition, first_reply);
        if (!claimed) return std::unexpected(claimed.error());
        replies_fenced = *claimed;
      }
      partition.replies_end = positions.back().offset + 1;
    }
    if (!work.releases.empty()) {
      // Durable events gave these names back. A failure leaves them held by a tenant that
      // no longer uses them (docs/architecture.md, platform-wide names).
      (void)options_.names->release_all(work.releases, clock_.now_us());
    }
    if (replies_fenced) {
      landed.fenced.push_back(partition.id);
      continue;
    }
    for (auto& [tenant, state] : work.states) cache_state(partition.id, tenant, std::move(state), true);
    reported_replies_ += work.replies.size();
    partition.unwritten_replies.merge(work.replies);
    if (work.event_count > 0) partition.unwritten_events_offset = positions[work.event_count - 1].offset + 1;
    if (positions.size() > work.event_count) partition.unwritten_replies_offset = positions.back().offset + 1;
    // After a rebalance the member may deliver a landed batch again: never move back.
    partition.landed_offset = std::max(partition.landed_offset.value_or(0), work.commands_end);
    if (unwritten_commands_ == 0) unwritten_since_ = std::chrono::steady_clock::now();
    unwritten_commands_ += work.commands;
    landed.commands += work.commands;
  }
  return landed;
}

log::Result<bool> CommandProcessor::replies_claimed(const Partition& partition, int64_t to_offset) {
  auto reader = log_.open_reader(options_.replies_topic, partition.id, partition.replies_end);
  if (!reader) return std::unexpected(reader.error());
  while ((*reader)->position() < to_offset) {
    auto records = (*reader)->read(kCatchUpBatch, std::chrono::milliseconds(1000));
    if (!records) return std::unexpected(records.error());
    if (records->empty()) {
      return log::fail(log::ErrorCode::timeout, "reading " + options_.replies_topic + "/" +
                                                    std::to_string(partition.id) + " stalled");
    }
    for (const auto& record : *records) {
      if (record.offset >= to_offset) break;
      const std::string* kind = record.header(log::kKindHeader);
      if (kind == nullptr || *kind != log::kClaimKind) continue;
      v1::WriterClaim claim;
      if (claim.ParseFromString(record.value) && claim.epoch() > partition.writer->epoch()) return true;
    }
  }
  return false;
}

log::Result<void> CommandProcessor::let_go(int32_t id) {
  auto it = partitions_.find(id);
  if (it == partitions_.end()) return {};
  const std::optional<int64_t> resume = it->second->landed_offset;
  forget(id);
  // The group's committed offset is no guide: a fenced append may have committed its
  // commands offset with it (an engine commits offsets whoever wrote the records).
  // The member's own position goes back instead; if the group has moved the partition
  // elsewhere, its new holder resumes from the committed offset.
  if (!resume || !consumer_) return {};
  return consumer_->seek({log::PartitionOffset{options_.commands_topic, id, *resume}});
}

std::vector<int32_t> CommandProcessor::assigned_partitions() {
  std::vector<int32_t> ids;
  if (!consumer_) return ids;
  for (const auto& assigned : consumer_->assignment()) {
    if (assigned.topic == options_.commands_topic) ids.push_back(assigned.partition);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::map<int32_t, std::vector<log::StoredRecord>> CommandProcessor::by_assigned_partition(
    std::vector<log::StoredRecord>& records, const std::vector<int32_t>& assigned) {
  // Each partition's batch in its order; records of a partition the group has moved
  // away are its new holder's to read.
  std::map<int32_t, std::vector<log::StoredRecord>> by_partition;
  for (auto& record : records) {
    if (!std::binary_search(assigned.begin(), assigned.end(), record.partition)) continue;
    by_partition[record.partition].push_back(std::move(record));
  }
  return by_partition;
}

void CommandProcessor::let_go_unassigned(const std::vector<int32_t>& assigned) {
  // Another member holds these now and claims them: what is cached of them goes stale,
  // and a claim of ours would fence its holder. If the group gives one back, it is
  // claimed and caught up again.
  for (auto it = partitions_.begin(); it != partitions_.end();) {
    const int32_t id = (it++)->first;  // forget() erases the entry
    if (!std::binary_search(assigned.begin(), assigned.end(), id)) forget(id);
  }
}

log::Result<std::unique_ptr<log::GroupConsumer>*> CommandProcessor::consumer() {
  if (!consumer_) {
    auto subscribed = log_.subscribe(options_.group, {options_.commands_topic});
    if (!subscribed) return std::unexpected(subscribed.error());
    consumer_ = std::move(*subscribed);
  }
  return &consumer_;
}

log::Result<int64_t> CommandProcessor::process_available(std::chrono::milliseconds wait) {
  auto group = consumer();
  if (!group) return std::unexpected(group.error());
  auto records = (**group)->poll(options_.max_batch_commands, wait);
  if (!records) return std::unexpected(records.error());
  const std::vector<int32_t> assigned = assigned_partitions();
  let_go_unassigned(assigned);
  auto by_partition = by_assigned_partition(*records, assigned);
  std::vector<Work> works;
  for (auto& [id, batch] : by_partition) {
    auto owned = partition(id);
    if (!owned) return std::unexpected(owned.error());
    auto work = handle(**owned, batch);
    if (!work) return std::unexpected(work.error());
    works.push_back(std::move(*work));
  }
  if (works.empty()) {
    if (cache_write_due(true)) {
      if (auto written = write_cache(); !written) return std::unexpected(written.error());
    }
    return 0;
  }
  auto landed = commit(works);
  if (!landed) {
    // Claim and catch up again before touching these partitions.
    std::vector<int32_t> failed;
    for (const auto& work : works) failed.push_back(work.partition->id);
    works.clear();
    for (const int32_t id : failed) forget(id);
    return std::unexpected(landed.error());
  }
  works.clear();
  for (const int32_t id : landed->fenced) {
    if (auto released = let_go(id); !released) return std::unexpected(released.error());
  }
  if (cache_write_due(false)) {
    if (auto written = write_cache(); !written) return std::unexpected(written.error());
  }
  return landed->commands;
}

log::Result<void> CommandProcessor::pipeline_step(std::optional<Flight>& flight) {
  auto group = consumer();
  if (!group) return std::unexpected(group.error());
  // With an append in flight, take only what is already there: its fsync is the wait.
  auto records = (**group)->poll(options_.max_batch_commands, flight ? std::chrono::milliseconds(0) : options_.idle_wait);
  if (!records) return std::unexpected(records.error());
  const std::vector<int32_t> assigned = assigned_partitions();
  auto by_partition = by_assigned_partition(*records, assigned);
  std::vector<Work> works;
  // A partition fenced in the flight is let go with this poll's share of it: decided
  // on top of the fenced batch, or polled after it, its commands come again from the
  // end of the last landed batch and are decided after a new claim.
  auto land_flight = [&]() -> log::Result<void> {
    auto landed = land(flight->works, flight->result.get());
    std::vector<int32_t> ids;
    for (const auto& work : flight->works) ids.push_back(work.partition->id);
    flight.reset();
    if (!landed) {
      works.clear();
      for (const int32_t id : ids) forget(id);
      return std::unexpected(landed.error());
    }
    for (const int32_t id : landed->fenced) {
      std::erase_if(works, [&](const Work& work) { return work.partition->id == id; });
      by_partition.erase(id);
      if (auto released = let_go(id); !released) return released;
    }
    return {};
  };
  // Claiming a partition catches the store up from the log: not while an append is
  // in flight, whose changes the store does not have yet.
  if (flight) {
    bool claims = false;
    for (const auto& [id, batch] : by_partition) claims = claims || !partitions_.contains(id);
    if (claims) {
      if (auto landed = land_flight(); !landed) return landed;
    }
  }
  for (auto& [id, batch] : by_partition) {
    auto owned = partition(id);
    if (!owned) return std::unexpected(owned.error());
    auto work = handle(**owned, batch);
    if (!work) return std::unexpected(work.error());
    works.push_back(std::move(*work));
  }
  if (flight) {
    if (auto landed = land_flight(); !landed) return landed;
  }
  // Nothing is in flight now, and the works are all of assigned partitions.
  let_go_unassigned(assigned);
  if (!works.empty()) {
    auto submitted = submit(works);
    if (!submitted) {
      for (const auto& work : works) forget(work.partition->id);
      return std::unexpected(submitted.error());
    }
    flight.emplace(Flight{std::move(works), std::move(*submitted)});
    for (const auto& work : flight->works) work.partition->in_flight = &work;
  }
  // The store write overlaps the fsync of the append just submitted (it holds only
  // what is durable already).
  if (cache_write_due(by_partition.empty() && !flight)) {
    if (auto written = write_cache(); !written) return std::unexpected(written.error());
  }
  return {};
}

void CommandProcessor::run() {
  // Decides the next poll's commands while the previous append waits for its fsync;
  // it is sealed and appended only once that one is durable (so a failed append never
  // has a successor built on it in the log, and a fenced one has its successor
  // thrown away and decided again).
  std::optional<Flight> flight;
  std::optional<log::Error> failed;
  while (!stopping_ && !failed) {
    if (auto step = pipeline_step(flight); !step) failed = step.error();
  }
  if (flight) {
    auto landed = land(flight->works, flight->result.get());
    flight.reset();
    if (!landed && !failed) failed = landed.error();
    if (landed) {
      for (const int32_t id : landed->fenced) {
        if (auto released = let_go(id); !released && !failed) failed = released.error();
      }
    }
  }
  if (failed) {
    std::lock_guard lock(mutex_);
    if (!failure_) failure_ = std::move(failed);
  }
}

log::Result<void> CommandProcessor::start() {
  if (thread_.joinable()) return {};
  if (auto group = consumer(); !group) return std::unexpected(group.error());
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
  return {};
}

void CommandProcessor::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  // Best effort: what is not written is caught up from the log at the next start.
  (void)write_cache();
}

std::optional<log::Error> CommandProcessor::failure() {
  std::lock_guard lock(mutex_);
  return failure_;
}

}  // namespace tenantry::commands
