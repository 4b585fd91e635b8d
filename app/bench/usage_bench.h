// `tenantry bench usage`: usage ingestion end to end (the topic path: durable appends
// to tenantry.usage and the metering projection with dedup and every aggregate; and
// HTTP batches through POST /v1/usage on a real socket), ingestion-to-queryable lag,
// and the request guard's quota check, beside a raw RocksDB write batch of the same
// records (one dedup key and the aggregate updates per event) in the same run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tenantry::bench {

struct UsageBenchOptions {
  std::string dir;                 // scratch directory (removed afterwards)
  int tenants = 10000;
  int64_t events = 500000;         // topic path and raw baseline
  int64_t http_events = 100000;
  int http_batch = 100;            // events per POST
  int http_connections = 8;
  int lag_samples = 300;
  int64_t quota_checks = 1000000;
  int partitions = 8;
};

struct UsageFigures {
  int64_t events = 0;
  double raw_write_events_per_second = 0;  // raw RocksDB write batches, same records
  int64_t raw_keys_per_event = 0;
  double topic_events_per_second = 0;      // appended durably and counted by the projection
  double topic_seconds = 0;
  int64_t http_events = 0;
  double http_events_per_second = 0;       // accepted (202) over HTTP, durable
  double lag_p50_us = 0;                   // one event appended -> visible to a usage query
  double lag_p99_us = 0;
  double lag_max_us = 0;
  double quota_check_ns = 0;               // the guard's admit + release, per request (median round)
  std::vector<double> quota_check_rounds_ns;
  int64_t duplicates_seen = 0;             // the projection's count of retried ids (the run sends 1%)
};

UsageFigures bench_usage(const UsageBenchOptions& options, std::string* error);

}  // namespace tenantry::bench
