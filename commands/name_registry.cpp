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

v1::NameRecord NameRegistry::record_of(v1::NameAction action, const NameRequest& request, int64_t now_us) {
  const std::string key = name_key(request.kind, request.name);
  v1::NameRecord record;
  record.set_action(action);
  record.set_kind(request.kind);
  record.set_name(key.substr(key.find('\0') + 1));
  record.set_tenant_id(request.tenant_id);
  record.set_at_us(now_us);
  record.set_reason(request.reason);
  return record;
}

log::Result<std::vector<int64_t>> NameRegistry::append_all(const std::vector<v1::NameRecord>& records) {
  log::AppendRequest request;
  for (const auto& record : records) {
    request.records.push_back({options_.topic, record.name(), record.SerializeAsString(), {}, 0});
  }
  auto appended = log_.append(std::move(request));
  if (!appended) return std::unexpected(appended.error());
  std::vector<int64_t> offsets;
  for (const auto& position : appended->positions) offsets.push_back(position.offset);
  return offsets;
}

log::Result<std::vector<ClaimOutcome>> NameRegistry::claim_all(const std::vector<NameRequest>& claims, int64_t now_us) {
  std::vector<ClaimOutcome> outcomes(claims.size(), ClaimOutcome::taken);
  std::vector<v1::NameRecord> records;
  std::vector<size_t> written;  // index in `claims` of each record
  {
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < claims.size(); ++i) {
      auto found = holders_.find(name_key(claims[i].kind, claims[i].name));
      if (found != holders_.end()) {
        // Held already: only its holder could free it, so the answer cannot change by appending.
        outcomes[i] = found->second == claims[i].tenant_id ? ClaimOutcome::already_held : ClaimOutcome::taken;
      } else {
        written.push_back(i);
      }
    }
  }
  for (size_t i : written) records.push_back(record_of(v1::NAME_ACTION_CLAIM, claims[i], now_us));
  if (records.empty()) return outcomes;
  auto offsets = append_all(records);
  if (!offsets) return std::unexpected(offsets.error());
  if (auto applied = wait_applied(offsets->back()); !applied) return std::unexpected(applied.error());
  std::lock_guard lock(mutex_);
  for (size_t j = 0; j < written.size(); ++j) {
    const auto& claim = claims[written[j]];
    // A record whose outcome is no longer remembered falls back to who holds the name now.
    if (auto took = recent_.find((*offsets)[j]); took != recent_.end() && took->second) {
      outcomes[written[j]] = ClaimOutcome::claimed;
      continue;
    }
    auto found = holders_.find(name_key(claim.kind, claim.name));
    outcomes[written[j]] = found != holders_.end() && found->second == claim.tenant_id ? ClaimOutcome::already_held
                                                                                        : ClaimOutcome::taken;
  }
  return outcomes;
}

log::Result<void> NameRegistry::release_all(const std::vector<NameRequest>& releases, int64_t now_us) {
  if (releases.empty()) return {};
  std::vector<v1::NameRecord> records;
  for (const auto& release : releases) records.push_back(record_of(v1::NAME_ACTION_RELEASE, release, now_us));
  auto offsets = append_all(records);
  if (!offsets) return std::unexpected(offsets.error());
  return {};
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
  auto outcomes = claim_all({NameRequest{kind, std::string(name), tenant_id, reason}}, now_us);
  if (!outcomes) return std::unexpected(outcomes.error());
  return outcomes->front();
}

log::Result<void> NameRegistry::release(v1::NameKind kind, std::string_view name, const std::string& tenant_id,
                                        const std::string& reason, int64_t now_us) {
  auto offsets = append_all({record_of(v1::NAME_ACTION_RELEASE, NameRequest{kind, std::string(name), tenant_id, reason},
                                       now_us)});
  if (!offsets) return std::unexpected(offsets.error());
  return wait_applied(offsets->back());
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
