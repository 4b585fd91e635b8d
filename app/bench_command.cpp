#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "app/bench/commands_bench.h"
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

int run_bench_commands(const std::vector<std::string>& args) {
  const std::vector<OptionSpec> specs = {
      {"tenants", "tenant counts to measure, comma-separated", "10,1000,10000"},
      {"commands", "commands measured per tenant count (after registering the tenants)", "20000",
       OptionKind::integer, {}, 100, 10000000},
      {"in-flight", "commands awaiting replies at most", "1000", OptionKind::integer, {}, 1, 100000},
      {"partitions", "partitions of Tenantry's topics", "8", OptionKind::integer, {}, 1, 4096},
      {"dir", "scratch directory", "var/bench-commands"},
  };
  auto config = load_config(specs, args, [](const char* name) { return std::getenv(name); });
  if (!config) {
    std::fprintf(stderr, "tenantry bench commands: %s\n", config.error().describe().c_str());
    return 2;
  }
  if (config->help_requested()) {
    std::fputs(render_help("tenantry bench commands [options]",
                           "Measures commands per second and reply latency through the command processor\n"
                           "on the embedded log (in process), per tenant count, beside the raw log\n"
                           "append rate in the same run, and resident memory per registered tenant.",
                           specs).c_str(), stdout);
    return 0;
  }
  bench::CommandsBenchOptions options;
  options.dir = config->text("dir");
  options.commands = config->integer("commands");
  options.in_flight = static_cast<int>(config->integer("in-flight"));
  options.partitions = static_cast<int>(config->integer("partitions"));
  options.tenant_counts.clear();
  std::stringstream list(config->text("tenants"));
  for (std::string part; std::getline(list, part, ',');) {
    int count = 0;
    try {
      count = std::stoi(part);
    } catch (const std::exception&) {
      count = 0;
    }
    if (count < 1 || count > 1000000) {
      std::fprintf(stderr, "tenantry bench commands: option --tenants: '%s' is not a count from 1 to 1000000\n", part.c_str());
      return 2;
    }
    options.tenant_counts.push_back(count);
  }
  std::string error;
  const auto figures = bench::bench_commands(options, &error);
  if (!error.empty()) {
    std::fprintf(stderr, "tenantry bench commands: %s\n", error.c_str());
    return 1;
  }
  Poco::JSON::Object result;
  result.set("benchmark", "commands");
  result.set("engine", "embedded");
  result.set("path", "in process (command client -> commands topic -> processor -> events + replies)");
  result.set("cores", static_cast<int>(std::thread::hardware_concurrency()));
  Poco::JSON::Array::Ptr rows = new Poco::JSON::Array;
  for (const auto& f : figures) {
    Poco::JSON::Object::Ptr row = new Poco::JSON::Object;
    row->set("tenants", f.tenants);
    row->set("commands", f.commands);
    row->set("seconds", f.seconds);
    row->set("commands_per_second", static_cast<int64_t>(f.commands_per_second));
    row->set("latency_p50_us", std::round(f.latency_p50_us));
    row->set("latency_p99_us", std::round(f.latency_p99_us));
    row->set("raw_append_records_per_second", static_cast<int64_t>(f.raw_append_records_per_second));
    row->set("ratio_to_raw_append", std::round(f.commands_per_second / f.raw_append_records_per_second * 1000) / 1000);
    row->set("rss_bytes_per_tenant", std::round(f.rss_bytes_per_tenant));
    rows->add(row);
  }
  result.set("runs", rows);
  if (figures.size() >= 2 && figures.front().latency_p99_us > 0) {
    Poco::JSON::Object::Ptr flat = new Poco::JSON::Object;
    flat->set("p99_most_tenants_over_p99_fewest", std::round(figures.back().latency_p99_us / figures.front().latency_p99_us * 1000) / 1000);
    flat->set("target", 1.2);
    result.set("latency_flatness", flat);
  }
  result.stringify(std::cout, 2);
  std::cout << std::endl;
  return 0;
}

}  // namespace

int run_bench(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs("Usage: tenantry bench <name> [options]\n\nBenchmarks (JSON on stdout):\n"
               "  log        log engines beside raw RocksDB and raw librdkafka\n"
               "  commands   the command processor beside the raw log append rate\n",
               args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "log") return run_bench_log(rest);
  if (args[0] == "commands") return run_bench_commands(rest);
  std::fprintf(stderr, "tenantry bench: unknown benchmark '%s'\n", args[0].c_str());
  return 2;
}

}  // namespace tenantry::app
