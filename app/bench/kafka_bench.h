// Kafka side of the log benchmark: the engine against raw librdkafka, on an
// in-process mock cluster, measured in the same run on the same records.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tenantry::bench {

struct KafkaBenchOptions {
  int64_t records = 500000;
  int value_bytes = 100;
  int partitions = 32;
  int batch_records = 100;  // records per engine append
};

struct ThroughputFigure {
  std::string name;
  int64_t records;
  double seconds;
  double records_per_second;
};

// Figures, in order: kafka.raw_produce, kafka.engine_append, kafka.raw_consume,
// kafka.engine_read (group consumer), kafka.engine_replay (partition readers).
// On failure returns what was measured so far and sets *error (when given).
std::vector<ThroughputFigure> bench_kafka(const KafkaBenchOptions& options, std::string* error);

}  // namespace tenantry::bench
