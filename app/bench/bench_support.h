// What the benchmarks share: tenant ids and registrations, percentiles, resident
// memory, and HS256 tokens minted for the gateway under test.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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

}  // namespace tenantry::bench
