// The Kafka engine of the event log (see connectors/log/event_log.h for the
// contract). Built on librdkafka's C API so that every outcome is a value.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "connectors/log/event_log.h"

namespace tenantry::log::kafka {

struct KafkaConfig {
  std::string bootstrap_servers;
  std::string client_id = "tenantry";
  // Empty: no transactions (records, then group offsets, are committed one after
  // the other). Set: every append is one Kafka transaction.
  std::string transactional_id;
  int32_t replication_factor = -1;  // for created topics; -1 = broker default
  int session_timeout_ms = 10000;   // consumer groups
  // Extra librdkafka properties, applied last (they win), named as librdkafka
  // names them, e.g. {"heartbeat.interval.ms", "500"}. Applied to every handle
  // the engine creates (producer and consumers); a consumer-only property is
  // ignored by the producer and vice versa. An unknown property is an error.
  std::vector<std::pair<std::string, std::string>> properties;
  // When set, used instead of the admin API to create a missing topic (the mock
  // cluster has no CreateTopics).
  std::function<Result<void>(const TopicSpec&)> create_topic_hook;
  // Upper bound for one blocking broker round trip the engine makes on the
  // caller's behalf (metadata, watermarks, commits, transaction steps).
  int operation_timeout_ms = 30000;
};

// Opens the engine: creates the producer, checks the cluster is reachable and,
// with a transactional id, initialises transactions. A bad configuration is
// invalid_argument naming the librdkafka property at fault.
Result<std::unique_ptr<EventLog>> open_kafka_log(const KafkaConfig& config);

}  // namespace tenantry::log::kafka
