// `tenantry bench commands`: commands per second and latency through the command
// processor (in process: command client -> commands topic -> processor -> events and
// replies), beside the raw log append rate in the same run, per tenant count.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tenantry::bench {

struct CommandsBenchOptions {
  std::string dir;                      // scratch directory (removed afterwards)
  std::vector<int> tenant_counts = {10, 1000, 10000};
  int64_t commands = 20000;             // measured commands per tenant count
  int in_flight = 1000;                 // commands awaiting replies at most
  int partitions = 8;
};

struct CommandsFigure {
  int tenants = 0;
  int64_t commands = 0;
  double seconds = 0;
  double commands_per_second = 0;
  double latency_p50_us = 0;
  double latency_p99_us = 0;
  double raw_append_records_per_second = 0;  // same run, same log engine
  double rss_bytes_per_tenant = 0;           // resident growth while registering, per tenant
};

std::vector<CommandsFigure> bench_commands(const CommandsBenchOptions& options, std::string* error);

}  // namespace tenantry::bench
