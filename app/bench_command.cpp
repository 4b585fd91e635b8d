#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <thread>

#include "app/bench/kafka_bench.h"
#include "app/bench/log_bench.h"
#include "app/commands.h"
#include "app/config.h"

namespace tenantry::app {

namespace {

std::vector<OptionSpec> bench_log_specs() {
  return {
      {"records", "records appended and read per engine and run", "500000", OptionKind::integer, {}, 1000, 100000000},
      {"batch-records", "records per append (and per raw write batch)", "1000", OptionKind::integer, {}, 1, 100000},
      {"embedded-value-bytes", "value size for the embedded engine", "200", OptionKind::integer, {}, 1, 1 << 20},
      {"kafka-value-bytes", "value size for the Kafka engine", "100", OptionKind::integer, {}, 1, 1 << 20},
      {"kafka-records", "records for the Kafka engine (the mock keeps ~5 MiB per partition)", "500000",
       OptionKind::integer, {}, 1000, 100000000},
      {"partitions", "partitions of the benchmark topics", "32", OptionKind::integer, {}, 1, 4096},
      {"engines", "which engines to measure", "embedded,kafka", OptionKind::choice,
       {"embedded,kafka", "embedded", "kafka"}},
      {"runs", "runs per figure; the median is reported", "3", OptionKind::integer, {}, 1, 15},
      {"dir", "scratch directory for the embedded runs", "var/bench-log"},
  };
}

// Median by records_per_second over runs of the same named figure.
std::map<std::string, bench::ThroughputFigure> medians(const std::vector<std::vector<bench::ThroughputFigure>>& runs) {
  std::map<std::string, std::vector<bench::ThroughputFigure>> by_name;
  for (const auto& run : runs) {
    for (const auto& f : run) by_name[f.name].push_back(f);
  }
  std::map<std::string, bench::ThroughputFigure> out;
  for (auto& [name, list] : by_name) {
    std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.records_per_second < b.records_per_second; });
    out[name] = list[list.size() / 2];
  }
  return out;
}

Poco::JSON::Object::Ptr figures_json(const std::map<std::string, bench::ThroughputFigure>& figures,
                                     const std::vector<std::tuple<std::string, std::string, std::string, double>>& ratios) {
  Poco::JSON::Object::Ptr object = new Poco::JSON::Object;
  Poco::JSON::Object::Ptr list = new Poco::JSON::Object;
  for (const auto& [name, f] : figures) {
    Poco::JSON::Object::Ptr one = new Poco::JSON::Object;
    one->set("records", f.records);
    one->set("seconds", f.seconds);
    one->set("records_per_second", static_cast<int64_t>(f.records_per_second));
    list->set(name, one);
  }
  object->set("figures", list);
  Poco::JSON::Array::Ptr ratio_list = new Poco::JSON::Array;
  for (const auto& [name, engine, raw, target] : ratios) {
    auto e = figures.find(engine);
    auto r = figures.find(raw);
    if (e == figures.end() || r == figures.end() || r->second.records_per_second <= 0) continue;
    const double ratio = e->second.records_per_second / r->second.records_per_second;
    Poco::JSON::Object::Ptr one = new Poco::JSON::Object;
    one->set("name", name);
    one->set("engine", engine);
    one->set("raw", raw);
    one->set("ratio", std::round(ratio * 1000) / 1000);
    if (target > 0) {
      one->set("target", target);
      one->set("meets_target", ratio >= target);
    }
    ratio_list->add(one);
  }
  object->set("ratios", ratio_list);
  return object;
}

int run_bench_log(const std::vector<std::string>& args) {
  const auto specs = bench_log_specs();
  auto config = load_config(specs, args, [](const char* name) { return std::getenv(name); });
  if (!config) {
    std::fprintf(stderr, "tenantry bench log: %s\n", config.error().describe().c_str());
    return 2;
  }
  if (config->help_requested()) {
    std::fputs(render_help("tenantry bench log [options]",
                           "Measures append and read throughput of each log engine beside the raw\n"
                           "library doing the same work in the same run, and prints JSON.",
                           specs).c_str(), stdout);
    return 0;
  }
  const std::string engines = config->text("engines");
  const int runs = static_cast<int>(config->integer("runs"));
  Poco::JSON::Object result;
  result.set("benchmark", "log");
  result.set("cores", static_cast<int>(std::thread::hardware_concurrency()));
  result.set("runs", runs);

  if (engines.find("embedded") != std::string::npos) {
    bench::EmbeddedBenchOptions options;
    options.dir = config->text("dir");
    options.records = config->integer("records");
    options.batch_records = static_cast<int>(config->integer("batch-records"));
    options.value_bytes = static_cast<int>(config->integer("embedded-value-bytes"));
    options.partitions = static_cast<int>(config->integer("partitions"));
    std::vector<std::vector<bench::ThroughputFigure>> all;
    for (int run = 0; run < runs; ++run) {
      std::string error;
      all.push_back(bench::bench_embedded(options, &error));
      if (!error.empty()) {
        std::fprintf(stderr, "tenantry bench log: embedded: %s\n", error.c_str());
        return 1;
      }
    }
    auto object = figures_json(medians(all), {
        {"append (fsync per batch)", "embedded.engine_append", "embedded.raw_rocksdb_write_batch", 0.7},
        {"append pipelined (group commit)", "embedded.engine_append_pipelined", "embedded.raw_rocksdb_write_batch", 0.7},
        {"read", "embedded.engine_read", "embedded.raw_rocksdb_scan", 0},
    });
    object->set("records", options.records);
    object->set("batch_records", options.batch_records);
    object->set("value_bytes", options.value_bytes);
    object->set("partitions", options.partitions);
    std::string error;
    const auto wake = bench::bench_embedded_tail_wake(options, 2000, &error);
    if (!error.empty()) {
      std::fprintf(stderr, "tenantry bench log: embedded tail wake: %s\n", error.c_str());
      return 1;
    }
    Poco::JSON::Object::Ptr latency = new Poco::JSON::Object;
    latency->set("samples", wake.samples);
    latency->set("p50_us", std::round(wake.p50_us * 10) / 10);
    latency->set("p99_us", std::round(wake.p99_us * 10) / 10);
    latency->set("target_us", 1000);
    object->set(wake.name, latency);
    result.set("embedded", object);
  }
  if (engines.find("kafka") != std::string::npos) {
    bench::KafkaBenchOptions options;
    options.records = config->integer("kafka-records");
    options.value_bytes = static_cast<int>(config->integer("kafka-value-bytes"));
    options.partitions = static_cast<int>(config->integer("partitions"));
    options.batch_records = static_cast<int>(std::min<int64_t>(config->integer("batch-records"), 1000));
    std::vector<std::vector<bench::ThroughputFigure>> all;
    for (int run = 0; run < runs; ++run) {
      std::string error;
      all.push_back(bench::bench_kafka(options, &error));
      if (!error.empty()) {
        std::fprintf(stderr, "tenantry bench log: kafka: %s\n", error.c_str());
        return 1;
      }
    }
    auto object = figures_json(medians(all), {
        {"produce", "kafka.engine_append", "kafka.raw_produce", 0.8},
        {"read", "kafka.engine_read", "kafka.raw_consume", 0},
    });
    object->set("records", options.records);
    object->set("batch_records", options.batch_records);
    object->set("value_bytes", options.value_bytes);
    object->set("partitions", options.partitions);
    result.set("kafka", object);
  }
  result.stringify(std::cout, 2);
  std::cout << std::endl;
  return 0;
}

}  // namespace

int run_bench(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs("Usage: tenantry bench <name> [options]\n\nBenchmarks (JSON on stdout):\n"
               "  log   log engines beside raw RocksDB and raw librdkafka\n",
               args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "log") return run_bench_log(rest);
  std::fprintf(stderr, "tenantry bench: unknown benchmark '%s'\n", args[0].c_str());
  return 2;
}

}  // namespace tenantry::app
