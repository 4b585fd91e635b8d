// `tenantry bench log`: the embedded engine beside raw RocksDB doing the same work
// in the same run.
#pragma once

#include <string>
#include <vector>

#include "app/bench/kafka_bench.h"

namespace tenantry::bench {

struct EmbeddedBenchOptions {
  std::string dir;               // scratch directory (removed afterwards)
  int64_t records = 500000;
  int value_bytes = 200;
  int batch_records = 1000;
  int partitions = 32;
  int tenants = 10000;
  int pipeline_depth = 8;        // appends in flight for the pipelined run
};

struct LatencyFigure {
  std::string name;
  int64_t samples = 0;
  double p50_us = 0;
  double p99_us = 0;
};

// How long after an append is acknowledged a tailing reader has the record:
// single-record appends, one at a time, each fsynced, a reader blocked in read().
LatencyFigure bench_embedded_tail_wake(const EmbeddedBenchOptions& options, int samples, std::string* error);

std::vector<ThroughputFigure> bench_embedded(const EmbeddedBenchOptions& options, std::string* error);

}  // namespace tenantry::bench
