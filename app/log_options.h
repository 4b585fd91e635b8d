// The options that choose and configure the event log engine, shared by every
// command that opens the log, and the topics Tenantry runs on.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "app/config.h"
#include "connectors/log/event_log.h"

namespace tenantry::app {

std::vector<OptionSpec> log_option_specs();

// Opens the engine named by --engine with its options; creates Tenantry's topics.
log::Result<std::unique_ptr<log::EventLog>> open_configured_log(const Config& config);

// commands, events, replies, usage: all keyed and partitioned by tenant.
std::vector<log::TopicSpec> tenantry_topics(int32_t partitions);

}  // namespace tenantry::app
