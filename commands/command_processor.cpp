#include "commands/command_processor.h"

#include <charconv>
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
  std::string token;
  for (int i = 0; i < 32; ++i) token.push_back(kHex[random() % 16]);
  return token;
}

}  // namespace

struct CommandProcessor::Partition {
  int32_t id = 0;
  int32_t partitions = 1;  // of the commands topic
  std::unique_ptr<log::FencedWriter> writer;
};

CommandProcessor::CommandProcessor(log::EventLog& log, store::RocksStore& store, const Aggregate& aggregate,
                                   const clock::Clock& clock, ProcessorOptions options)
    : log_(log), store_(store), aggregate_(aggregate), clock_(clock), options_(std::move(options)),
      random_(std::random_device{}()) {}

CommandProcessor::~CommandProcessor() { stop(); }

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
  if (auto it = partitions_.find(id); it != partitions_.end() && !it->second->writer->fenced()) {
    return it->second.get();
  }
  // Claim the replies partition, then the events partition with the same epoch (see
  // catch_up for why the order matters), then bring the cache up to the claim.
  auto writer = log::FencedWriter::claim(log_, options_.events_topic, id, options_.writer_id, clock_.now_us());
  if (!writer) return std::unexpected(writer.error());
  v1::WriterClaim claim;
  claim.set_epoch((*writer)->epoch());
  claim.set_writer_id(options_.writer_id);
  claim.set_claimed_at_us(clock_.now_us());
  log::AppendRequest replies_claim;
  replies_claim.records.push_back(log::Record{options_.replies_topic, "", claim.SerializeAsString(),
                                              {{std::string(log::kKindHeader), std::string(log::kClaimKind)}}, id});
  if (auto appended = log_.append(std::move(replies_claim)); !appended) return std::unexpected(appended.error());
  auto count = log_.partition_count(options_.commands_topic);
  if (!count) return std::unexpected(count.error());
  auto fresh = std::make_unique<Partition>();
  fresh->id = id;
  fresh->partitions = *count;
  fresh->writer = std::move(*writer);
  if (auto caught = catch_up(*fresh); !caught) return std::unexpected(caught.error());
  auto* raw = fresh.get();
  partitions_[id] = std::move(fresh);
  return raw;
}

log::Result<CommandProcessor::Work> CommandProcessor::handle(Partition& partition,
                                                             std::vector<log::StoredRecord>& records) {
  const int64_t now_us = clock_.now_us();
  // Decisions of this batch see the batch's earlier decisions through these.
  std::unordered_map<std::string, std::string> states;
  std::unordered_map<std::string, std::string> replies;  // reply_key -> serialized reply (new ones)
  log::WriterAppend append;
  append.recorded_at_us = now_us;
  std::vector<std::pair<std::string, v1::CommandReply>> out;  // (tenant, reply) in order

  auto state_of = [&](const std::string& tenant) -> log::Result<std::string> {
    if (auto it = states.find(tenant); it != states.end()) return it->second;
    auto stored = store_.get(kStateFamily, tenant);
    if (!stored) return std::unexpected(stored.error());
    return stored->value_or("");
  };
  auto reply_of = [&](const std::string& key) -> log::Result<std::optional<std::string>> {
    if (auto it = replies.find(key); it != replies.end()) return std::optional<std::string>(it->second);
    return store_.get(kRepliesFamily, key);
  };

  for (const auto& record : records) {
    v1::CommandEnvelope command;
    v1::CommandReply reply;
    const std::string tenant = record.key;
    bool remember = true;
    if (!command.ParseFromString(record.value)) {
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
        const uint64_t version = aggregate_.version(*state);
        if (command.has_expected_version() && command.expected_version() != version) {
          reply = rejection_reply("version_conflict",
                                  "expected version " + std::to_string(command.expected_version()) +
                                      ", the tenant is at " + std::to_string(version),
                                  v1::CommandReply::STATUS_CONFLICT, "expected_version");
          reply.set_resulting_sequence(version);
        } else if (!aggregate_.handles(command.command_type())) {
          reply = rejection_reply("unknown_command", "unknown command type " + command.command_type(),
                                  v1::CommandReply::STATUS_REJECTED, "command_type");
        } else {
          DecideContext context{now_us, random_token(random_)};
          auto outcome = aggregate_.decide(command, *state, context);
          if (!outcome) {
            reply.set_status(v1::CommandReply::STATUS_REJECTED);
            reply.set_error_type(outcome.error().error_type);
            reply.set_message(outcome.error().message);
            for (const auto& field : outcome.error().fields) *reply.add_field_errors() = field;
            reply.set_resulting_sequence(version);
          } else {
            std::string next = *state;
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
              next = aggregate_.evolve(next, envelope);
              append.events.push_back(std::move(draft));
            }
            states[tenant] = next;
            reply.set_status(v1::CommandReply::STATUS_ACCEPTED);
            reply.set_resulting_sequence(aggregate_.version(next));
          }
        }
        reply.set_command_digest(digest);
      }
      reply.set_command_id(command.command_id());
      reply.set_correlation_id(command.correlation_id());
    }
    reply.set_tenant_id(tenant);
    if (reply.replied_at_us() == 0) reply.set_replied_at_us(now_us);
    if (remember) replies[reply_key(tenant, command.command_id())] = reply.SerializeAsString();
    out.emplace_back(tenant, std::move(reply));
  }

  for (const auto& [tenant, reply] : out) {
    append.extra.push_back(log::Record{options_.replies_topic, tenant, reply.SerializeAsString(), {}, partition.id});
  }
  append.offsets.push_back(log::PartitionOffset{options_.commands_topic, partition.id, records.back().offset + 1});
  auto prepared = partition.writer->prepare(std::move(append));
  if (!prepared) return std::unexpected(prepared.error());
  Work work;
  work.partition = &partition;
  work.commands = static_cast<int64_t>(records.size());
  work.event_count = prepared->events.size();
  work.request = std::move(prepared->request);
  work.states = std::move(states);
  work.replies = std::move(replies);
  return work;
}

log::Result<int64_t> CommandProcessor::commit(std::vector<Work>& works) {
  // Every partition's records and offsets in one log append: one fsync for the poll.
  log::AppendRequest request;
  request.group = options_.group;
  request.member = consumer_.get();
  for (const auto& work : works) {
    request.records.insert(request.records.end(), work.request.records.begin(), work.request.records.end());
    request.offsets.insert(request.offsets.end(), work.request.offsets.begin(), work.request.offsets.end());
  }
  auto appended = log_.append(std::move(request));
  if (!appended) {
    for (auto& work : works) work.partition->writer->append_failed();
    return std::unexpected(appended.error());
  }
  // The log has it all; now each writer's view, and the cache with the offsets it reflects.
  auto batch = store_.batch();
  int64_t handled = 0;
  size_t at = 0;
  for (auto& work : works) {
    Partition& partition = *work.partition;
    const size_t count = work.request.records.size();
    const std::vector<log::RecordPosition> positions(appended->positions.begin() + static_cast<std::ptrdiff_t>(at),
                                                     appended->positions.begin() + static_cast<std::ptrdiff_t>(at + count));
    at += count;
    partition.writer->appended(work.request.records, positions);
    if (partition.writer->fenced()) {
      return log::fail(log::ErrorCode::invalid_argument,
                       "partition " + std::to_string(partition.id) + " was claimed by a newer writer");
    }
    for (const auto& [tenant, state] : work.states) batch.put(kStateFamily, tenant, state);
    for (const auto& [key, reply] : work.replies) batch.put(kRepliesFamily, key, reply);
    if (work.event_count > 0) {
      batch.put(kOffsetsFamily, offset_key(options_.events_topic, partition.id),
                std::to_string(positions[work.event_count - 1].offset + 1));
    }
    if (positions.size() > work.event_count) {
      batch.put(kOffsetsFamily, offset_key(options_.replies_topic, partition.id),
                std::to_string(positions.back().offset + 1));
    }
    handled += work.commands;
  }
  if (auto written = store_.write(batch, false); !written) return std::unexpected(written.error());
  return handled;
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
  // Keep each partition's order; hand each partition its own batch.
  std::map<int32_t, std::vector<log::StoredRecord>> by_partition;
  for (auto& record : *records) by_partition[record.partition].push_back(std::move(record));
  std::vector<Work> works;
  for (auto& [id, batch] : by_partition) {
    auto owned = partition(id);
    if (!owned) return std::unexpected(owned.error());
    auto work = handle(**owned, batch);
    if (!work) return std::unexpected(work.error());
    works.push_back(std::move(*work));
  }
  if (works.empty()) return 0;
  auto handled = commit(works);
  if (!handled) {
    // Claim and catch up again before touching these partitions.
    for (const auto& work : works) partitions_.erase(work.partition->id);
  }
  return handled;
}

void CommandProcessor::run() {
  while (!stopping_) {
    auto handled = process_available(options_.idle_wait);
    if (!handled) {
      std::lock_guard lock(mutex_);
      if (!failure_) failure_ = handled.error();
      return;
    }
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
}

std::optional<log::Error> CommandProcessor::failure() {
  std::lock_guard lock(mutex_);
  return failure_;
}

}  // namespace tenantry::commands
