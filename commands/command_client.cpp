#include "commands/command_client.h"

#include "connectors/log/history_rules.h"

namespace tenantry::commands {

namespace {
std::string waiter_key(const std::string& tenant, const std::string& command_id) {
  return tenant + '\0' + command_id;
}
}  // namespace

log::Result<std::unique_ptr<CommandClient>> CommandClient::start(log::EventLog& log, ClientOptions options) {
  std::unique_ptr<CommandClient> client(new CommandClient(log, std::move(options)));
  auto partitions = log.partition_count(client->options_.replies_topic);
  if (!partitions) return std::unexpected(partitions.error());
  for (int32_t p = 0; p < *partitions; ++p) {
    // Only replies to commands sent from now on matter: start at the end. Opening
    // there replays the partition through the fencing rules first.
    auto end = log.end_offset(client->options_.replies_topic, p);
    if (!end) return std::unexpected(end.error());
    auto reader = log::AcceptedReader::open(log, client->options_.replies_topic, p, *end, log::TopicKind::fenced);
    if (!reader) return std::unexpected(reader.error());
    client->readers_.push_back(std::move(*reader));
  }
  for (auto& reader : client->readers_) {
    client->threads_.emplace_back([c = client.get(), r = reader.get()] { c->tail(*r); });
  }
  return client;
}

CommandClient::~CommandClient() {
  stopping_ = true;
  for (auto& thread : threads_) thread.join();
  std::lock_guard lock(mutex_);
  for (auto& [key, waiter] : waiting_) {
    waiter.set_value(log::fail(log::ErrorCode::closed, "command client stopped before the reply arrived"));
  }
}

void CommandClient::resolve(const std::string& key, log::Result<v1::CommandReply> outcome) {
  std::lock_guard lock(mutex_);
  auto it = waiting_.find(key);
  if (it == waiting_.end()) return;  // someone else's command, or a repeated reply
  it->second.set_value(std::move(outcome));
  waiting_.erase(it);
}

void CommandClient::tail(log::AcceptedReader& reader) {
  while (!stopping_) {
    auto batch = reader.read(1000, options_.poll_wait);
    if (!batch) return;  // the log is closing
    for (const auto& accepted : batch->records) {
      if (accepted.record.header(log::kKindHeader) != nullptr) continue;
      v1::CommandReply reply;
      if (!reply.ParseFromString(accepted.record.value)) continue;
      const std::string key = waiter_key(reply.tenant_id(), reply.command_id());  // before the move below
      resolve(key, std::move(reply));
    }
  }
}

std::future<log::Result<v1::CommandReply>> CommandClient::submit(const v1::CommandEnvelope& command) {
  Waiter waiter;
  auto future = waiter.get_future();
  const std::string key = waiter_key(command.tenant_id(), command.command_id());
  {
    std::lock_guard lock(mutex_);
    if (waiting_.size() >= options_.max_waiting) {
      waiter.set_value(log::fail(log::ErrorCode::unavailable, "too many commands awaiting replies"));
      return future;
    }
    if (waiting_.count(key) != 0) {
      waiter.set_value(log::fail(log::ErrorCode::invalid_argument, "command " + command.command_id() +
                                                                       " is already awaiting its reply"));
      return future;
    }
    waiting_.emplace(key, std::move(waiter));
  }
  log::AppendRequest request;
  request.records.push_back(
      log::Record{options_.commands_topic, command.tenant_id(), command.SerializeAsString(), {}, std::nullopt});
  log_.append_async(std::move(request), [this, key](log::Result<log::AppendResult> appended) {
    if (!appended) resolve(key, std::unexpected(appended.error()));
  });
  return future;
}

log::Result<v1::CommandReply> CommandClient::execute(const v1::CommandEnvelope& command,
                                                     std::chrono::milliseconds timeout) {
  auto future = submit(command);
  if (future.wait_for(timeout) != std::future_status::ready) {
    // Give up waiting; the command may still be applied, and its id makes a retry safe.
    std::lock_guard lock(mutex_);
    waiting_.erase(waiter_key(command.tenant_id(), command.command_id()));
    return log::fail(log::ErrorCode::timeout, "no reply to command " + command.command_id() + " in time");
  }
  return future.get();
}

}  // namespace tenantry::commands
