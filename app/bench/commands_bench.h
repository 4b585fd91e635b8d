// `tenantry bench commands`: commands per second and latency through the command
// processor, in process (command client -> commands topic -> processor -> events and
// replies) and over HTTP (Poco clients -> the gateway's /v1 routes on a real socket ->
// the same path), beside the raw log append rate in the same run, per tenant count.
//
// Two figures per mode: latency at a fixed offered load (open loop, the same rate for
// every tenant count, below saturation, measured from each command's scheduled send
// time so a stall counts against it), and throughput at saturation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tenantry::bench {

struct CommandsBenchOptions {
  std::string dir;                      // scratch directory (removed afterwards)
  std::vector<int> tenant_counts = {10, 1000, 10000, 100000};
  bool in_process = true;
  bool http = true;
  int64_t commands = 20000;             // saturation commands in process, per tenant count
  int in_flight = 1000;                 // commands awaiting replies at most (in process, saturation)
  int64_t http_commands = 5000;         // saturation requests over HTTP, per tenant count
  int http_connections = 50;            // at most; lowered to divide the tenant count (see .cpp)
  double paced_per_second = 500;        // offered load for the latency figures
  int64_t paced_commands = 2500;        // per mode and tenant count
  int partitions = 8;
  int processors = 1;                   // command processors in one group (serve runs one)
};

struct ModeFigure {
  int64_t commands = 0;                 // at saturation
  double seconds = 0;
  double commands_per_second = 0;
  int concurrency = 0;                  // commands awaiting replies (in process) or connections (HTTP)
  int64_t paced_commands = 0;
  double paced_per_second = 0;          // offered
  double latency_p50_us = 0;            // at the offered load
  double latency_p99_us = 0;
  double latency_max_us = 0;
};

struct CommandsFigure {
  int tenants = 0;
  ModeFigure in_process;
  ModeFigure http;
  double raw_append_records_per_second = 0;  // same run, same log engine
  double rss_bytes_per_tenant = 0;           // resident growth while registering, per tenant
  double state_cache_bytes_per_tenant = 0;   // the processor's decoded states, as it counts them
  // Resident growth while the gateway's tenant context cache fills with every tenant
  // (HTTP mode), per tenant.
  double gateway_cache_bytes_per_tenant = 0;
  int64_t cached_states = 0;
};

std::vector<CommandsFigure> bench_commands(const CommandsBenchOptions& options, std::string* error);

}  // namespace tenantry::bench
