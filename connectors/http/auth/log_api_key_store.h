// API key records kept on the event log, so every node sees every key and no node's
// disk is the source of truth.
//
// put() appends the record (tenantry.v1.ApiKeyRecord, keyed by key_id) to one
// partition of the keys topic and returns once the log has acknowledged it (durable),
// then applies it to the in-memory map. A reader thread tails the partition and applies
// every record, from this node or any other, to the same map; open() replays the
// partition first, so a restarted node knows every key before it answers.
//
// A later record for a key_id replaces the earlier one; the map remembers the offset of
// the record it holds and never goes back to an older one, so a local put and the
// reader's delivery of older records can interleave in any order.
//
// Consistency: an issue or revocation made through this node is in effect on this node
// when put() returns; on other nodes once their reader reaches the record (normally
// milliseconds: the embedded reader wakes on append, the Kafka reader on fetch).
// Until then another node may still accept a key just revoked elsewhere.
//
// Reads (get, on every request) are a hash-map lookup under a shared lock.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>

#include "connectors/http/auth/api_keys.h"
#include "connectors/log/event_log.h"

namespace tenantry::http::auth {

struct LogApiKeyStoreOptions {
  std::string topic = "tenantry.api-keys";
  // Every record is written to and read from this partition only: one ordered stream
  // makes "the later record wins" a matter of offsets, and the keys topic is small.
  int32_t partition = 0;
  // Keys remembered (revoked ones included, so their revocation is). A put of a new key
  // beyond it fails with `storage`; a new key read beyond it is dropped and counted
  // (such a key is then unknown here: it fails closed).
  size_t max_records = 100'000;
  size_t read_batch_records = 512;
};

class LogApiKeyStore final : public ApiKeyStore {
 public:
  // Creates the topic when missing (1 partition; an existing topic with more
  // partitions is used as is), replays the partition to its current end, then starts
  // tailing it. The log must outlive the store.
  static AuthResult<std::unique_ptr<LogApiKeyStore>> open(log::EventLog& log, LogApiKeyStoreOptions options = {});

  ~LogApiKeyStore() override;  // stops and joins the reader
  LogApiKeyStore(const LogApiKeyStore&) = delete;
  LogApiKeyStore& operator=(const LogApiKeyStore&) = delete;

  AuthResult<void> put(const ApiKeyRecord& record) override;
  AuthResult<std::optional<ApiKeyRecord>> get(std::string_view key_id) override;
  AuthResult<std::vector<ApiKeyRecord>> list(std::string_view tenant_id) override;

  // Keys held (revoked and expired ones included).
  size_t record_count() const;
  // The offset after the last record the reader has applied.
  int64_t applied_offset() const { return applied_offset_.load(); }
  // Records the reader skipped: undecodable or invalid values, and new keys beyond max_records.
  uint64_t skipped_records() const { return skipped_records_.load(); }
  // The last read error, if the reader is retrying after one.
  std::optional<std::string> reader_failure() const;

 private:
  struct Entry {
    ApiKeyRecord record;
    int64_t offset = -1;  // of the record held; -1 never happens after apply
  };

  LogApiKeyStore(log::EventLog& log, LogApiKeyStoreOptions options);
  AuthResult<void> replay_to(int64_t end_offset);
  // Applies the record at `offset` unless a record at a later offset is already held.
  // False when a new key does not fit.
  bool apply(ApiKeyRecord record, int64_t offset);
  void apply_stored(const log::StoredRecord& stored);
  void tail();

  log::EventLog& log_;
  const LogApiKeyStoreOptions options_;

  mutable std::shared_mutex records_mutex_;
  std::unordered_map<std::string, Entry> records_;
  std::set<std::pair<std::string, std::string>> by_tenant_;  // (tenant_id, key_id)

  std::unique_ptr<log::PartitionReader> reader_;  // used by the open() replay, then by the tail thread only
  std::atomic<int64_t> applied_offset_{0};
  std::atomic<uint64_t> skipped_records_{0};

  mutable std::mutex state_mutex_;
  std::condition_variable stop_signal_;
  bool stopping_ = false;
  std::optional<std::string> reader_failure_;
  std::thread tail_thread_;
};

}  // namespace tenantry::http::auth
