// What is compared, and why it is fair:
// - raw_produce vs engine_append: the same records (same keys, values and
//   partition count) go to two fresh topics; both producers are idempotent with
//   acks=all and linger.ms=5, both connected and holding metadata for their
//   topic before the clock starts; the clock stops when every delivery report
//   (raw) or append callback (engine) has arrived.
// - raw_consume vs engine_read: both read the engine's topic from offset 0 with
//   queued.min.messages=1e6, timed from the first record to the last, so the
//   consumer group join of engine_read (~3 s on the mock) is not counted.
// - engine_replay: PartitionReader over every partition one after another,
//   timed in full (including opening each reader).
// Each comparison runs kRounds times, raw and engine alternating (and taking
// turns going first) on fresh topics; the median round is reported.
#include "app/bench/kafka_bench.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>

#include "connectors/log/kafka/kafka_log.h"
#include "connectors/log/kafka/mock_cluster.h"

namespace tenantry::bench {
namespace {

using log::AppendRequest;
using log::AppendResult;
using log::Record;
using log::Result;
using Clock = std::chrono::steady_clock;

constexpr const char* kWarmupTopic = "bench.warmup";
// Rounds per comparison; each round writes fresh topics.
constexpr int kRounds = 3;
constexpr int kTenants = 1000;  // distinct keys, like tenant ids
// Engine appends in flight: 1000 x 100 records matches librdkafka's default
// producer queue bound (queue.buffering.max.messages = 100000) that raw has.
constexpr int64_t kMaxRecordsInFlight = 100000;
// The mock keeps ~5 MiB per partition and silently drops older data; stay
// below with room for record and batch overhead.
constexpr int64_t kMaxBytesPerPartition = 4 * 1024 * 1024;
constexpr int64_t kRecordOverheadBytes = 40;
constexpr int kTimeoutMs = 120000;  // any single phase

std::string raw_topic(int round) { return "bench.raw." + std::to_string(round); }
std::string engine_topic(int round) { return "bench.engine." + std::to_string(round); }

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

ThroughputFigure figure(std::string name, int64_t records, double seconds) {
  return {std::move(name), records, seconds, seconds > 0 ? records / seconds : 0.0};
}

std::vector<AppendRequest> make_requests(const KafkaBenchOptions& options, const std::string& topic) {
  std::vector<AppendRequest> requests;
  requests.reserve(static_cast<size_t>(options.records / options.batch_records + 1));
  std::string value(static_cast<size_t>(options.value_bytes), 'v');
  for (int64_t i = 0; i < options.records; ++i) {
    if (i % options.batch_records == 0) requests.emplace_back();
    Record record;
    record.topic = topic;
    record.key = "tenant-" + std::to_string(i % kTenants);
    // Unique values, same length.
    const std::string id = std::to_string(i);
    std::copy_n(id.begin(), std::min(id.size(), value.size()), value.begin());
    record.value = value;
    requests.back().records.push_back(std::move(record));
  }
  return requests;
}

// --- raw librdkafka ------------------------------------------------------------

struct RawHandle {
  rd_kafka_t* handle = nullptr;
  ~RawHandle() {
    if (handle != nullptr) rd_kafka_destroy(handle);
  }
};

struct RawDeliveries {
  std::atomic<int64_t> delivered{0};
  std::atomic<int64_t> failed{0};
};

void raw_delivery_report(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  auto* deliveries = static_cast<RawDeliveries*>(opaque);
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    deliveries->failed.fetch_add(1, std::memory_order_relaxed);
  } else {
    deliveries->delivered.fetch_add(1, std::memory_order_relaxed);
  }
}

bool set(rd_kafka_conf_t* conf, const char* name, const std::string& value, std::string* error) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, name, value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    *error = std::string(name) + ": " + errstr;
    return false;
  }
  return true;
}

// Produces `requests`' records with librdkafka's own partitioner and returns
// the seconds from the first produce call to the last delivery report.
bool raw_produce(const std::string& bootstrap, const std::vector<AppendRequest>& requests,
                 const std::string& topic_name, int64_t records, double* seconds,
                 std::string* error) {
  RawDeliveries deliveries;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (!set(conf, "bootstrap.servers", bootstrap, error) ||
      !set(conf, "enable.idempotence", "true", error) || !set(conf, "acks", "all", error) ||
      !set(conf, "linger.ms", "5", error) || !set(conf, "partitioner", "murmur2_random", error)) {
    rd_kafka_conf_destroy(conf);
    return false;
  }
  rd_kafka_conf_set_dr_msg_cb(conf, raw_delivery_report);
  rd_kafka_conf_set_opaque(conf, &deliveries);
  char errstr[512];
  RawHandle producer{rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr)};
  if (producer.handle == nullptr) {
    rd_kafka_conf_destroy(conf);
    *error = std::string("raw producer: ") + errstr;
    return false;
  }
  rd_kafka_t* rk = producer.handle;

  // Warm up like the engine: connect, get a producer id, learn the topic.
  if (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(kWarmupTopic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_KEY("warmup", 6), RD_KAFKA_V_END) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      rd_kafka_flush(rk, kTimeoutMs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    *error = "raw producer warm-up failed";
    return false;
  }
  rd_kafka_topic_t* topic = rd_kafka_topic_new(rk, topic_name.c_str(), nullptr);
  const rd_kafka_metadata_t* metadata = nullptr;
  if (rd_kafka_metadata(rk, 0, topic, &metadata, kTimeoutMs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_topic_destroy(topic);
    *error = "raw producer metadata failed";
    return false;
  }
  rd_kafka_metadata_destroy(metadata);
  deliveries.delivered = 0;

  const auto start = Clock::now();
  for (const auto& request : requests) {
    for (const auto& record : request.records) {
      for (;;) {
        const auto err = rd_kafka_producev(
            rk, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(const_cast<char*>(record.key.data()), record.key.size()),
            RD_KAFKA_V_VALUE(const_cast<char*>(record.value.data()), record.value.size()),
            RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          rd_kafka_topic_destroy(topic);
          *error = std::string("raw produce: ") + rd_kafka_err2str(err);
          return false;
        }
        rd_kafka_poll(rk, 1);  // queue full: serve delivery reports, then retry
      }
    }
    rd_kafka_poll(rk, 0);
  }
  const auto flushed = rd_kafka_flush(rk, kTimeoutMs);
  *seconds = seconds_since(start);
  rd_kafka_topic_destroy(topic);
  if (flushed != RD_KAFKA_RESP_ERR_NO_ERROR || deliveries.failed > 0 ||
      deliveries.delivered != records) {
    *error = "raw produce: " + std::to_string(deliveries.failed.load()) + " failed, " +
             std::to_string(deliveries.delivered.load()) + " of " + std::to_string(records) +
             " delivered";
    return false;
  }
  return true;
}

// Reads `records` records of `topic` from offset 0 of every partition.
bool raw_consume(const std::string& bootstrap, const std::string& topic_name, int partitions,
                 int64_t records, int round, double* seconds, std::string* error) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (!set(conf, "bootstrap.servers", bootstrap, error) ||
      !set(conf, "group.id", "bench.raw-consume." + std::to_string(round), error) ||
      !set(conf, "enable.auto.commit", "false", error) ||
      !set(conf, "queued.min.messages", "1000000", error)) {
    rd_kafka_conf_destroy(conf);
    return false;
  }
  char errstr[512];
  RawHandle consumer{rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr)};
  if (consumer.handle == nullptr) {
    rd_kafka_conf_destroy(conf);
    *error = std::string("raw consumer: ") + errstr;
    return false;
  }
  rd_kafka_t* rk = consumer.handle;
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, topic_name.c_str(), p)->offset = 0;
  }
  const auto assigned = rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (assigned != RD_KAFKA_RESP_ERR_NO_ERROR) {
    *error = std::string("raw assign: ") + rd_kafka_err2str(assigned);
    return false;
  }
  int64_t seen = 0;
  Clock::time_point first;
  const auto deadline = Clock::now() + std::chrono::milliseconds(kTimeoutMs);
  while (seen < records && Clock::now() < deadline) {
    rd_kafka_message_t* message = rd_kafka_consumer_poll(rk, 100);
    if (message == nullptr) continue;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (seen == 0) first = Clock::now();
      ++seen;
    }
    rd_kafka_message_destroy(message);
  }
  *seconds = seen > 0 ? seconds_since(first) : 0;
  rd_kafka_consumer_close(rk);
  if (seen != records) {
    *error = "raw consume: " + std::to_string(seen) + " of " + std::to_string(records) + " records";
    return false;
  }
  return true;
}

// --- the engine ----------------------------------------------------------------

// Appends every request with at most kMaxRecordsInFlight records in flight.
bool engine_append(log::EventLog& event_log, std::vector<AppendRequest> requests, int64_t records,
                   double* seconds, std::string* error) {
  std::mutex mutex;
  std::condition_variable changed;
  int64_t in_flight = 0;
  int64_t completed = 0;
  int64_t failed = 0;
  std::string first_error;

  const auto start = Clock::now();
  for (auto& request : requests) {
    const auto size = static_cast<int64_t>(request.records.size());
    {
      std::unique_lock lock(mutex);
      changed.wait(lock, [&] { return in_flight + size <= kMaxRecordsInFlight; });
      in_flight += size;
    }
    event_log.append_async(std::move(request), [&, size](Result<AppendResult> result) {
      std::lock_guard lock(mutex);
      in_flight -= size;
      completed += size;
      if (!result) {
        failed += size;
        if (first_error.empty()) first_error = result.error().message;
      }
      changed.notify_all();
    });
  }
  {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return completed == records; });
  }
  *seconds = seconds_since(start);
  if (failed > 0) {
    *error = "engine append: " + std::to_string(failed) + " records failed: " + first_error;
    return false;
  }
  return true;
}

bool engine_read(log::EventLog& event_log, const std::string& topic, int64_t records, int round,
                 double* seconds, std::string* error) {
  auto consumer = event_log.subscribe("bench.engine-read." + std::to_string(round), {topic});
  if (!consumer) {
    *error = "engine subscribe: " + consumer.error().message;
    return false;
  }
  int64_t seen = 0;
  Clock::time_point first;
  const auto deadline = Clock::now() + std::chrono::milliseconds(kTimeoutMs);
  while (seen < records && Clock::now() < deadline) {
    auto batch = (*consumer)->poll(10000, std::chrono::milliseconds(100));
    if (!batch) {
      *error = "engine read: " + batch.error().message;
      return false;
    }
    if (seen == 0 && !batch->empty()) first = Clock::now();
    seen += static_cast<int64_t>(batch->size());
  }
  *seconds = seen > 0 ? seconds_since(first) : 0;
  (*consumer)->close();
  if (seen != records) {
    *error = "engine read: " + std::to_string(seen) + " of " + std::to_string(records) + " records";
    return false;
  }
  return true;
}

bool engine_replay(log::EventLog& event_log, const std::string& topic, int partitions,
                   int64_t records, double* seconds, std::string* error) {
  int64_t seen = 0;
  const auto start = Clock::now();
  for (int p = 0; p < partitions; ++p) {
    auto end = event_log.end_offset(topic, p);
    if (!end) {
      *error = "engine replay: " + end.error().message;
      return false;
    }
    auto reader = event_log.open_reader(topic, p, 0);
    if (!reader) {
      *error = "engine replay: " + reader.error().message;
      return false;
    }
    while ((*reader)->position() < *end) {
      auto batch = (*reader)->read(10000, std::chrono::milliseconds(kTimeoutMs));
      if (!batch || batch->empty()) {
        *error = "engine replay: " + (batch ? std::string("no records") : batch.error().message);
        return false;
      }
      seen += static_cast<int64_t>(batch->size());
    }
  }
  *seconds = seconds_since(start);
  if (seen != records) {
    *error = "engine replay: " + std::to_string(seen) + " of " + std::to_string(records);
    return false;
  }
  return true;
}

}  // namespace

std::vector<ThroughputFigure> bench_kafka(const KafkaBenchOptions& options, std::string* error) {
  std::string ignored;
  std::string& why = error != nullptr ? *error : ignored;
  std::vector<ThroughputFigure> figures;
  if (options.records <= 0 || options.value_bytes < 0 || options.partitions <= 0 ||
      options.batch_records <= 0) {
    why = "kafka bench: records, partitions and batch_records must be positive";
    return figures;
  }
  const int64_t bytes_per_partition =
      options.records * (options.value_bytes + kRecordOverheadBytes) / options.partitions;
  if (bytes_per_partition > kMaxBytesPerPartition) {
    why = "kafka bench: ~" + std::to_string(bytes_per_partition / 1024) +
          " KiB per partition exceeds what the mock cluster retains (" +
          std::to_string(kMaxBytesPerPartition / 1024) +
          " KiB): use more partitions or fewer/smaller records";
    return figures;
  }

  auto cluster = log::kafka::MockCluster::start(1);
  if (!cluster) {
    why = "kafka bench: " + cluster.error().message;
    return figures;
  }
  const std::string bootstrap = (*cluster)->bootstrap_servers();
  std::vector<log::TopicSpec> topics = {{kWarmupTopic, 1}};
  for (int round = 0; round < kRounds; ++round) {
    topics.push_back({raw_topic(round), options.partitions});
    topics.push_back({engine_topic(round), options.partitions});
  }
  for (const auto& spec : topics) {
    if (auto created = (*cluster)->create_topic(spec); !created) {
      why = "kafka bench: " + created.error().message;
      return figures;
    }
  }

  log::kafka::KafkaConfig config;
  config.bootstrap_servers = bootstrap;
  config.session_timeout_ms = 6000;  // the mock waits session.timeout.ms - 1 s per rebalance
  config.properties = {{"heartbeat.interval.ms", "500"}};
  auto* mock = cluster->get();
  config.create_topic_hook = [mock](const log::TopicSpec& spec) { return mock->create_topic(spec); };
  auto event_log = log::kafka::open_kafka_log(config);
  if (!event_log) {
    why = "kafka bench: " + event_log.error().message;
    return figures;
  }
  log::EventLog& engine = **event_log;

  // Warm the engine up as the raw producer is: connected, with a producer id
  // and the topic's metadata.
  {
    AppendRequest warmup;
    warmup.records.push_back(Record{kWarmupTopic, "warmup", "", {}, std::nullopt});
    if (auto appended = engine.append(std::move(warmup)); !appended) {
      why = "kafka bench warm-up: " + appended.error().message;
      return figures;
    }
    if (auto count = engine.partition_count(engine_topic(0)); !count) {
      why = "kafka bench warm-up: " + count.error().message;
      return figures;
    }
  }

  // Raw and engine alternate, round after round, so that load from elsewhere
  // on the machine hits both alike; the median round is reported.
  std::vector<double> raw_produce_s, engine_append_s, raw_consume_s, engine_read_s;
  for (int round = 0; round < kRounds; ++round) {
    // Alternate which goes first, so neither always meets the cluster fuller.
    const bool raw_first = round % 2 == 0;
    for (int turn = 0; turn < 2; ++turn) {
      double seconds = 0;
      if ((turn == 0) == raw_first) {
        const auto requests = make_requests(options, raw_topic(round));
        if (!raw_produce(bootstrap, requests, raw_topic(round), options.records, &seconds, &why)) {
          return figures;
        }
        raw_produce_s.push_back(seconds);
      } else {
        auto requests = make_requests(options, engine_topic(round));
        if (!engine_append(engine, std::move(requests), options.records, &seconds, &why)) {
          return figures;
        }
        engine_append_s.push_back(seconds);
      }
    }
  }
  for (int round = 0; round < kRounds; ++round) {
    double seconds = 0;
    if (!raw_consume(bootstrap, engine_topic(round), options.partitions, options.records, round,
                     &seconds, &why)) {
      return figures;
    }
    raw_consume_s.push_back(seconds);
    if (!engine_read(engine, engine_topic(round), options.records, round, &seconds, &why)) {
      return figures;
    }
    engine_read_s.push_back(seconds);
  }
  figures.push_back(figure("kafka.raw_produce", options.records, median(raw_produce_s)));
  figures.push_back(figure("kafka.engine_append", options.records, median(engine_append_s)));
  figures.push_back(figure("kafka.raw_consume", options.records, median(raw_consume_s)));
  figures.push_back(figure("kafka.engine_read", options.records, median(engine_read_s)));

  double seconds = 0;
  if (!engine_replay(engine, engine_topic(0), options.partitions, options.records, &seconds, &why)) {
    return figures;
  }
  figures.push_back(figure("kafka.engine_replay", options.records, seconds));
  return figures;
}

}  // namespace tenantry::bench
