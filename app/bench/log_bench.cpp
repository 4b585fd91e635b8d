#include "app/bench/log_bench.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>
#include <algorithm>

#include "connectors/log/embedded/embedded_log.h"
#include "connectors/log/embedded/record_codec.h"

namespace tenantry::bench {

namespace {

using Clock = std::chrono::steady_clock;

ThroughputFigure figure(std::string name, int64_t records, Clock::time_point start) {
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return ThroughputFigure{std::move(name), records, seconds, seconds > 0 ? records / seconds : 0};
}

struct Workload {
  std::vector<std::string> keys;    // tenant ids
  std::vector<std::string> values;  // a pool of random values, reused round-robin
};

Workload make_workload(const EmbeddedBenchOptions& options) {
  std::mt19937_64 random(42);
  Workload workload;
  for (int t = 0; t < options.tenants; ++t) {
    char id[40];
    std::snprintf(id, sizeof id, "tenant-%010d-%014llx", t, static_cast<unsigned long long>(random() >> 8));
    workload.keys.emplace_back(id);
  }
  for (int v = 0; v < 1024; ++v) {
    std::string value(static_cast<size_t>(options.value_bytes), '\0');
    for (auto& c : value) c = static_cast<char>('a' + random() % 26);
    workload.values.push_back(std::move(value));
  }
  return workload;
}

// Raw RocksDB, configured as the engine configures it: the same number of records,
// keyed as the engine keys them, in write batches of the same size, fsynced.
// A plain RocksDB with the options the engine runs with.
std::unique_ptr<rocksdb::DB> open_raw(const std::string& path, std::string* error) {
  rocksdb::Options db_options;
  log::embedded::EmbeddedOptions embedded;
  log::embedded::tune_rocksdb_options(db_options, embedded);
  rocksdb::DB* db = nullptr;
  auto status = rocksdb::DB::Open(db_options, path, &db);
  if (!status.ok()) *error = status.ToString();
  return std::unique_ptr<rocksdb::DB>(db);
}

ThroughputFigure raw_write(const EmbeddedBenchOptions& options, const Workload& workload, const std::string& path,
                           std::string* error) {
  auto db = open_raw(path, error);
  if (!db) return {};
  rocksdb::Status status;
  std::vector<int64_t> next(static_cast<size_t>(options.partitions), 0);
  rocksdb::WriteOptions write;
  write.sync = true;
  const auto start = Clock::now();
  for (int64_t done = 0; done < options.records;) {
    rocksdb::WriteBatch batch;
    for (int i = 0; i < options.batch_records && done < options.records; ++i, ++done) {
      const std::string& key = workload.keys[static_cast<size_t>(done) % workload.keys.size()];
      const int32_t partition = log::partition_for_key(key, options.partitions);
      batch.Put(log::embedded::record_key(1, partition, next[static_cast<size_t>(partition)]++),
                workload.values[static_cast<size_t>(done) % workload.values.size()]);
    }
    status = db->Write(write, &batch);
    if (!status.ok()) {
      *error = status.ToString();
      break;
    }
  }
  auto result = figure("embedded.raw_rocksdb_write_batch", options.records, start);
  return result;
}

ThroughputFigure raw_scan(const EmbeddedBenchOptions& options, const std::string& path, std::string* error) {
  auto db = open_raw(path, error);
  if (!db) return {};
  const auto start = Clock::now();
  int64_t count = 0;
  size_t bytes = 0;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    // Copy out, as any reader that hands records on must.
    std::string key = it->key().ToString();
    std::string value = it->value().ToString();
    bytes += key.size() + value.size();
    ++count;
  }
  auto result = figure("embedded.raw_rocksdb_scan", count, start);
  it.reset();
  if (bytes == 0) *error = "raw scan read nothing";
  return result;
}

log::Record record_for(const Workload& workload, int64_t index) {
  return log::Record{"bench", workload.keys[static_cast<size_t>(index) % workload.keys.size()],
                     workload.values[static_cast<size_t>(index) % workload.values.size()], {}, std::nullopt};
}

}  // namespace

std::vector<ThroughputFigure> bench_embedded(const EmbeddedBenchOptions& options, std::string* error) {
  namespace fs = std::filesystem;
  std::vector<ThroughputFigure> figures;
  const Workload workload = make_workload(options);
  const fs::path root = options.dir;
  fs::remove_all(root);
  fs::create_directories(root);

  // 1. Raw RocksDB write batches, then a raw scan of what they wrote.
  figures.push_back(raw_write(options, workload, (root / "raw").string(), error));
  if (!error->empty()) return figures;
  figures.push_back(raw_scan(options, (root / "raw").string(), error));
  if (!error->empty()) return figures;

  // 2. The engine: blocking appends of the same batches (one fsync each, as raw).
  {
    log::embedded::EmbeddedOptions engine_options;
    engine_options.path = (root / "engine").string();
    auto log = log::embedded::open_embedded_log(engine_options);
    if (!log) {
      *error = log.error().message;
      return figures;
    }
    if (auto created = (*log)->create_topic({"bench", options.partitions}); !created) {
      *error = created.error().message;
      return figures;
    }
    auto start = Clock::now();
    for (int64_t done = 0; done < options.records;) {
      log::AppendRequest request;
      request.records.reserve(static_cast<size_t>(options.batch_records));
      for (int i = 0; i < options.batch_records && done < options.records; ++i, ++done) {
        request.records.push_back(record_for(workload, done));
      }
      if (auto appended = (*log)->append(std::move(request)); !appended) {
        *error = appended.error().message;
        return figures;
      }
    }
    figures.push_back(figure("embedded.engine_append", options.records, start));

    // 3. The engine pipelined: several appends in flight share one fsync (group commit).
    if (auto created = (*log)->create_topic({"bench-pipelined", options.partitions}); !created) {
      *error = created.error().message;
      return figures;
    }
    std::mutex mutex;
    std::condition_variable cv;
    int in_flight = 0;
    std::string failure;
    start = Clock::now();
    for (int64_t done = 0; done < options.records;) {
      log::AppendRequest request;
      for (int i = 0; i < options.batch_records && done < options.records; ++i, ++done) {
        auto record = record_for(workload, done);
        record.topic = "bench-pipelined";
        request.records.push_back(std::move(record));
      }
      {
        std::unique_lock lock(mutex);
        cv.wait(lock, [&] { return in_flight < options.pipeline_depth; });
        ++in_flight;
      }
      (*log)->append_async(std::move(request), [&](log::Result<log::AppendResult> result) {
        std::lock_guard lock(mutex);
        if (!result && failure.empty()) failure = result.error().message;
        --in_flight;
        cv.notify_all();
      });
    }
    {
      std::unique_lock lock(mutex);
      cv.wait(lock, [&] { return in_flight == 0; });
    }
    if (!failure.empty()) {
      *error = failure;
      return figures;
    }
    figures.push_back(figure("embedded.engine_append_pipelined", options.records, start));

    // 4. The engine reading every partition of the first topic back.
    start = Clock::now();
    int64_t read = 0;
    for (int32_t p = 0; p < options.partitions; ++p) {
      auto reader = (*log)->open_reader("bench", p, 0);
      if (!reader) {
        *error = reader.error().message;
        return figures;
      }
      for (;;) {
        auto records = (*reader)->read(4096, std::chrono::milliseconds(0));
        if (!records) {
          *error = records.error().message;
          return figures;
        }
        if (records->empty()) break;
        read += static_cast<int64_t>(records->size());
      }
    }
    figures.push_back(figure("embedded.engine_read", read, start));
    if (read != options.records) *error = "engine read " + std::to_string(read) + " records, wrote " + std::to_string(options.records);
  }
  fs::remove_all(root);
  return figures;
}

LatencyFigure bench_embedded_tail_wake(const EmbeddedBenchOptions& options, int samples, std::string* error) {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(options.dir) / "tail";
  fs::remove_all(root);
  fs::create_directories(root);
  LatencyFigure result{"embedded.tail_wake_after_ack", samples, 0, 0};
  {
    log::embedded::EmbeddedOptions engine_options;
    engine_options.path = (root / "engine").string();
    auto log = log::embedded::open_embedded_log(engine_options);
    if (!log || !(*log)->create_topic({"tail", 1})) {
      *error = "cannot open the tail benchmark log";
      return result;
    }
    auto reader = (*log)->open_reader("tail", 0, 0);
    if (!reader) {
      *error = reader.error().message;
      return result;
    }
    // The reader stamps when it has each record; the writer stamps each ack. A
    // reader can have a record before the writer's ack returns: that counts as 0.
    std::vector<Clock::time_point> received(static_cast<size_t>(samples));
    std::vector<Clock::time_point> acknowledged(static_cast<size_t>(samples));
    std::thread tailer([&] {
      for (int got = 0; got < samples;) {
        auto records = (*reader)->read(16, std::chrono::milliseconds(5000));
        if (!records || records->empty()) return;
        const auto now = Clock::now();
        for (size_t i = 0; i < records->size(); ++i) received[static_cast<size_t>(got++)] = now;
      }
    });
    for (int i = 0; i < samples; ++i) {
      log::AppendRequest request;
      request.records.push_back(log::Record{"tail", "acme", std::to_string(i), {}, 0});
      if (auto appended = (*log)->append(std::move(request)); !appended) {
        *error = appended.error().message;
        break;
      }
      acknowledged[static_cast<size_t>(i)] = Clock::now();
    }
    tailer.join();
    std::vector<double> waits_us;
    for (int i = 0; i < samples; ++i) {
      const auto wait = std::chrono::duration<double, std::micro>(received[static_cast<size_t>(i)] -
                                                                  acknowledged[static_cast<size_t>(i)]).count();
      waits_us.push_back(std::max(0.0, wait));
    }
    std::sort(waits_us.begin(), waits_us.end());
    if (!waits_us.empty()) {
      result.p50_us = waits_us[waits_us.size() / 2];
      result.p99_us = waits_us[std::min(waits_us.size() - 1, waits_us.size() * 99 / 100)];
    }
  }
  fs::remove_all(root);
  return result;
}

}  // namespace tenantry::bench
