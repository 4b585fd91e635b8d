// The meters the metering projection aggregates by: the built-in ones (the gateway's
// own API metering, storage) and those of a meters file:
//
//   {"meters": [{"name": "tokens", "eventType": "llm.completion", "aggregation": "SUM",
//                "valueProperty": "$.tokens", "groupBy": ["$.model"]}]}
//
// A meter applies from the moment it is configured; `tenantry projections rebuild usage`
// applies it to the usage already on the log.
#pragma once

#include <expected>
#include <string>
#include <vector>

#include "app/config.h"
#include "domain/usage/meter.h"
#include "projections/usage/usage_model.h"

namespace tenantry::app {

// api_calls, api_request_bytes, api_response_bytes (type tenantry.api.requests, SUM)
// and storage_bytes (type tenantry.storage.used, LATEST of $.bytes).
std::vector<domain::usage::MeterDefinition> builtin_meters();

// The built-in meters and the file's ("": none); errors name the file and the field,
// e.g. "meters[2].aggregation: must be one of COUNT, SUM, MAX, MIN, UNIQUE_COUNT, LATEST".
std::expected<std::vector<domain::usage::MeterDefinition>, std::string> configured_meters(const std::string& path);

// The options that decide what usage counts: --meters-file, --usage-dedup-window-s,
// --usage-max-age-days, --usage-max-future-s. `serve` and `projections rebuild usage`
// both take them, so a rebuild counts what serve counted.
std::vector<OptionSpec> usage_option_specs();
// The metering projection's options from them (the zone offsets and partitions are the
// caller's); the error names the option at fault.
std::expected<projections::UsageModelOptions, std::string> usage_model_options(const Config& config);

}  // namespace tenantry::app
