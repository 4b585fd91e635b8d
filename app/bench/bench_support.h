// What the benchmarks share: tenant ids and registrations, percentiles, resident
// memory, and HS256 tokens minted for the gateway under test.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/log/event_log.h"
#include "tenantry/v1/command.pb.h"

namespace tenantry::bench {

// Resident set size from /proc/self/statm.
int64_t resident_bytes();
// "tenant-<index>".
std::string tenant_id(int index);
// RegisterTenant for tenant_id(index), slug "bench-<index>", command id "register-<index>".
v1::CommandEnvelope registration(int index, const std::string& plan = "basic");
// The value at fraction p of the sorted values (0 for none).
double percentile(std::vector<double> values, double p);
std::string base64url(std::string_view raw);
// An HS256 JWT for subject "bench" with these roles (a JSON array), valid for an hour.
std::string mint_token(const std::string& secret, const std::string& roles_json = R"(["platform_admin"])");

// The embedded log at `path` with every Tenantry topic created; null and `error` set
// when it cannot be.
std::unique_ptr<log::EventLog> open_bench_log(const std::string& path, int partitions, std::string* error);
// The raw log's rate for `records` (their topics must exist): appended in batches of
// `batch` (500: the command processor's) with 8 in flight, as the processor pipelines
// its own. Records/s.
double append_pipelined(log::EventLog& log, std::vector<log::Record> records, std::string* error,
                        size_t batch = 500);

}  // namespace tenantry::bench
