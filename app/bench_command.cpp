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

#include "app/bench/audit_bench.h"
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

double rounded(double value, double places = 1000) { return std::round(value * places) / places; }

Poco::JSON::Object::Ptr mode_json(const bench::ModeFigure& f, double raw_append_per_second) {
  Poco::JSON::Object::Ptr mode = new Poco::JSON::Object;
  Poco::JSON::Object::Ptr saturation = new Poco::JSON::Object;
  saturation->set("commands", f.commands);
  saturation->set("concurrency", f.concurrency);
  saturation->set("seconds", rounded(f.seconds));
  saturation->set("commands_per_second", static_cast<int64_t>(f.commands_per_second));
  if (raw_append_per_second > 0) saturation->set("ratio_to_raw_append", rounded(f.commands_per_second / raw_append_per_second));
  mode->set("saturation", saturation);
  Poco::JSON::Object::Ptr paced = new Poco::JSON::Object;
  paced->set("offered_per_second", f.paced_per_second);
  paced->set("commands", f.paced_commands);
  paced->set("latency_p50_us", std::round(f.latency_p50_us));
  paced->set("latency_p99_us", std::round(f.latency_p99_us));
  paced->set("latency_max_us", std::round(f.latency_max_us));
  mode->set("paced", paced);
  return mode;
}

int run_bench_commands(const std::vector<std::string>& args) {
  const std::vector<OptionSpec> specs = {
      {"tenants", "tenant counts to measure, comma-separated", "10,1000,10000,100000"},
      {"modes", "paths to measure", "in-process,http", OptionKind::choice, {"in-process,http", "in-process", "http"}},
      {"commands", "commands at saturation in process, per tenant count (after registering the tenants)", "20000",
       OptionKind::integer, {}, 100, 10000000},
      {"in-flight", "commands awaiting replies at most, in process at saturation", "1000", OptionKind::integer, {}, 1, 100000},
      {"http-commands", "requests at saturation over HTTP, per tenant count", "5000", OptionKind::integer, {}, 100, 10000000},
      {"http-connections", "HTTP connections at most (lowered to divide the tenant count)", "50", OptionKind::integer, {}, 1, 1000},
      {"paced-rate", "offered commands per second for the latency figures (same for every tenant count)", "500",
       OptionKind::integer, {}, 1, 1000000},
      {"paced-commands", "commands at the offered rate, per mode and tenant count", "2500", OptionKind::integer, {}, 10, 10000000},
      {"partitions", "partitions of Tenantry's topics", "8", OptionKind::integer, {}, 1, 4096},
      {"processors", "command processors in one group sharing the partitions (serve runs one)", "1", OptionKind::integer, {}, 1, 64},
      {"dir", "scratch directory", "var/bench-commands"},
  };
  auto config = load_config(specs, args, [](const char* name) { return std::getenv(name); });
  if (!config) {
    std::fprintf(stderr, "tenantry bench commands: %s\n", config.error().describe().c_str());
    return 2;
  }
  if (config->help_requested()) {
    std::fputs(render_help("tenantry bench commands [options]",
                           "Measures commands through the command processor on the embedded log, in process\n"
                           "and over HTTP (the gateway's routes on a real socket), per tenant count: latency\n"
                           "at a fixed offered load (open loop, from each command's due time), throughput at\n"
                           "saturation beside the raw log append rate in the same run, and memory per tenant.",
                           specs).c_str(), stdout);
    return 0;
  }
  bench::CommandsBenchOptions options;
  options.dir = config->text("dir");
  options.commands = config->integer("commands");
  options.in_flight = static_cast<int>(config->integer("in-flight"));
  options.http_commands = config->integer("http-commands");
  options.http_connections = static_cast<int>(config->integer("http-connections"));
  options.paced_per_second = static_cast<double>(config->integer("paced-rate"));
  options.paced_commands = config->integer("paced-commands");
  options.partitions = static_cast<int>(config->integer("partitions"));
  options.processors = static_cast<int>(config->integer("processors"));
  const std::string modes = config->text("modes");
  options.in_process = modes.find("in-process") != std::string::npos;
  options.http = modes.find("http") != std::string::npos;
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
  result.set("processors", options.processors);
  result.set("in_process", "command client -> commands topic -> processor -> events + replies -> client");
  result.set("http", "Poco clients -> /v1/tenants/{id}/suspend|reactivate on a real socket -> gateway -> same path");
  result.set("cores", static_cast<int>(std::thread::hardware_concurrency()));
  Poco::JSON::Array::Ptr rows = new Poco::JSON::Array;
  for (const auto& f : figures) {
    Poco::JSON::Object::Ptr row = new Poco::JSON::Object;
    row->set("tenants", f.tenants);
    row->set("raw_append_records_per_second", static_cast<int64_t>(f.raw_append_records_per_second));
    if (options.in_process) row->set("in_process", mode_json(f.in_process, f.raw_append_records_per_second));
    if (options.http) row->set("http", mode_json(f.http, f.raw_append_records_per_second));
    row->set("rss_bytes_per_tenant", std::round(f.rss_bytes_per_tenant));
    row->set("state_cache_bytes_per_tenant", std::round(f.state_cache_bytes_per_tenant));
    row->set("gateway_cache_bytes_per_tenant", std::round(f.gateway_cache_bytes_per_tenant));
    row->set("cached_states", f.cached_states);
    rows->add(row);
  }
  result.set("runs", rows);

  // The targets, from this run's own figures.
  Poco::JSON::Array::Ptr targets = new Poco::JSON::Array;
  auto target = [&](const std::string& name, double value, double limit, bool at_least) {
    Poco::JSON::Object::Ptr one = new Poco::JSON::Object;
    one->set("name", name);
    one->set("value", rounded(value));
    one->set(at_least ? "at_least" : "at_most", limit);
    one->set("met", at_least ? value >= limit : value <= limit);
    targets->add(one);
  };
  const bench::CommandsFigure* fewest = nullptr;
  const bench::CommandsFigure* ten_thousand = nullptr;
  for (const auto& f : figures) {
    if (f.tenants == 10) fewest = &f;
    if (f.tenants == 10000) ten_thousand = &f;
  }
  for (const bool http : {false, true}) {
    if (http ? !options.http : !options.in_process) continue;
    const char* mode = http ? "http" : "in_process";
    auto of = [&](const bench::CommandsFigure& f) -> const bench::ModeFigure& { return http ? f.http : f.in_process; };
    if (fewest != nullptr && ten_thousand != nullptr && of(*fewest).latency_p99_us > 0) {
      target(std::string(mode) + ": p99 at 10,000 tenants / p99 at 10 (paced)",
             of(*ten_thousand).latency_p99_us / of(*fewest).latency_p99_us, 1.2, false);
    }
    for (const auto& f : figures) {
      if (f.raw_append_records_per_second <= 0) continue;
      target(std::string(mode) + ": commands/s at saturation / raw append of the same events, " +
                 std::to_string(f.tenants) + " tenants",
             of(f).commands_per_second / f.raw_append_records_per_second, 0.5, true);
    }
  }
  // The memory target is the caches an idle tenant costs, the gateway's and the
  // processor's together. Resident growth while registering (rss_bytes_per_tenant in
  // the rows) also counts the log's and the store's memtables filling with the
  // registrations, which are bounded by their write buffers, not held per tenant: it is
  // reported, not judged.
  for (const auto& f : figures) {
    if (f.tenants < 1000) continue;  // growth over a handful of tenants is noise
    const bool gateway_measured = f.gateway_cache_bytes_per_tenant > 0;
    target(std::string(gateway_measured ? "gateway and processor caches" : "processor state cache") +
               " per idle tenant (bytes), " + std::to_string(f.tenants) + " tenants",
           f.state_cache_bytes_per_tenant + (gateway_measured ? f.gateway_cache_bytes_per_tenant : 0), 2048, false);
  }
  result.set("targets", targets);
  result.stringify(std::cout, 2);
  std::cout << std::endl;
  return 0;
}

Poco::JSON::Object::Ptr throughput_json(const bench::ThroughputFigure& f, int threads) {
  Poco::JSON::Object::Ptr one = new Poco::JSON::Object;
  one->set("records", f.records);
  one->set("seconds", rounded(f.seconds));
  one->set("records_per_second", static_cast<int64_t>(f.records_per_second));
  one->set("threads", threads);
  return one;
}

Poco::JSON::Object::Ptr proof_json(const bench::ProofLatency& latency) {
  Poco::JSON::Object::Ptr one = new Poco::JSON::Object;
  one->set("samples", latency.samples);
  one->set("p50_us", rounded(latency.p50_us, 10));
  one->set("p99_us", rounded(latency.p99_us, 10));
  one->set("max_us", rounded(latency.max_us, 10));
  return one;
}

int run_bench_audit(const std::vector<std::string>& args) {
  const std::vector<OptionSpec> specs = {
      {"events", "events in the log (every tenant's registration, then configuration changes)", "5000000",
       OptionKind::integer, {}, 1000, 1000000000},
      {"tenants", "tenants the events belong to", "10000", OptionKind::integer, {}, 1, 1000000},
      {"partitions", "partitions of the events topic", "32", OptionKind::integer, {}, 1, 4096},
      {"proofs", "proofs sampled per kind (inclusion, consistency, locate and inclusion)", "10000",
       OptionKind::integer, {}, 1, 10000000},
      {"runs", "runs of the read, verify and replay figures; the median is reported", "1", OptionKind::integer, {}, 1, 15},
      {"threads", "threads of the parallel figures (0: one per core)", "0", OptionKind::integer, {}, 0, 64},
      {"dir", "scratch directory (the log is <dir>/log, a --data-dir for `tenantry audit`)", "var/bench-audit"},
      {"keep", "leave the scratch directory in place", "false", OptionKind::boolean},
  };
  auto config = load_config(specs, args, [](const char* name) { return std::getenv(name); });
  if (!config) {
    std::fprintf(stderr, "tenantry bench audit: %s\n", config.error().describe().c_str());
    return 2;
  }
  if (config->help_requested()) {
    std::fputs(render_help("tenantry bench audit [options]",
                           "Builds an event log on the embedded engine as the real writer leaves it (claimed\n"
                           "partitions, sealed and hash-chained events), then measures on that log, in the same\n"
                           "run: the raw read (a reader per partition, and RocksDB's own iterator over the\n"
                           "engine's records), `audit verify`'s verification, replay of every tenant's state\n"
                           "through the aggregate's evolve, building the stored Merkle trees, and inclusion\n"
                           "and consistency proofs read from them. Raw read and verify are measured on one\n"
                           "thread and on --threads, each compared with the raw read of the same width.\n"
                           "Prints JSON.",
                           specs).c_str(), stdout);
    return 0;
  }
  bench::AuditBenchOptions options;
  options.dir = config->text("dir");
  options.events = config->integer("events");
  options.tenants = static_cast<int>(config->integer("tenants"));
  options.partitions = static_cast<int>(config->integer("partitions"));
  options.proofs = config->integer("proofs");
  options.runs = static_cast<int>(config->integer("runs"));
  options.keep = config->boolean("keep");
  options.threads = static_cast<int>(config->integer("threads"));
  if (options.threads == 0) options.threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::string error;
  const auto f = bench::bench_audit(options, &error);
  if (!error.empty()) {
    std::fprintf(stderr, "tenantry bench audit: %s\n", error.c_str());
    return 1;
  }
  Poco::JSON::Object result;
  result.set("benchmark", "audit");
  result.set("engine", "embedded");
  result.set("cores", static_cast<int>(std::thread::hardware_concurrency()));
  result.set("threads", f.threads);
  result.set("runs", options.runs);
  Poco::JSON::Object::Ptr log = new Poco::JSON::Object;
  log->set("events", f.events);
  log->set("tenants", options.tenants);
  log->set("partitions", options.partitions);
  log->set("records", f.records);
  log->set("bytes_per_record", std::round(f.bytes_per_record));
  log->set("payload_bytes_mean", std::round(f.payload_bytes_mean));
  log->set("build_seconds", rounded(f.build_seconds));
  log->set("build_events_per_second",
           static_cast<int64_t>(f.build_seconds > 0 ? static_cast<double>(f.events) / f.build_seconds : 0));
  log->set("settle_seconds", rounded(f.settle_seconds));
  result.set("log", log);

  Poco::JSON::Object::Ptr figures = new Poco::JSON::Object;
  figures->set("raw_rocksdb_scan", throughput_json(f.raw_rocksdb_scan, 1));
  figures->set("raw_read", throughput_json(f.raw_read, 1));
  figures->set("raw_read_parallel", throughput_json(f.raw_read_parallel, f.threads));
  figures->set("verify", throughput_json(f.verify, 1));
  figures->set("verify_parallel", throughput_json(f.verify_parallel, f.threads));
  figures->set("replay_to_state", throughput_json(f.replay, f.threads));
  figures->set("merkle_build", throughput_json(f.merkle_build, 1));
  result.set("figures", figures);

  Poco::JSON::Object::Ptr checks = new Poco::JSON::Object;
  checks->set("verified", f.verified);
  checks->set("verified_events", f.verified_events);
  checks->set("findings", f.findings);
  checks->set("replayed_events", f.replayed_events);
  checks->set("replayed_tenants", f.replayed_tenants);
  checks->set("states_match_sequences", f.states_match_sequences);
  checks->set("stored_roots_match_verify", f.roots_match);
  checks->set("proofs_verified", f.proofs_verified);
  result.set("checks", checks);

  Poco::JSON::Object::Ptr proofs = new Poco::JSON::Object;
  proofs->set("inclusion", proof_json(f.inclusion));
  proofs->set("consistency", proof_json(f.consistency));
  proofs->set("locate_and_inclusion", proof_json(f.locate_and_inclusion));
  result.set("proofs", proofs);

  // Like with like: each figure over the raw read of the same width.
  auto ratio = [](const bench::ThroughputFigure& a, const bench::ThroughputFigure& b) {
    return b.records_per_second > 0 ? a.records_per_second / b.records_per_second : 0.0;
  };
  Poco::JSON::Object::Ptr ratios = new Poco::JSON::Object;
  ratios->set("verify_to_raw_read", rounded(ratio(f.verify, f.raw_read)));
  ratios->set("verify_parallel_to_raw_read_parallel", rounded(ratio(f.verify_parallel, f.raw_read_parallel)));
  ratios->set("replay_to_raw_read_parallel", rounded(ratio(f.replay, f.raw_read_parallel)));
  ratios->set("merkle_build_to_raw_read", rounded(ratio(f.merkle_build, f.raw_read)));
  ratios->set("raw_read_to_raw_rocksdb_scan", rounded(ratio(f.raw_read, f.raw_rocksdb_scan)));
  // Not like with like, for what an auditor's run of `audit verify` sees: verify on
  // every core against one plain reader.
  ratios->set("verify_parallel_to_raw_read", rounded(ratio(f.verify_parallel, f.raw_read)));
  result.set("ratios", ratios);

  // The requirement's targets, from this run's own figures.
  Poco::JSON::Array::Ptr targets = new Poco::JSON::Array;
  auto target = [&](const std::string& name, double value, double limit, bool at_least) {
    Poco::JSON::Object::Ptr one = new Poco::JSON::Object;
    one->set("name", name);
    one->set("value", rounded(value));
    one->set(at_least ? "at_least" : "below", limit);
    one->set("met", at_least ? value >= limit : value < limit);
    targets->add(one);
  };
  target("verify / raw read, 1 thread each", ratio(f.verify, f.raw_read), 0.5, true);
  if (f.threads > 1) {
    target("verify / raw read, " + std::to_string(f.threads) + " threads each",
           ratio(f.verify_parallel, f.raw_read_parallel), 0.5, true);
  }
  target("inclusion proof p99 (us)", f.inclusion.p99_us, 1000, false);
  target("consistency proof p99 (us)", f.consistency.p99_us, 1000, false);
  result.set("targets", targets);
  result.stringify(std::cout, 2);
  std::cout << std::endl;
  return 0;
}

}  // namespace

int run_bench(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs("Usage: tenantry bench <name> [options]\n\nBenchmarks (JSON on stdout):\n"
               "  log        log engines beside raw RocksDB and raw librdkafka\n"
               "  commands   the command processor beside the raw log append rate\n"
               "  audit      log verification, replay and Merkle proofs beside the raw read of the same log\n"
               "  usage      usage ingestion, lag and the quota check beside raw RocksDB write batches\n"
               "  billing    a period close and settling for every tenant beside the raw log append\n",
               args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "log") return run_bench_log(rest);
  if (args[0] == "commands") return run_bench_commands(rest);
  if (args[0] == "audit") return run_bench_audit(rest);
  if (args[0] == "usage") return run_bench_usage(rest);
  if (args[0] == "billing") return run_bench_billing(rest);
  std::fprintf(stderr, "tenantry bench: unknown benchmark '%s'\n", args[0].c_str());
  return 2;
}

}  // namespace tenantry::app
