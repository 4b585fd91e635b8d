#include "connectors/http/auth/log_api_key_store.h"

#include <algorithm>
#include <chrono>

#include "tenantry/v1/credentials.pb.h"

namespace tenantry::http::auth {
namespace {

using namespace std::chrono_literals;

constexpr size_t kSaltBytes = ApiKeyRegistry::kSaltBytes;
constexpr size_t kSecretHashBytes = 32;  // SHA-256
constexpr size_t kKeyIdChars = ApiKeyRegistry::kKeyIdBytes * 2;
// How long open() waits for the replay to reach the end it found; a log that cannot
// deliver its own acknowledged records in this time is not usable.
constexpr auto kReplayDeadline = 60s;
// Each tailing read waits at most this long, so a stop is noticed within it.
constexpr auto kTailWait = 200ms;
constexpr auto kRetryAfterReadError = 1s;

bool is_key_id(std::string_view text) {
  return text.size() == kKeyIdChars && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// The record's own rules, checked right before it is written and right after it is
// read back (pair assertions): whatever is on the topic, the map holds only records
// that the registry can use.
std::optional<std::string> invalid_reason(const ApiKeyRecord& record) {
  if (!is_key_id(record.key_id)) return "key id is not 24 lowercase hex characters";
  if (record.subject.empty() || record.subject.size() > ApiKeyRegistry::kMaxSubjectBytes) return "subject size";
  if (record.tenant_id.size() > ApiKeyRegistry::kMaxTenantIdBytes) return "tenant id size";
  if (record.roles.empty()) return "no known role";
  if (role_conflicting_with_tenant(record.roles, record.tenant_id)) return "a role conflicts with the tenant binding";
  if (record.salt.size() != kSaltBytes) return "salt size";
  if (record.secret_hash.size() != kSecretHashBytes) return "hash size";
  if (record.created_at_us < 0 || record.expires_at_us < 0 || record.revoked_at_us < 0) return "negative time";
  return std::nullopt;
}

std::string encode(const ApiKeyRecord& record) {
  v1::ApiKeyRecord wire;
  wire.set_key_id(record.key_id);
  wire.set_subject(record.subject);
  wire.set_tenant_id(record.tenant_id);
  for (Role role : record.roles) wire.add_roles(to_string(role));
  wire.set_salt(record.salt);
  wire.set_secret_hash(record.secret_hash);
  wire.set_created_at_us(record.created_at_us);
  wire.set_expires_at_us(record.expires_at_us);
  wire.set_revoked_at_us(record.revoked_at_us);
  return wire.SerializeAsString();
}

std::optional<ApiKeyRecord> decode(const std::string& value) {
  v1::ApiKeyRecord wire;
  if (!wire.ParseFromString(value)) return std::nullopt;
  ApiKeyRecord record;
  record.key_id = wire.key_id();
  record.subject = wire.subject();
  record.tenant_id = wire.tenant_id();
  for (const std::string& name : wire.roles()) {
    // A role this version does not know is dropped: the key can do less here, never more.
    auto role = role_from_string(name);
    if (role && std::find(record.roles.begin(), record.roles.end(), *role) == record.roles.end()) {
      record.roles.push_back(*role);
    }
  }
  record.salt = wire.salt();
  record.secret_hash = wire.secret_hash();
  record.created_at_us = wire.created_at_us();
  record.expires_at_us = wire.expires_at_us();
  record.revoked_at_us = wire.revoked_at_us();
  if (invalid_reason(record)) return std::nullopt;
  return record;
}

}  // namespace

LogApiKeyStore::LogApiKeyStore(log::EventLog& log, LogApiKeyStoreOptions options)
    : log_(log), options_(std::move(options)) {}

AuthResult<std::unique_ptr<LogApiKeyStore>> LogApiKeyStore::open(log::EventLog& log, LogApiKeyStoreOptions options) {
  if (options.topic.empty() || options.partition < 0 || options.max_records == 0 || options.read_batch_records == 0) {
    return auth_fail(AuthErrorCode::invalid_configuration, "API key store: empty topic, negative partition or zero bound");
  }
  if (auto created = log.create_topic({options.topic, 1}); !created) {
    // An existing topic with more partitions (made by an operator or a development
    // broker) serves as well: only one partition is used.
    if (created.error().code != log::ErrorCode::invalid_argument) {
      return auth_fail(AuthErrorCode::storage, "API key topic " + options.topic + ": " + created.error().message);
    }
    auto partitions = log.partition_count(options.topic);
    if (!partitions || *partitions <= options.partition) {
      return auth_fail(AuthErrorCode::storage, "API key topic " + options.topic + ": " + created.error().message);
    }
  }
  auto end = log.end_offset(options.topic, options.partition);
  if (!end) return auth_fail(AuthErrorCode::storage, "API key topic end: " + end.error().message);
  auto reader = log.open_reader(options.topic, options.partition, 0);
  if (!reader) return auth_fail(AuthErrorCode::storage, "API key topic reader: " + reader.error().message);

  std::unique_ptr<LogApiKeyStore> store(new LogApiKeyStore(log, std::move(options)));
  store->reader_ = std::move(*reader);
  if (auto replayed = store->replay_to(*end); !replayed) return std::unexpected(replayed.error());
  store->tail_thread_ = std::thread([raw = store.get()] { raw->tail(); });
  return store;
}

LogApiKeyStore::~LogApiKeyStore() {
  {
    std::lock_guard lock(state_mutex_);
    stopping_ = true;
  }
  stop_signal_.notify_all();
  if (tail_thread_.joinable()) tail_thread_.join();
}

AuthResult<void> LogApiKeyStore::replay_to(int64_t end_offset) {
  const auto deadline = std::chrono::steady_clock::now() + kReplayDeadline;
  while (applied_offset_.load() < end_offset) {
    if (std::chrono::steady_clock::now() > deadline) {
      return auth_fail(AuthErrorCode::storage, "API key topic: replay did not reach offset " +
                                                   std::to_string(end_offset) + " in time");
    }
    auto batch = reader_->read(options_.read_batch_records, 1s);
    if (!batch) return auth_fail(AuthErrorCode::storage, "API key topic replay: " + batch.error().message);
    for (const auto& stored : *batch) apply_stored(stored);
  }
  return {};
}

void LogApiKeyStore::tail() {
  for (;;) {
    {
      std::lock_guard lock(state_mutex_);
      if (stopping_) return;
    }
    auto batch = reader_->read(options_.read_batch_records, kTailWait);
    if (!batch) {
      const bool closed = batch.error().code == log::ErrorCode::closed;
      std::unique_lock lock(state_mutex_);
      reader_failure_ = std::string(log::to_string(batch.error().code)) + ": " + batch.error().message;
      if (closed) return;  // the log is shutting down; nothing more will arrive
      // A transient failure: wait (or stop), then read on from the last applied record.
      if (stop_signal_.wait_for(lock, kRetryAfterReadError, [this] { return stopping_; })) return;
      lock.unlock();
      auto reopened = log_.open_reader(options_.topic, options_.partition, applied_offset_.load());
      if (reopened) reader_ = std::move(*reopened);
      continue;
    }
    {
      std::lock_guard lock(state_mutex_);
      reader_failure_.reset();
    }
    for (const auto& stored : *batch) apply_stored(stored);
  }
}

void LogApiKeyStore::apply_stored(const log::StoredRecord& stored) {
  auto record = decode(stored.value);
  // The key must be the record's own id: a record filed under another key is not trusted.
  if (!record || record->key_id != stored.key || !apply(std::move(*record), stored.offset)) {
    skipped_records_.fetch_add(1);
  }
  applied_offset_.store(stored.offset + 1);
}

bool LogApiKeyStore::apply(ApiKeyRecord record, int64_t offset) {
  std::unique_lock lock(records_mutex_);
  auto found = records_.find(record.key_id);
  if (found == records_.end()) {
    if (records_.size() >= options_.max_records) return false;
    by_tenant_.emplace(record.tenant_id, record.key_id);
    std::string key_id = record.key_id;
    records_.emplace(std::move(key_id), Entry{std::move(record), offset});
    return true;
  }
  // Already holding this record or a later one: applying an older one would undo it
  // (e.g. bring back a key this node has just revoked).
  if (found->second.offset >= offset) return true;
  if (found->second.record.tenant_id != record.tenant_id) {
    by_tenant_.erase({found->second.record.tenant_id, record.key_id});
    by_tenant_.emplace(record.tenant_id, record.key_id);
  }
  found->second = Entry{std::move(record), offset};
  return true;
}

AuthResult<void> LogApiKeyStore::put(const ApiKeyRecord& record) {
  if (auto reason = invalid_reason(record)) {
    return auth_fail(AuthErrorCode::invalid_argument, "API key record refused: " + *reason);
  }
  {
    std::shared_lock lock(records_mutex_);
    if (!records_.contains(record.key_id) && records_.size() >= options_.max_records) {
      return auth_fail(AuthErrorCode::storage, "API key store is full (" + std::to_string(options_.max_records) + " keys)");
    }
  }
  log::AppendRequest request;
  request.records.push_back(log::Record{options_.topic, record.key_id, encode(record), {}, options_.partition});
  auto appended = log_.append(std::move(request));
  if (!appended) {
    return auth_fail(AuthErrorCode::storage, "API key record not appended: " + appended.error().message);
  }
  if (appended->positions.size() != 1) return auth_fail(AuthErrorCode::internal, "append acknowledged no position");
  // In effect here at once; the reader will meet the same record later and keep it.
  if (!apply(record, appended->positions.front().offset)) {
    return auth_fail(AuthErrorCode::storage, "API key store is full (" + std::to_string(options_.max_records) + " keys)");
  }
  return {};
}

AuthResult<std::optional<ApiKeyRecord>> LogApiKeyStore::get(std::string_view key_id) {
  std::shared_lock lock(records_mutex_);
  auto found = records_.find(std::string(key_id));
  if (found == records_.end()) return std::optional<ApiKeyRecord>{};
  return std::optional<ApiKeyRecord>{found->second.record};
}

AuthResult<std::vector<ApiKeyRecord>> LogApiKeyStore::list(std::string_view tenant_id) {
  std::shared_lock lock(records_mutex_);
  std::vector<ApiKeyRecord> out;
  const std::string tenant(tenant_id);
  for (auto it = by_tenant_.lower_bound({tenant, std::string()}); it != by_tenant_.end() && it->first == tenant; ++it) {
    out.push_back(records_.at(it->second).record);
  }
  return out;
}

size_t LogApiKeyStore::record_count() const {
  std::shared_lock lock(records_mutex_);
  return records_.size();
}

std::optional<std::string> LogApiKeyStore::reader_failure() const {
  std::lock_guard lock(state_mutex_);
  return reader_failure_;
}

}  // namespace tenantry::http::auth
