#include "commands/name_registry.h"

#include <algorithm>

namespace tenantry::commands {

namespace {

std::string name_key(v1::NameKind kind, std::string_view name) {
  std::string key = std::to_string(static_cast<int>(kind));
  key.push_back('\0');
  for (char c : name) key.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (kind == v1::NAME_KIND_DOMAIN && key.back() == '.') key.pop_back();
  return key;
}

}  // namespace

log::Result<std::unique_ptr<NameRegistry>> NameRegistry::open(log::EventLog& log, NameRegistryOptions options) {
  if (auto created = log.create_topic({options.topic, 1}); !created) return std::unexpected(created.error());
  std::unique_ptr<NameRegistry> registry(new NameRegistry(log, std::move(options)));
  auto reader = log.open_reader(registry->options_.topic, 0, 0);
  if (!reader) return std::unexpected(reader.error());
  registry->reader_ = std::move(*reader);
  // Replay to the current end before answering anything.
  auto end = log.end_offset(registry->options_.topic, 0);
  if (!end) return std::unexpected(end.error());
  while (registry->reader_->position() < *end) {
    auto batch = registry->reader_->read(1000, std::chrono::milliseconds(1000));
    if (!batch) return std::unexpected(batch.error());
    for (const auto& stored : *batch) {
      v1::NameRecord record;
      if (record.ParseFromString(stored.value)) registry->apply(record);
    }
    std::lock_guard lock(registry->mutex_);
    registry->applied_ = registry->reader_->position();
  }
  registry->thread_ = std::thread([raw = registry.get()] { raw->tail(); });
  return registry;
}

NameRegistry::~NameRegistry() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

bool NameRegistry::apply(const v1::NameRecord& record) {
  const std::string key = name_key(record.kind(), record.name());
  std::lock_guard lock(mutex_);
  auto found = holders_.find(key);
  if (record.action() == v1::NAME_ACTION_CLAIM) {
    if (found == holders_.end()) {
      holders_.emplace(key, record.tenant_id());
      return true;
    }
  } else if (record.action() == v1::NAME_ACTION_RELEASE) {
    if (found != holders_.end() && found->second == record.tenant_id()) {
      holders_.erase(found);
      return true;
    }
  }
  return false;
}

void NameRegistry::remember(int64_t offset, bool took) {
  constexpr size_t kRecentMax = 8192;
  std::lock_guard lock(mutex_);
  recent_[offset] = took;
  recent_order_.push_back(offset);
  while (recent_order_.size() > kRecentMax) {
    recent_.erase(recent_order_.front());
    recent_order_.pop_front();
  }
}

void NameRegistry::tail() {
  while (!stopping_) {
    auto batch = reader_->read(1000, std::chrono::milliseconds(100));
    if (!batch) {
      std::lock_guard lock(mutex_);
      failure_ = batch.error();
      applied_changed_.notify_all();
      return;
    }
    for (const auto& stored : *batch) {
      v1::NameRecord record;
      // A record that does not parse holds no name: it is passed over on every node alike.
      if (record.ParseFromString(stored.value)) remember(stored.offset, apply(record));
    }
    if (!batch->empty()) {
      std::lock_guard lock(mutex_);
      applied_ = reader_->position();
      applied_changed_.notify_all();
    }
  }
}

log::Result<int64_t> NameRegistry::append(const v1::NameRecord& record) {
  log::AppendRequest request;
  request.records.push_back({options_.topic, record.name(), record.SerializeAsString(), {}, 0});
  auto appended = log_.append(std::move(request));
  if (!appended) return std::unexpected(appended.error());
  return appended->positions.at(0).offset;
}

log::Result<void> NameRegistry::wait_applied(int64_t offset) {
  std::unique_lock lock(mutex_);
  const bool reached = applied_changed_.wait_for(lock, options_.apply_timeout,
                                                 [&] { return applied_ > offset || failure_.has_value(); });
  if (failure_) return std::unexpected(*failure_);
  if (!reached) return log::fail(log::ErrorCode::timeout, "the names topic was not read back in time");
  return {};
}

log::Result<ClaimOutcome> NameRegistry::claim(v1::NameKind kind, std::string_view name, const std::string& tenant_id,
                                              const std::string& reason, int64_t now_us) {
  const std::string key = name_key(kind, name);
  {
    std::lock_guard lock(mutex_);
    if (auto found = holders_.find(key); found != holders_.end()) {
      return found->second == tenant_id ? ClaimOutcome::already_held : ClaimOutcome::taken;
    }
  }
  v1::NameRecord record;
  record.set_action(v1::NAME_ACTION_CLAIM);
  record.set_kind(kind);
  record.set_name(key.substr(key.find('\0') + 1));
  record.set_tenant_id(tenant_id);
  record.set_at_us(now_us);
  record.set_reason(reason);
  auto offset = append(record);
  if (!offset) return std::unexpected(offset.error());
  if (auto applied = wait_applied(*offset); !applied) return std::unexpected(applied.error());
  std::lock_guard lock(mutex_);
  if (auto outcome = recent_.find(*offset); outcome != recent_.end() && outcome->second) return ClaimOutcome::claimed;
  // This record took nothing: the name was someone's when it was applied (this tenant's
  // own, through a twin claim that got there first, or another's).
  auto found = holders_.find(key);
  return found != holders_.end() && found->second == tenant_id ? ClaimOutcome::already_held : ClaimOutcome::taken;
}

log::Result<void> NameRegistry::release(v1::NameKind kind, std::string_view name, const std::string& tenant_id,
                                        const std::string& reason, int64_t now_us) {
  const std::string key = name_key(kind, name);
  v1::NameRecord record;
  record.set_action(v1::NAME_ACTION_RELEASE);
  record.set_kind(kind);
  record.set_name(key.substr(key.find('\0') + 1));
  record.set_tenant_id(tenant_id);
  record.set_at_us(now_us);
  record.set_reason(reason);
  auto offset = append(record);
  if (!offset) return std::unexpected(offset.error());
  return wait_applied(*offset);
}

std::string NameRegistry::holder(v1::NameKind kind, std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto found = holders_.find(name_key(kind, name));
  return found == holders_.end() ? std::string() : found->second;
}

size_t NameRegistry::size() const {
  std::lock_guard lock(mutex_);
  return holders_.size();
}

}  // namespace tenantry::commands
