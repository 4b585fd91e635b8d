// The Kafka engine. Threads it owns:
// - the poll thread serves the producer's delivery reports (rd_kafka_poll);
// - the completion thread runs `done` callbacks and the offset commits that
//   follow a non-transactional append, so neither blocks delivery reports;
// - with a transactional id, the transaction thread runs one append at a time
//   as begin / produce / send offsets / commit.
// Readers and group consumers own their own librdkafka handles and do not
// depend on the EventLog that created them.
#include "connectors/log/kafka/kafka_log.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include <pthread.h>
#include <unordered_map>

#include "connectors/log/kafka/kafka_handles.h"

namespace tenantry::log::kafka {
namespace {

using namespace detail;
using Clock = std::chrono::steady_clock;

// How long the poll thread blocks in one rd_kafka_poll; bounds shutdown latency,
// not delivery latency (rd_kafka_poll returns as soon as a report arrives).
constexpr int kPollIntervalMs = 100;
// How long a group member's seek waits for librdkafka to move its fetch position.
constexpr int kSeekTimeoutMs = 10000;
// After serving delivery reports, how long the poll thread lets the next ones
// gather (see poll_loop): adds at most this much to an append's latency under
// load, none when idle.
constexpr auto kReportGatherDelay = std::chrono::milliseconds(1);
// The same batching delay as a plain librdkafka producer (its default).
constexpr const char* kLingerMs = "5";
// Prefetch bound for consumers: librdkafka 2.0.2 pauses a partition's fetcher
// for a second once ~queued.min.messages are queued, which caps throughput at
// the default 100k. Memory stays bounded by queued.max.messages.kbytes (64 MiB).
constexpr const char* kQueuedMinMessages = "1000000";
// Records a read reserves room for up front: enough to avoid regrowing the
// batch in a busy read, little enough for a reader asking for "everything".
constexpr size_t kReadReserve = 4096;
// Appends waiting for the transaction thread; callers block when it is full.
constexpr size_t kMaxQueuedTransactions = 1024;
// Completion tasks that callers post directly (failed validation, offset-only
// commits); callers block when full. Completions of produced appends are
// bounded by the producer queue (queue.buffering.max.messages) instead.
constexpr size_t kMaxQueuedCallerTasks = 4096;
// librdkafka rejects a record whose wire size exceeds message.max.bytes; the
// wire size adds a record header to key + value + headers. Upper bounds:
constexpr size_t kRecordOverheadBytes = 128;
constexpr size_t kHeaderOverheadBytes = 16;
// After asking librdkafka to purge on shutdown, how long to wait for the
// purged records' reports (they are reported without a broker round trip).
constexpr auto kPurgeWait = std::chrono::seconds(5);

// Names engine threads as librdkafka names its own ("rdk:..."), for profilers
// and debuggers. Linux limits names to 15 characters.
void name_this_thread(const char* name) { pthread_setname_np(pthread_self(), name); }

// Set on every engine's poll thread: delivery reports are served there, and it
// must not serve them re-entrantly.
thread_local bool t_on_poll_thread = false;

struct AppendOp;
// While a thread serves delivery reports: the appends they completed.
thread_local std::vector<AppendOp*>* t_delivered = nullptr;

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

// Runs user callbacks without letting an exception unwind an engine thread.
template <class F>
void run_guarded(const char* what, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tenantry kafka: %s threw: %s\n", what, e.what());
  } catch (...) {
    std::fprintf(stderr, "tenantry kafka: %s threw\n", what);
  }
}

// ---------------------------------------------------------------------------
// Conversions

StoredRecord to_stored(const rd_kafka_message_t& message, const std::string& topic) {
  StoredRecord record;
  record.topic = topic;
  record.partition = message.partition;
  record.offset = message.offset;
  rd_kafka_timestamp_type_t type;
  record.timestamp_ms = rd_kafka_message_timestamp(&message, &type);
  if (message.key != nullptr) {
    record.key.assign(static_cast<const char*>(message.key), message.key_len);
  }
  if (message.payload != nullptr) {
    record.value.assign(static_cast<const char*>(message.payload), message.len);
  }
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(&message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) ==
                       RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      Header header{name, {}};
      if (value != nullptr) header.value.assign(static_cast<const char*>(value), size);
      record.headers.push_back(std::move(header));
    }
  }
  return record;
}

PartitionList to_partition_list(const std::vector<PartitionOffset>& offsets) {
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const auto& o : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), o.topic.c_str(), o.partition)->offset =
        o.next_offset;
  }
  return list;
}

Result<void> check_partition_errors(const rd_kafka_topic_partition_list_t* list,
                                    const std::string& context) {
  for (int i = 0; i < list->cnt; ++i) {
    const auto& element = list->elems[i];
    if (element.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return fail_kafka(element.err, context + " " + element.topic + "[" +
                                         std::to_string(element.partition) + "]");
    }
  }
  return {};
}

// Consumer errors that will not go away by polling again; the rest (a broker
// connection dropped, a coordinator moved) librdkafka recovers from by itself.
bool is_permanent_consumer_error(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__FATAL:
      return true;
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------
// Completion thread

class CompletionWorker {
 public:
  CompletionWorker() : thread_([this] { run(); }) {}
  ~CompletionWorker() { stop(); }

  // For completions of produced appends (bounded upstream): never blocks, so the
  // poll thread cannot stall on a slow callback.
  void post(std::function<void()> task) {
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    ready_.notify_one();
  }

  // For tasks callers create directly: blocks while kMaxQueuedCallerTasks of
  // them are queued (except on the completion thread itself, which would wait
  // for itself).
  void post_bounded(std::function<void()> task) {
    {
      std::unique_lock lock(mutex_);
      if (std::this_thread::get_id() != thread_.get_id()) {
        space_.wait(lock, [this] { return caller_tasks_ < kMaxQueuedCallerTasks; });
      }
      ++caller_tasks_;
      tasks_.push_back([this, task = std::move(task)] {
        {
          std::lock_guard inner(mutex_);
          --caller_tasks_;
        }
        space_.notify_one();
        task();
      });
    }
    ready_.notify_one();
  }

  // Runs what is queued, then ends the thread.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    name_this_thread("tny:log-done");
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      run_guarded("completion task", task);
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::condition_variable space_;
  std::deque<std::function<void()>> tasks_;
  size_t caller_tasks_ = 0;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

// ---------------------------------------------------------------------------
// One append in flight.

struct AppendOp;

// The opaque of one produced record, and where its delivery report writes the
// record's position: the report then touches one cache line per record (the
// poll thread meets these cold, long after the producing thread wrote them).
struct DeliverySlot {
  AppendOp* op;
  int64_t offset = -1;
  int32_t partition = -1;
};

struct Placement {
  rd_kafka_topic_t* topic;
  int32_t partition;
};

struct AppendOp {
  AppendRequest request;
  AppendCallback done;
  std::vector<Placement> placements;  // one per record
  std::vector<DeliverySlot> slots;    // one per record; their addresses are the opaques
  AppendResult result;                // filled from `slots` once every report arrived
  // Records whose delivery report is outstanding, plus one while the producing
  // thread is still handing records to librdkafka.
  std::atomic<int64_t> outstanding{0};

  std::mutex mutex;
  std::optional<Error> error;  // the first failure
  bool delivered = false;      // transactional appends: every report arrived
  std::condition_variable delivered_cv;

  void set_error(Error e) {
    std::lock_guard lock(mutex);
    if (!error) error = std::move(e);
  }
};

// ---------------------------------------------------------------------------
// Partition reader: librdkafka's simple (non-group) consumer, because assign()
// needs a group.id and a reader belongs to no group.

class KafkaPartitionReader final : public PartitionReader {
 public:
  KafkaPartitionReader(Handle consumer, rd_kafka_topic_t* topic, std::string topic_name,
                       int32_t partition, int64_t from_offset)
      : consumer_(std::move(consumer)),
        topic_(topic),
        topic_name_(std::move(topic_name)),
        partition_(partition),
        position_(from_offset) {}

  ~KafkaPartitionReader() override {
    rd_kafka_consume_stop(topic_, partition_);
    rd_kafka_topic_destroy(topic_);
  }

  Result<std::vector<StoredRecord>> read(size_t max_records,
                                         std::chrono::milliseconds wait) override {
    if (pending_error_) {
      Error e = std::move(*pending_error_);
      pending_error_.reset();
      return std::unexpected(std::move(e));
    }
    std::vector<StoredRecord> records;
    records.reserve(std::min(max_records, kReadReserve));
    const auto deadline = Clock::now() + wait;
    while (records.size() < max_records) {
      // Wait only for the first record; then take what is already fetched.
      const int timeout_ms = records.empty() ? remaining_ms(deadline) : 0;
      Message message(rd_kafka_consume(topic_, partition_, timeout_ms));
      if (!message) break;
      if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (timeout_ms == 0) break;
        continue;
      }
      if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        auto error = fail_kafka(message->err, "read " + topic_name_ + "[" +
                                                  std::to_string(partition_) + "]");
        if (records.empty()) return error;
        pending_error_ = std::move(error.error());  // report it on the next read
        break;
      }
      records.push_back(to_stored(*message, topic_name_));
      position_ = message->offset + 1;
    }
    return records;
  }

  int64_t position() const override { return position_; }

 private:
  Handle consumer_;
  rd_kafka_topic_t* topic_;
  std::string topic_name_;
  int32_t partition_;
  int64_t position_;
  std::optional<Error> pending_error_;
};

// ---------------------------------------------------------------------------
// Group member.

class KafkaGroupConsumer final : public GroupConsumer {
 public:
  explicit KafkaGroupConsumer(Handle consumer) : consumer_(std::move(consumer)) {}
  rd_kafka_t* handle() const { return consumer_.get(); }
  ~KafkaGroupConsumer() override { close(); }

  Result<std::vector<StoredRecord>> poll(size_t max_records,
                                         std::chrono::milliseconds wait) override {
    if (closed_) return fail(ErrorCode::closed, "group consumer is closed");
    std::vector<StoredRecord> records;
    records.reserve(std::min(max_records, kReadReserve));
    const auto deadline = Clock::now() + wait;
    while (records.size() < max_records) {
      const int timeout_ms = records.empty() ? remaining_ms(deadline) : 0;
      Message message(rd_kafka_consumer_poll(consumer_.get(), timeout_ms));
      if (!message) break;
      if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (!is_permanent_consumer_error(message->err)) {
          if (timeout_ms == 0) break;
          continue;
        }
        auto error = fail_kafka(message->err, std::string("group poll: ") +
                                                  rd_kafka_message_errstr(message.get()));
        if (records.empty()) return error;
        break;  // the records already taken come first; the error recurs
      }
      const char* topic = rd_kafka_topic_name(message->rkt);
      if (topic != last_topic_) last_topic_ = topic;
      records.push_back(to_stored(*message, last_topic_));
    }
    return records;
  }

  std::vector<TopicPartition> assignment() override {
    std::vector<TopicPartition> out;
    if (closed_) return out;
    rd_kafka_topic_partition_list_t* raw = nullptr;
    if (rd_kafka_assignment(consumer_.get(), &raw) != RD_KAFKA_RESP_ERR_NO_ERROR) return out;
    PartitionList list(raw);
    for (int i = 0; i < list->cnt; ++i) {
      out.push_back({list->elems[i].topic, list->elems[i].partition});
    }
    return out;
  }

  Result<void> commit(const std::vector<PartitionOffset>& offsets) override {
    if (closed_) return fail(ErrorCode::closed, "group consumer is closed");
    if (offsets.empty()) return {};
    auto list = to_partition_list(offsets);
    const auto err = rd_kafka_commit(consumer_.get(), list.get(), /*async=*/0);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return fail_kafka(err, "commit");
    return check_partition_errors(list.get(), "commit");
  }

  Result<void> seek(const std::vector<PartitionOffset>& offsets) override {
    if (closed_) return fail(ErrorCode::closed, "group consumer is closed");
    // librdkafka refuses to seek a partition it is not fetching: those are passed over.
    const auto assigned = assignment();
    std::vector<PartitionOffset> mine;
    for (const auto& offset : offsets) {
      if (std::find(assigned.begin(), assigned.end(), TopicPartition{offset.topic, offset.partition}) !=
          assigned.end()) {
        mine.push_back(offset);
      }
    }
    if (mine.empty()) return {};
    auto list = to_partition_list(mine);
    KafkaError error(rd_kafka_seek_partitions(consumer_.get(), list.get(), kSeekTimeoutMs));
    if (error) return fail_kafka(error.get(), "seek");
    return check_partition_errors(list.get(), "seek");
  }

  void close() override {
    if (closed_) return;
    closed_ = true;
    // Leaves the group (revoking the assignment) before the handle goes away.
    rd_kafka_consumer_close(consumer_.get());
  }

 private:
  Handle consumer_;
  bool closed_ = false;
  std::string last_topic_;  // saves a string build per record for one-topic batches
};

// ---------------------------------------------------------------------------
// The engine.

class KafkaLog final : public EventLog {
 public:
  static Result<std::unique_ptr<EventLog>> open(const KafkaConfig& config);
  ~KafkaLog() override;

  Result<void> create_topic(const TopicSpec& spec) override;
  Result<int32_t> partition_count(const std::string& topic) override;
  void append_async(AppendRequest request, AppendCallback done) override;
  Result<int64_t> end_offset(const std::string& topic, int32_t partition) override;
  Result<std::optional<int64_t>> committed_offset(const std::string& group,
                                                  const std::string& topic,
                                                  int32_t partition) override;
  Result<std::unique_ptr<PartitionReader>> open_reader(const std::string& topic,
                                                       int32_t partition,
                                                       int64_t from_offset) override;
  Result<std::unique_ptr<GroupConsumer>> subscribe(
      const std::string& group, const std::vector<std::string>& topics) override;

 private:
  explicit KafkaLog(KafkaConfig config) : config_(std::move(config)) {}

  Result<void> start();
  Properties base_properties() const;
  Properties producer_properties() const;
  Properties consumer_properties(const std::string& group) const;
  Result<Handle> new_consumer(const std::string& group, const Properties& extra) const;

  // Metadata.
  Result<void> refresh_metadata();
  Result<int32_t> lookup_partitions(const std::string& topic);
  Result<int32_t> check_partition(const std::string& topic, int32_t partition);
  Result<rd_kafka_topic_t*> topic_handle(const std::string& topic);
  Result<void> create_missing_topic(const TopicSpec& spec);
  Result<int32_t> wait_for_topic(const std::string& topic);

  // Appends.
  Result<std::vector<Placement>> place(const AppendRequest& request);
  void produce(AppendOp& op);
  rd_kafka_resp_err_t produce_one(AppendOp& op, size_t index);
  void release(AppendOp& op, int64_t count);
  void on_delivered(AppendOp& op);
  int serve_delivery_reports(int timeout_ms);  // returns the events served
  void complete(std::unique_ptr<AppendOp> op);
  void finish(AppendCallback done, Result<AppendResult> outcome);
  void fail_async(AppendCallback done, Error error);
  static void on_delivery_report(rd_kafka_t*, const rd_kafka_message_t* message, void*);

  // Offsets outside transactions.
  Result<rd_kafka_t*> group_client(const std::string& group);
  Result<void> commit_offsets(const std::string& group,
                              const std::vector<PartitionOffset>& offsets);

  // Transactions.
  void run_transactions();
  void run_transaction(AppendOp& op);
  Result<void> commit_transaction();
  void abort_transaction();
  Result<void> transaction_step(rd_kafka_error_t* raw, const std::string& step);

  void poll_loop();
  void wait_for_in_flight(Clock::time_point deadline);

  const KafkaConfig config_;
  size_t message_max_bytes_ = 1000000;
  Handle producer_;

  std::mutex topics_mutex_;
  std::unordered_map<std::string, int32_t> partition_counts_;
  std::unordered_map<std::string, rd_kafka_topic_t*> topic_handles_;

  std::mutex groups_mutex_;
  std::unordered_map<std::string, Handle> group_clients_;  // one per group committed for

  // Appends accepted whose callback has not run yet.
  std::mutex in_flight_mutex_;
  std::condition_variable in_flight_cv_;
  int64_t in_flight_ = 0;
  std::atomic<bool> closing_{false};

  std::mutex txn_mutex_;
  std::condition_variable txn_ready_;
  std::condition_variable txn_space_;
  std::deque<std::unique_ptr<AppendOp>> txn_queue_;  // bound: kMaxQueuedTransactions
  bool txn_stopping_ = false;
  std::optional<Error> txn_fatal_;  // the producer can no longer transact

  std::unique_ptr<CompletionWorker> completions_;
  std::atomic<bool> stop_polling_{false};
  std::thread poll_thread_;
  std::thread txn_thread_;
};

Properties KafkaLog::base_properties() const {
  return {{"bootstrap.servers", config_.bootstrap_servers}, {"client.id", config_.client_id}};
}

Properties KafkaLog::producer_properties() const {
  Properties p = base_properties();
  p.insert(p.end(), {{"enable.idempotence", "true"},
                     {"acks", "all"},
                     {"partitioner", "murmur2_random"},
                     {"linger.ms", kLingerMs}});
  if (!config_.transactional_id.empty()) p.emplace_back("transactional.id", config_.transactional_id);
  p.insert(p.end(), config_.properties.begin(), config_.properties.end());
  return p;
}

Properties KafkaLog::consumer_properties(const std::string& group) const {
  Properties p = base_properties();
  p.insert(p.end(), {{"group.id", group},
                     {"enable.auto.commit", "false"},
                     {"isolation.level", "read_committed"},
                     {"session.timeout.ms", std::to_string(config_.session_timeout_ms)},
                     {"queued.min.messages", kQueuedMinMessages}});
  return p;
}

Result<Handle> KafkaLog::new_consumer(const std::string& group, const Properties& extra) const {
  Properties p = group.empty() ? base_properties() : consumer_properties(group);
  if (group.empty()) {
    p.insert(p.end(), {{"enable.auto.commit", "false"},
                       {"isolation.level", "read_committed"},
                       {"queued.min.messages", kQueuedMinMessages}});
  }
  p.insert(p.end(), extra.begin(), extra.end());
  p.insert(p.end(), config_.properties.begin(), config_.properties.end());
  auto conf = make_conf(p);
  if (!conf) return std::unexpected(conf.error());
  return make_handle(RD_KAFKA_CONSUMER, std::move(*conf));
}

Result<std::unique_ptr<EventLog>> KafkaLog::open(const KafkaConfig& config) {
  if (config.bootstrap_servers.empty()) {
    return fail(ErrorCode::invalid_argument, "kafka property 'bootstrap.servers' is empty");
  }
  std::unique_ptr<KafkaLog> log(new KafkaLog(config));
  if (auto started = log->start(); !started) return std::unexpected(started.error());
  return std::unique_ptr<EventLog>(std::move(log));
}

Result<void> KafkaLog::start() {
  // Check the consumer side of the configuration now rather than at the first
  // subscribe: a bad extra property should fail open().
  if (auto consumer_conf = make_conf([&] {
        Properties p = consumer_properties("tenantry-config-check");
        p.insert(p.end(), config_.properties.begin(), config_.properties.end());
        return p;
      }());
      !consumer_conf) {
    return std::unexpected(consumer_conf.error());
  }

  auto conf = make_conf(producer_properties());
  if (!conf) return std::unexpected(conf.error());
  rd_kafka_conf_set_dr_msg_cb(conf->get(), &KafkaLog::on_delivery_report);
  rd_kafka_conf_set_opaque(conf->get(), this);  // handed to on_delivery_report
  char value[64];
  size_t value_size = sizeof value;
  if (rd_kafka_conf_get(conf->get(), "message.max.bytes", value, &value_size) == RD_KAFKA_CONF_OK) {
    message_max_bytes_ = std::stoul(value);
  }
  auto producer = make_handle(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!producer) return std::unexpected(producer.error());
  producer_ = std::move(*producer);

  completions_ = std::make_unique<CompletionWorker>();
  poll_thread_ = std::thread([this] { poll_loop(); });

  // Fails fast when the cluster cannot be reached, and fills the partition cache.
  if (auto refreshed = refresh_metadata(); !refreshed) {
    return fail(ErrorCode::unavailable, "kafka cluster " + config_.bootstrap_servers +
                                            " not reachable: " + refreshed.error().message);
  }

  if (!config_.transactional_id.empty()) {
    KafkaError error(rd_kafka_init_transactions(producer_.get(), config_.operation_timeout_ms));
    if (error) return fail_kafka(error.get(), "init_transactions");
    txn_thread_ = std::thread([this] { run_transactions(); });
  }
  return {};
}

KafkaLog::~KafkaLog() {
  closing_ = true;
  if (txn_thread_.joinable()) {
    {
      std::lock_guard lock(txn_mutex_);
      txn_stopping_ = true;
    }
    txn_ready_.notify_one();
    txn_space_.notify_all();
    txn_thread_.join();  // finishes the transaction under way; fails the queued ones
  }
  if (producer_) {
    wait_for_in_flight(Clock::now() + std::chrono::milliseconds(config_.operation_timeout_ms));
    bool drained;
    {
      std::lock_guard lock(in_flight_mutex_);
      drained = in_flight_ == 0;
    }
    if (!drained) {
      // Undelivered records are reported as purged, so their appends fail.
      rd_kafka_purge(producer_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      wait_for_in_flight(Clock::now() + kPurgeWait);
    }
  }
  stop_polling_ = true;
  if (producer_) {
    // Cut the poll thread's wait short (rd_kafka_yield only works from a callback).
    rd_kafka_queue_t* main_queue = rd_kafka_queue_get_main(producer_.get());
    rd_kafka_queue_yield(main_queue);
    rd_kafka_queue_destroy(main_queue);
  }
  if (poll_thread_.joinable()) poll_thread_.join();
  if (completions_) completions_->stop();
  {
    std::lock_guard lock(groups_mutex_);
    for (auto& [group, client] : group_clients_) rd_kafka_consumer_close(client.get());
    group_clients_.clear();
  }
  for (auto& [name, handle] : topic_handles_) rd_kafka_topic_destroy(handle);
  topic_handles_.clear();
  producer_.reset();
}

void KafkaLog::poll_loop() {
  name_this_thread("tny:log-poll");
  t_on_poll_thread = true;
  while (!stop_polling_.load(std::memory_order_relaxed)) {
    if (serve_delivery_reports(kPollIntervalMs) > 0) {
      // Under load, reports arrive as a stream (one per partition and produce
      // response); waking for each costs a context switch, which on a small
      // machine is taken from the broker threads. Let them gather for a moment.
      // An idle engine still answers its first report at once.
      std::this_thread::sleep_for(kReportGatherDelay);
    }
  }
}

void KafkaLog::wait_for_in_flight(Clock::time_point deadline) {
  std::unique_lock lock(in_flight_mutex_);
  in_flight_cv_.wait_until(lock, deadline, [this] { return in_flight_ == 0; });
}

// ---------------------------------------------------------------------------
// Metadata

Result<void> KafkaLog::refresh_metadata() {
  const rd_kafka_metadata_t* metadata = nullptr;
  // All topics: asking for one topic by name can make the broker auto-create it.
  const auto err = rd_kafka_metadata(producer_.get(), /*all_topics=*/1, nullptr, &metadata,
                                     config_.operation_timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return fail_kafka(err, "metadata");
  std::unordered_map<std::string, int32_t> counts;
  for (int i = 0; i < metadata->topic_cnt; ++i) {
    const auto& topic = metadata->topics[i];
    if (topic.err == RD_KAFKA_RESP_ERR_NO_ERROR && topic.partition_cnt > 0) {
      counts.emplace(topic.topic, topic.partition_cnt);
    }
  }
  rd_kafka_metadata_destroy(metadata);
  std::lock_guard lock(topics_mutex_);
  partition_counts_ = std::move(counts);
  return {};
}

Result<int32_t> KafkaLog::lookup_partitions(const std::string& topic) {
  if (topic.empty()) return fail(ErrorCode::invalid_argument, "empty topic name");
  for (int attempt = 0; attempt < 2; ++attempt) {
    {
      std::lock_guard lock(topics_mutex_);
      if (auto it = partition_counts_.find(topic); it != partition_counts_.end()) return it->second;
    }
    if (attempt == 0) {
      if (auto refreshed = refresh_metadata(); !refreshed) return std::unexpected(refreshed.error());
    }
  }
  return fail(ErrorCode::unknown_topic, "unknown topic '" + topic + "'");
}

Result<int32_t> KafkaLog::check_partition(const std::string& topic, int32_t partition) {
  auto count = lookup_partitions(topic);
  if (!count) return count;
  if (partition < 0 || partition >= *count) {
    return fail(ErrorCode::invalid_argument, "partition " + std::to_string(partition) +
                                                 " out of range for topic '" + topic + "' (" +
                                                 std::to_string(*count) + " partitions)");
  }
  return count;
}

Result<rd_kafka_topic_t*> KafkaLog::topic_handle(const std::string& topic) {
  std::lock_guard lock(topics_mutex_);
  if (auto it = topic_handles_.find(topic); it != topic_handles_.end()) return it->second;
  rd_kafka_topic_t* handle = rd_kafka_topic_new(producer_.get(), topic.c_str(), nullptr);
  if (handle == nullptr) return fail_kafka(rd_kafka_last_error(), "topic handle '" + topic + "'");
  topic_handles_.emplace(topic, handle);
  return handle;
}

Result<int32_t> KafkaLog::partition_count(const std::string& topic) {
  return lookup_partitions(topic);
}

Result<void> KafkaLog::create_topic(const TopicSpec& spec) {
  if (spec.name.empty()) return fail(ErrorCode::invalid_argument, "empty topic name");
  if (spec.partitions < 1) {
    return fail(ErrorCode::invalid_argument, "topic '" + spec.name + "' needs at least 1 partition");
  }
  if (auto refreshed = refresh_metadata(); !refreshed) return std::unexpected(refreshed.error());
  std::optional<int32_t> existing;
  {
    std::lock_guard lock(topics_mutex_);
    if (auto it = partition_counts_.find(spec.name); it != partition_counts_.end()) {
      existing = it->second;
    }
  }
  if (!existing) {
    if (auto created = create_missing_topic(spec); !created) return created;
    auto shown = wait_for_topic(spec.name);
    if (!shown) return std::unexpected(shown.error());
    existing = *shown;
  }
  if (*existing != spec.partitions) {
    return fail(ErrorCode::invalid_argument,
                "topic '" + spec.name + "' exists with " + std::to_string(*existing) +
                    " partitions, not " + std::to_string(spec.partitions));
  }
  return {};
}

Result<void> KafkaLog::create_missing_topic(const TopicSpec& spec) {
  if (config_.create_topic_hook) return config_.create_topic_hook(spec);

  char errstr[512];
  rd_kafka_NewTopic_t* new_topic = rd_kafka_NewTopic_new(
      spec.name.c_str(), spec.partitions, config_.replication_factor, errstr, sizeof errstr);
  if (new_topic == nullptr) {
    return fail(ErrorCode::invalid_argument, "create topic '" + spec.name + "': " + errstr);
  }
  rd_kafka_queue_t* queue = rd_kafka_queue_new(producer_.get());
  rd_kafka_AdminOptions_t* options =
      rd_kafka_AdminOptions_new(producer_.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(options, config_.operation_timeout_ms, errstr,
                                            sizeof errstr);
  rd_kafka_CreateTopics(producer_.get(), &new_topic, 1, options, queue);
  // The admin request has its own timeout; wait a little longer for its result.
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, config_.operation_timeout_ms + 1000);

  Result<void> outcome;
  if (event == nullptr) {
    outcome = fail(ErrorCode::timeout, "create topic '" + spec.name + "': no answer");
  } else if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    outcome = fail_kafka(rd_kafka_event_error(event), "create topic '" + spec.name + "'");
  } else {
    size_t count = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count);
    for (size_t i = 0; i < count; ++i) {
      const auto err = rd_kafka_topic_result_error(results[i]);
      // Created concurrently by someone else: the partition count is checked next.
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        const char* message = rd_kafka_topic_result_error_string(results[i]);
        outcome = fail(map_error(err), "create topic '" + spec.name +
                                           "': " + (message ? message : rd_kafka_err2str(err)));
      }
    }
  }
  if (event != nullptr) rd_kafka_event_destroy(event);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_NewTopic_destroy(new_topic);
  rd_kafka_queue_destroy(queue);
  return outcome;
}

Result<int32_t> KafkaLog::wait_for_topic(const std::string& topic) {
  // Metadata has no change notification: re-read it until the topic shows.
  constexpr auto kRetryInterval = std::chrono::milliseconds(50);
  const auto deadline = Clock::now() + std::chrono::milliseconds(config_.operation_timeout_ms);
  for (;;) {
    if (auto refreshed = refresh_metadata(); !refreshed) return std::unexpected(refreshed.error());
    {
      std::lock_guard lock(topics_mutex_);
      if (auto it = partition_counts_.find(topic); it != partition_counts_.end()) return it->second;
    }
    if (Clock::now() + kRetryInterval > deadline) {
      return fail(ErrorCode::timeout, "topic '" + topic + "' not visible in metadata after creation");
    }
    std::this_thread::sleep_for(kRetryInterval);
  }
}

// ---------------------------------------------------------------------------
// Appends

Result<std::vector<Placement>> KafkaLog::place(const AppendRequest& request) {
  std::vector<Placement> placements;
  placements.reserve(request.records.size());
  // Requests usually hold one topic: look it up once.
  const std::string* last_topic = nullptr;
  int32_t partitions = 0;
  rd_kafka_topic_t* handle = nullptr;
  for (size_t i = 0; i < request.records.size(); ++i) {
    const Record& record = request.records[i];
    auto where = [i] { return "record " + std::to_string(i) + ": "; };  // only on failure
    if (last_topic == nullptr || *last_topic != record.topic) {
      auto count = lookup_partitions(record.topic);
      if (!count) return fail(count.error().code, where() + count.error().message);
      auto topic = topic_handle(record.topic);
      if (!topic) return std::unexpected(topic.error());
      last_topic = &record.topic;
      partitions = *count;
      handle = *topic;
    }
    size_t size = kRecordOverheadBytes + record.key.size() + record.value.size();
    for (const auto& h : record.headers) size += kHeaderOverheadBytes + h.key.size() + h.value.size();
    if (size > message_max_bytes_) {
      return fail(ErrorCode::invalid_argument,
                  where() + "record of ~" + std::to_string(size) +
                      " bytes exceeds message.max.bytes=" + std::to_string(message_max_bytes_));
    }
    int32_t partition;
    if (record.partition) {
      partition = *record.partition;
      if (partition < 0 || partition >= partitions) {
        return fail(ErrorCode::invalid_argument,
                    where() + "partition " + std::to_string(partition) + " out of range for topic '" +
                        record.topic + "' (" + std::to_string(partitions) + " partitions)");
      }
    } else {
      partition = partition_for_key(record.key, partitions);
    }
    placements.push_back({handle, partition});
  }
  if (!request.offsets.empty() && request.group.empty()) {
    return fail(ErrorCode::invalid_argument, "offsets given without a group");
  }
  for (const auto& offset : request.offsets) {
    if (auto checked = check_partition(offset.topic, offset.partition); !checked) {
      return fail(checked.error().code, "offset: " + checked.error().message);
    }
    if (offset.next_offset < 0) {
      return fail(ErrorCode::invalid_argument, "offset: negative next_offset for " + offset.topic);
    }
  }
  return placements;
}

void KafkaLog::fail_async(AppendCallback done, Error error) {
  completions_->post_bounded([this, done = std::move(done), error = std::move(error)]() mutable {
    finish(std::move(done), std::unexpected(std::move(error)));
  });
}

// Runs `done` and retires the append. Called on the completion thread.
void KafkaLog::finish(AppendCallback done, Result<AppendResult> outcome) {
  run_guarded("append callback", [&] { done(std::move(outcome)); });
  {
    std::lock_guard lock(in_flight_mutex_);
    --in_flight_;
  }
  in_flight_cv_.notify_all();
}

void KafkaLog::append_async(AppendRequest request, AppendCallback done) {
  if (closing_) {
    // The engine threads may be gone: answer here.
    run_guarded("append callback", [&] { done(fail(ErrorCode::closed, "event log is closing")); });
    return;
  }
  {
    std::lock_guard lock(in_flight_mutex_);
    ++in_flight_;
  }
  auto placements = place(request);
  if (!placements) {
    fail_async(std::move(done), std::move(placements.error()));
    return;
  }

  auto op = std::make_unique<AppendOp>();
  op->request = std::move(request);
  op->done = std::move(done);
  op->placements = std::move(*placements);
  const size_t count = op->request.records.size();
  op->slots.assign(count, DeliverySlot{op.get()});

  if (!config_.transactional_id.empty()) {
    std::unique_lock lock(txn_mutex_);
    txn_space_.wait(lock, [this] { return txn_stopping_ || txn_queue_.size() < kMaxQueuedTransactions; });
    if (txn_stopping_) {
      lock.unlock();
      fail_async(std::move(op->done), Error{ErrorCode::closed, "event log is closing"});
      return;
    }
    txn_queue_.push_back(std::move(op));
    lock.unlock();
    txn_ready_.notify_one();
    return;
  }

  if (count == 0) {
    // A plain offset commit (or nothing at all): no producing involved.
    AppendOp* raw = op.release();
    completions_->post_bounded([this, raw] { complete(std::unique_ptr<AppendOp>(raw)); });
    return;
  }
  // From here the delivery reports own the append (see on_delivered).
  produce(*op.release());
  // Serve the delivery reports that are ready on this thread too, as a plain
  // librdkafka producer loop does: librdkafka then frees each message on the
  // thread that allocated it (a thread-local cache hit, not a cross-thread free
  // into a contended malloc arena), which is most of the cost of a report.
  if (!t_on_poll_thread) serve_delivery_reports(0);
}

void KafkaLog::produce(AppendOp& op) {
  const size_t count = op.request.records.size();
  op.outstanding.store(static_cast<int64_t>(count) + 1, std::memory_order_relaxed);
  size_t handed = 0;
  for (; handed < count; ++handed) {
    const auto err = produce_one(op, handed);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      op.set_error(fail_kafka(err, "produce record " + std::to_string(handed)).error());
      break;
    }
  }
  // librdkafka holds copies now. Free the records on this thread, usually the
  // one that built them, and before anyone waits for the append.
  op.request.records = {};
  op.placements = {};
  // Drop the records never handed over, and the hold.
  release(op, static_cast<int64_t>(count - handed) + 1);
}

rd_kafka_resp_err_t KafkaLog::produce_one(AppendOp& op, size_t index) {
  const Record& record = op.request.records[index];
  const Placement& placement = op.placements[index];
  // F_BLOCK: when the producer queue (queue.buffering.max.messages) is full,
  // wait for the poll thread to drain it instead of failing the append.
  constexpr int kFlags = RD_KAFKA_MSG_F_COPY | RD_KAFKA_MSG_F_BLOCK;
  void* key = const_cast<char*>(record.key.data());
  void* value = const_cast<char*>(record.value.data());
  if (record.headers.empty()) {
    return rd_kafka_producev(producer_.get(), RD_KAFKA_V_RKT(placement.topic),
                             RD_KAFKA_V_PARTITION(placement.partition), RD_KAFKA_V_MSGFLAGS(kFlags),
                             RD_KAFKA_V_KEY(key, record.key.size()),
                             RD_KAFKA_V_VALUE(value, record.value.size()),
                             RD_KAFKA_V_OPAQUE(&op.slots[index]), RD_KAFKA_V_END);
  }
  rd_kafka_headers_t* headers = rd_kafka_headers_new(record.headers.size());
  for (const auto& h : record.headers) {
    rd_kafka_header_add(headers, h.key.data(), static_cast<ssize_t>(h.key.size()), h.value.data(),
                        static_cast<ssize_t>(h.value.size()));
  }
  const auto err = rd_kafka_producev(
      producer_.get(), RD_KAFKA_V_RKT(placement.topic), RD_KAFKA_V_PARTITION(placement.partition),
      RD_KAFKA_V_MSGFLAGS(kFlags), RD_KAFKA_V_KEY(key, record.key.size()),
      RD_KAFKA_V_VALUE(value, record.value.size()), RD_KAFKA_V_HEADERS(headers),
      RD_KAFKA_V_OPAQUE(&op.slots[index]), RD_KAFKA_V_END);
  // The message owns the headers only once it was accepted.
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) rd_kafka_headers_destroy(headers);
  return err;
}

// Runs on the poll thread (or a thread inside rd_kafka_purge at shutdown).
void KafkaLog::on_delivery_report(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  auto* slot = static_cast<DeliverySlot*>(message->_private);
  AppendOp& op = *slot->op;
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    const auto index = static_cast<size_t>(slot - op.slots.data());
    op.set_error(fail_kafka(message->err, "delivery of record " + std::to_string(index)).error());
  } else {
    slot->offset = message->offset;
    slot->partition = message->partition;
  }
  static_cast<KafkaLog*>(opaque)->release(op, 1);
}

void KafkaLog::release(AppendOp& op, int64_t count) {
  if (op.outstanding.fetch_sub(count, std::memory_order_acq_rel) == count) on_delivered(op);
}

// Every record of `op` is reported (or was never handed over).
void KafkaLog::on_delivered(AppendOp& op) {
  if (!op.error) {
    op.result.positions.reserve(op.slots.size());
    for (const auto& slot : op.slots) op.result.positions.push_back({slot.partition, slot.offset});
  }
  if (!config_.transactional_id.empty()) {
    // The transaction thread owns the op and waits for this. Notify under the
    // lock: once it is released the waiter may destroy the op.
    std::lock_guard lock(op.mutex);
    op.delivered = true;
    op.delivered_cv.notify_one();
    return;
  }
  // Callbacks never run here: one that blocks would stall every delivery
  // report, and one that appends could wait for the queue this thread drains.
  if (t_delivered != nullptr) {
    t_delivered->push_back(&op);  // handed over in one go when the poll call returns
    return;
  }
  AppendOp* raw = &op;
  completions_->post([this, raw] { complete(std::unique_ptr<AppendOp>(raw)); });
}

// One rd_kafka_poll, with the appends it completes handed to the completion
// thread as one task: one wake-up per poll call rather than one per append.
int KafkaLog::serve_delivery_reports(int timeout_ms) {
  std::vector<AppendOp*> delivered;
  t_delivered = &delivered;
  const int served = rd_kafka_poll(producer_.get(), timeout_ms);
  t_delivered = nullptr;
  if (delivered.empty()) return served;
  completions_->post([this, delivered = std::move(delivered)] {
    for (AppendOp* op : delivered) complete(std::unique_ptr<AppendOp>(op));
  });
  return served;
}

// Non-transactional: records are durable (or failed); commit the offsets after them.
void KafkaLog::complete(std::unique_ptr<AppendOp> op) {
  Result<AppendResult> outcome;
  if (op->error) {
    outcome = std::unexpected(std::move(*op->error));
  } else if (!op->request.offsets.empty()) {
    // A member commits as itself: Kafka refuses offsets of an active group from a
    // client that is not one of its members.
    auto committed = op->request.member != nullptr ? op->request.member->commit(op->request.offsets)
                                                   : commit_offsets(op->request.group, op->request.offsets);
    if (committed) {
      outcome = std::move(op->result);
    } else {
      outcome = std::unexpected(std::move(committed.error()));
    }
  } else {
    outcome = std::move(op->result);
  }
  finish(std::move(op->done), std::move(outcome));
}

// ---------------------------------------------------------------------------
// Group offsets outside transactions

Result<rd_kafka_t*> KafkaLog::group_client(const std::string& group) {
  std::lock_guard lock(groups_mutex_);
  if (auto it = group_clients_.find(group); it != group_clients_.end()) return it->second.get();
  // A consumer that never subscribes: it only commits and reads the group's offsets.
  auto client = new_consumer(group, {});
  if (!client) return std::unexpected(client.error());
  rd_kafka_t* raw = client->get();
  group_clients_.emplace(group, std::move(*client));
  return raw;
}

Result<void> KafkaLog::commit_offsets(const std::string& group,
                                      const std::vector<PartitionOffset>& offsets) {
  auto client = group_client(group);
  if (!client) return std::unexpected(client.error());
  auto list = to_partition_list(offsets);
  const auto err = rd_kafka_commit(*client, list.get(), /*async=*/0);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return fail_kafka(err, "commit offsets of " + group);
  return check_partition_errors(list.get(), "commit offsets of " + group);
}

Result<std::optional<int64_t>> KafkaLog::committed_offset(const std::string& group,
                                                          const std::string& topic,
                                                          int32_t partition) {
  if (group.empty()) return fail(ErrorCode::invalid_argument, "empty group name");
  if (auto checked = check_partition(topic, partition); !checked) {
    return std::unexpected(checked.error());
  }
  auto client = group_client(group);
  if (!client) return std::unexpected(client.error());
  PartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition);
  const auto err = rd_kafka_committed(*client, list.get(), config_.operation_timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return fail_kafka(err, "committed offset of " + group);
  if (auto checked = check_partition_errors(list.get(), "committed offset of " + group); !checked) {
    return std::unexpected(checked.error());
  }
  const int64_t offset = list->elems[0].offset;
  if (offset < 0) return std::optional<int64_t>{};  // RD_KAFKA_OFFSET_INVALID: none committed
  return std::optional<int64_t>{offset};
}

// ---------------------------------------------------------------------------
// Transactions: one append at a time, each its own transaction.

void KafkaLog::run_transactions() {
  name_this_thread("tny:log-txn");
  for (;;) {
    std::unique_ptr<AppendOp> op;
    {
      std::unique_lock lock(txn_mutex_);
      txn_ready_.wait(lock, [this] { return txn_stopping_ || !txn_queue_.empty(); });
      if (txn_stopping_) {
        // Shutdown: what has not started fails; nothing is half-done.
        for (auto& queued : txn_queue_) {
          fail_async(std::move(queued->done), Error{ErrorCode::closed, "event log is closing"});
        }
        txn_queue_.clear();
        return;
      }
      op = std::move(txn_queue_.front());
      txn_queue_.pop_front();
    }
    txn_space_.notify_one();
    run_transaction(*op);
  }
}

// Turns a transaction API result into a Result, remembering fatal errors.
Result<void> KafkaLog::transaction_step(rd_kafka_error_t* raw, const std::string& step) {
  KafkaError error(raw);
  if (!error) return {};
  auto failure = fail_kafka(error.get(), step);
  if (rd_kafka_error_is_fatal(error.get())) txn_fatal_ = failure.error();
  return failure;
}

void KafkaLog::abort_transaction() {
  // Retriable aborts (e.g. a timeout) are retried; anything else leaves the
  // producer fatal, which fails every later append.
  for (int attempt = 0; attempt < 3; ++attempt) {
    KafkaError error(rd_kafka_abort_transaction(producer_.get(), config_.operation_timeout_ms));
    if (!error) return;
    if (!rd_kafka_error_is_retriable(error.get())) {
      txn_fatal_ = fail_kafka(error.get(), "abort_transaction").error();
      return;
    }
  }
  txn_fatal_ = Error{ErrorCode::timeout, "abort_transaction kept timing out"};
}

Result<void> KafkaLog::commit_transaction() {
  for (int attempt = 0;; ++attempt) {
    KafkaError error(rd_kafka_commit_transaction(producer_.get(), config_.operation_timeout_ms));
    if (!error) return {};
    auto failure = fail_kafka(error.get(), "commit_transaction");
    if (rd_kafka_error_is_retriable(error.get()) && attempt < 3) continue;
    if (rd_kafka_error_txn_requires_abort(error.get())) {
      abort_transaction();
    } else if (rd_kafka_error_is_fatal(error.get())) {
      txn_fatal_ = failure.error();
    }
    return failure;
  }
}

void KafkaLog::run_transaction(AppendOp& op) {
  auto finish_with = [&](Result<AppendResult> outcome) {
    completions_->post([this, done = std::move(op.done), outcome = std::move(outcome)]() mutable {
      finish(std::move(done), std::move(outcome));
    });
  };
  if (txn_fatal_) {
    finish_with(std::unexpected(*txn_fatal_));
    return;
  }
  if (auto begun = transaction_step(rd_kafka_begin_transaction(producer_.get()),
                                    "begin_transaction");
      !begun) {
    finish_with(std::unexpected(begun.error()));
    return;
  }

  produce(op);
  {
    std::unique_lock lock(op.mutex);
    op.delivered_cv.wait(lock, [&] { return op.delivered; });
  }
  if (op.error) {
    abort_transaction();
    finish_with(std::unexpected(*op.error));
    return;
  }

  if (!op.request.offsets.empty()) {
    auto list = to_partition_list(op.request.offsets);
    // With the member's metadata (its generation) the broker fences the offsets of
    // a member that has lost its partitions; without a member, the group's name.
    auto* member = dynamic_cast<KafkaGroupConsumer*>(op.request.member);
    rd_kafka_consumer_group_metadata_t* group =
        member != nullptr ? rd_kafka_consumer_group_metadata(member->handle())
                          : rd_kafka_consumer_group_metadata_new(op.request.group.c_str());
    auto sent = transaction_step(rd_kafka_send_offsets_to_transaction(
                                     producer_.get(), list.get(), group,
                                     config_.operation_timeout_ms),
                                 "send_offsets_to_transaction");
    rd_kafka_consumer_group_metadata_destroy(group);
    if (!sent) {
      if (!txn_fatal_) abort_transaction();
      finish_with(std::unexpected(sent.error()));
      return;
    }
  }

  if (auto committed = commit_transaction(); !committed) {
    finish_with(std::unexpected(committed.error()));
    return;
  }
  finish_with(std::move(op.result));
}

// ---------------------------------------------------------------------------
// Reading

Result<int64_t> KafkaLog::end_offset(const std::string& topic, int32_t partition) {
  if (auto checked = check_partition(topic, partition); !checked) {
    return std::unexpected(checked.error());
  }
  int64_t low = 0;
  int64_t high = 0;
  const auto err = rd_kafka_query_watermark_offsets(producer_.get(), topic.c_str(), partition, &low,
                                                    &high, config_.operation_timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return fail_kafka(err, "end offset of " + topic + "[" + std::to_string(partition) + "]");
  }
  return high;
}

Result<std::unique_ptr<PartitionReader>> KafkaLog::open_reader(const std::string& topic,
                                                               int32_t partition,
                                                               int64_t from_offset) {
  auto end = end_offset(topic, partition);
  if (!end) return std::unexpected(end.error());
  if (from_offset < 0 || from_offset > *end) {
    return fail(ErrorCode::invalid_argument,
                "from_offset " + std::to_string(from_offset) + " outside [0, " +
                    std::to_string(*end) + "] for " + topic + "[" + std::to_string(partition) + "]");
  }
  // Reading from before the oldest retained record is an error, not a silent skip.
  auto consumer = new_consumer("", {{"auto.offset.reset", "error"}});
  if (!consumer) return std::unexpected(consumer.error());
  rd_kafka_topic_t* handle = rd_kafka_topic_new(consumer->get(), topic.c_str(), nullptr);
  if (handle == nullptr) return fail_kafka(rd_kafka_last_error(), "reader topic '" + topic + "'");
  if (rd_kafka_consume_start(handle, partition, from_offset) == -1) {
    const auto err = rd_kafka_last_error();
    rd_kafka_topic_destroy(handle);
    return fail_kafka(err, "start reading " + topic + "[" + std::to_string(partition) + "]");
  }
  return std::unique_ptr<PartitionReader>(
      new KafkaPartitionReader(std::move(*consumer), handle, topic, partition, from_offset));
}

Result<std::unique_ptr<GroupConsumer>> KafkaLog::subscribe(const std::string& group,
                                                           const std::vector<std::string>& topics) {
  if (group.empty()) return fail(ErrorCode::invalid_argument, "empty group name");
  if (topics.empty()) return fail(ErrorCode::invalid_argument, "no topics to subscribe to");
  for (const auto& topic : topics) {
    if (auto count = lookup_partitions(topic); !count) return std::unexpected(count.error());
  }
  auto consumer = new_consumer(group, {{"auto.offset.reset", "earliest"}});
  if (!consumer) return std::unexpected(consumer.error());
  // Rebalance events and errors arrive on the queue rd_kafka_consumer_poll serves.
  rd_kafka_poll_set_consumer(consumer->get());
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
  for (const auto& topic : topics) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
  }
  if (const auto err = rd_kafka_subscribe(consumer->get(), list.get());
      err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return fail_kafka(err, "subscribe " + group);
  }
  return std::unique_ptr<GroupConsumer>(new KafkaGroupConsumer(std::move(*consumer)));
}

}  // namespace

Result<std::unique_ptr<EventLog>> open_kafka_log(const KafkaConfig& config) {
  try {
    return KafkaLog::open(config);
  } catch (const std::exception& e) {
    return fail(ErrorCode::io, std::string("open kafka log: ") + e.what());
  }
}

}  // namespace tenantry::log::kafka
