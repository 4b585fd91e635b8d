// `tenantry bench usage`: its options, and its figures as JSON with the targets
// evaluated from this run's own numbers.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "app/bench/usage_bench.h"
#include "app/commands.h"
#include "app/config.h"

namespace tenantry::app {

namespace {

double round_to(double value, double unit) { return std::round(value / unit) * unit; }

}  // namespace

int run_bench_usage(const std::vector<std::string>& args) {
  const std::vector<OptionSpec> specs = {
      {"tenants", "tenants the events are spread over", "10000", OptionKind::integer, {}, 1, 1000000},
      {"events", "events on the topic path and in the raw baseline", "500000", OptionKind::integer, {}, 1000, 100000000},
      {"http-events", "events POSTed over HTTP", "100000", OptionKind::integer, {}, 100, 100000000},
      {"http-batch", "events per POST", "100", OptionKind::integer, {}, 1, 1000},
      {"http-connections", "concurrent HTTP clients", "8", OptionKind::integer, {}, 1, 256},
      {"lag-samples", "events timed from append to queryable", "300", OptionKind::integer, {}, 1, 100000},
      {"quota-checks", "request guard admissions timed", "1000000", OptionKind::integer, {}, 1000, 1000000000},
      {"partitions", "partitions of the topics", "8", OptionKind::integer, {}, 1, 1024},
      {"dir", "scratch directory", "var/bench-usage"},
  };
  auto config = load_config(specs, args, [](const char* name) { return std::getenv(name); });
  if (!config) {
    std::fprintf(stderr, "tenantry bench usage: %s\n", config.error().describe().c_str());
    return 2;
  }
  if (config->help_requested()) {
    std::fputs(render_help("tenantry bench usage [options]",
                           "Usage ingestion (topic path and HTTP), ingestion-to-queryable lag and the quota check,\n"
                           "beside raw RocksDB write batches of the same records, as JSON.",
                           specs)
                   .c_str(),
               stdout);
    return 0;
  }
  bench::UsageBenchOptions options;
  options.dir = config->text("dir");
  options.tenants = static_cast<int>(config->integer("tenants"));
  options.events = config->integer("events");
  options.http_events = config->integer("http-events");
  options.http_batch = static_cast<int>(config->integer("http-batch"));
  options.http_connections = static_cast<int>(config->integer("http-connections"));
  options.lag_samples = static_cast<int>(config->integer("lag-samples"));
  options.quota_checks = config->integer("quota-checks");
  options.partitions = static_cast<int>(config->integer("partitions"));
  std::string error;
  const auto f = bench::bench_usage(options, &error);
  if (!error.empty()) {
    std::fprintf(stderr, "tenantry bench usage: %s\n", error.c_str());
    return 1;
  }
  Poco::JSON::Object result;
  result.set("benchmark", "usage");
  result.set("engine", "embedded");
  result.set("cores", static_cast<int>(std::thread::hardware_concurrency()));
  result.set("tenants", options.tenants);
  result.set("meters", "one SUM meter; every event feeds 4 windows for its tenant and for the platform");
  Poco::JSON::Object::Ptr raw = new Poco::JSON::Object;
  raw->set("events", f.events);
  raw->set("keys_per_event", f.raw_keys_per_event);
  raw->set("events_per_second", static_cast<int64_t>(f.raw_write_events_per_second));
  result.set("raw_rocksdb_write_batch", raw);
  Poco::JSON::Object::Ptr topic = new Poco::JSON::Object;
  topic->set("events", f.events);
  topic->set("seconds", round_to(f.topic_seconds, 0.001));
  topic->set("events_per_second", static_cast<int64_t>(f.topic_events_per_second));
  topic->set("path", "durable appends to tenantry.usage (fsynced group commit) -> metering projection (dedup + "
                     "aggregates + offsets in one write)");
  topic->set("duplicates_passed_over", f.duplicates_seen);
  result.set("topic_path", topic);
  Poco::JSON::Object::Ptr http = new Poco::JSON::Object;
  http->set("events", f.http_events);
  http->set("batch", options.http_batch);
  http->set("connections", options.http_connections);
  http->set("events_per_second", static_cast<int64_t>(f.http_events_per_second));
  result.set("http", http);
  Poco::JSON::Object::Ptr lag = new Poco::JSON::Object;
  lag->set("samples", options.lag_samples);
  lag->set("p50_us", round_to(f.lag_p50_us, 1));
  lag->set("p99_us", round_to(f.lag_p99_us, 1));
  lag->set("max_us", round_to(f.lag_max_us, 1));
  result.set("ingestion_to_queryable", lag);
  result.set("quota_check_ns", round_to(f.quota_check_ns, 1));
  Poco::JSON::Array::Ptr rounds = new Poco::JSON::Array;
  for (const double ns : f.quota_check_rounds_ns) rounds->add(round_to(ns, 1));
  result.set("quota_check_rounds_ns", rounds);

  Poco::JSON::Array::Ptr targets = new Poco::JSON::Array;
  auto target = [&](const std::string& name, double value, double limit, bool at_least) {
    Poco::JSON::Object::Ptr one = new Poco::JSON::Object;
    one->set("name", name);
    one->set("value", round_to(value, 0.001));
    one->set(at_least ? "at_least" : "at_most", limit);
    one->set("met", at_least ? value >= limit : value <= limit);
    targets->add(one);
  };
  target("topic-path ingestion / raw write batch of the same records", f.topic_events_per_second / f.raw_write_events_per_second,
         0.5, true);
  target("topic-path ingestion events/s", f.topic_events_per_second, 100000, true);
  target("quota check per request (microseconds)", f.quota_check_ns / 1000, 2, false);
  target("ingestion to queryable p99 (seconds)", f.lag_p99_us / 1e6, 1, false);
  result.set("targets", targets);
  result.stringify(std::cout, 2);
  std::cout << std::endl;
  return 0;
}

}  // namespace tenantry::app
