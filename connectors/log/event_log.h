// The event log: one small interface, two engines (embedded RocksDB, Kafka).
//
// Contract shared by every engine (checked by tests/log/conformance_test.cpp):
// - A topic has a fixed number of partitions. A record without an explicit
//   partition goes to murmur2(key) % partitions, as Java Kafka clients compute it.
// - Offsets within a partition are contiguous from 0 and never reused.
// - append() is all-or-nothing as far as the engine can make it: a request that
//   fails validation writes nothing; the embedded engine writes the records and
//   the group offsets in one fsynced batch; the Kafka engine does so in one
//   transaction when a transactional id is configured.
// - An append is acknowledged only once durable (fsync / acks=all).
// - Errors cross this boundary as values, never as exceptions.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tenantry::log {

enum class ErrorCode {
  invalid_argument,  // the request itself is wrong (empty topic, bad partition)
  unknown_topic,
  io,                // storage or network failure
  timeout,
  closed,            // the engine or reader was closed
  unavailable,       // the broker cannot be reached
};

struct Error {
  ErrorCode code;
  std::string message;
};

const char* to_string(ErrorCode code);

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(ErrorCode code, std::string message) {
  return std::unexpected(Error{code, std::move(message)});
}

struct Header {
  std::string key;
  std::string value;
};

// A record handed to append().
struct Record {
  std::string topic;
  std::string key;  // the tenant id on every Tenantry topic
  std::string value;
  std::vector<Header> headers;
  std::optional<int32_t> partition;  // empty: murmur2(key) % partitions
};

// A record as stored and read back.
struct StoredRecord {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = 0;  // append time, set by the engine
  std::string key;
  std::string value;
  std::vector<Header> headers;

  // The value of the first header named `name`, if any.
  const std::string* header(std::string_view name) const;
};

struct TopicSpec {
  std::string name;
  int32_t partitions = 1;
};

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  friend bool operator==(const TopicPartition&, const TopicPartition&) = default;
};

// A consumer group's position: the next offset it will read.
struct PartitionOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t next_offset = 0;
};

class GroupConsumer;

struct AppendRequest {
  std::vector<Record> records;
  // When set, these offsets of `group` are committed atomically with the records
  // (consume-decide-produce). Offsets alone (no records) are a plain commit.
  std::string group;
  std::vector<PartitionOffset> offsets;
  // The member of `group` whose progress the offsets record, in a consume-decide-
  // produce loop. Kafka takes offsets of an active group only from one of its members
  // (and a transaction's offsets carry its generation, which fences a zombie); the
  // embedded engine commits by group name alone. Must outlive the append.
  GroupConsumer* member = nullptr;
};

struct RecordPosition {
  int32_t partition = 0;
  int64_t offset = 0;
};

struct AppendResult {
  std::vector<RecordPosition> positions;  // one per record, in request order
};

using AppendCallback = std::function<void(Result<AppendResult>)>;

// Reads one partition from a chosen offset, for replay and tailing.
class PartitionReader {
 public:
  virtual ~PartitionReader() = default;
  // Up to max_records from the current position. Waits up to `wait` for at least
  // one record when at the end (a tailing reader wakes promptly on append, without
  // spinning); returns an empty vector when none arrived.
  virtual Result<std::vector<StoredRecord>> read(size_t max_records,
                                                 std::chrono::milliseconds wait) = 0;
  virtual int64_t position() const = 0;
};

// A member of a consumer group: partitions of the subscribed topics are divided
// among the group's members; reading resumes from the group's committed offsets
// (or offset 0 when the group has none).
class GroupConsumer {
 public:
  virtual ~GroupConsumer() = default;
  virtual Result<std::vector<StoredRecord>> poll(size_t max_records,
                                                 std::chrono::milliseconds wait) = 0;
  // The partitions currently assigned to this member.
  virtual std::vector<TopicPartition> assignment() = 0;
  virtual Result<void> commit(const std::vector<PartitionOffset>& offsets) = 0;
  // Moves this member's position: the next poll of each partition given starts at its
  // offset (what was polled beyond it is delivered again). Commits nothing. A
  // partition not assigned to this member is passed over: whoever holds it resumes
  // from the group's committed offset.
  virtual Result<void> seek(const std::vector<PartitionOffset>& offsets) = 0;
  // Leaves the group; its partitions go to the other members.
  virtual void close() = 0;
};

class EventLog {
 public:
  virtual ~EventLog() = default;

  // Creates the topic if missing; an existing topic must have the same
  // partition count (otherwise invalid_argument).
  virtual Result<void> create_topic(const TopicSpec& spec) = 0;
  virtual Result<int32_t> partition_count(const std::string& topic) = 0;

  // Appends asynchronously; `done` runs exactly once, on an engine thread (or on the
  // calling thread when the request is invalid), when the
  // whole request is durable or has failed. Requests from one thread to one
  // partition are appended in call order.
  virtual void append_async(AppendRequest request, AppendCallback done) = 0;
  // Blocking form of append_async.
  Result<AppendResult> append(AppendRequest request);

  // The offset the next appended record of this partition will get.
  virtual Result<int64_t> end_offset(const std::string& topic, int32_t partition) = 0;
  virtual Result<std::optional<int64_t>> committed_offset(const std::string& group,
                                                          const std::string& topic,
                                                          int32_t partition) = 0;

  virtual Result<std::unique_ptr<PartitionReader>> open_reader(const std::string& topic,
                                                               int32_t partition,
                                                               int64_t from_offset) = 0;
  virtual Result<std::unique_ptr<GroupConsumer>> subscribe(
      const std::string& group, const std::vector<std::string>& topics) = 0;
};

// Java's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as librdkafka's
// murmur2_random partitioner uses it.
uint32_t murmur2(std::string_view key);
// partition = (murmur2(key) & 0x7fffffff) % partitions.
int32_t partition_for_key(std::string_view key, int32_t partitions);

}  // namespace tenantry::log
