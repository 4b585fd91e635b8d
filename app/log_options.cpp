#include "app/log_options.h"

#include <filesystem>

#include "connectors/log/embedded/embedded_log.h"
#include "connectors/log/kafka/kafka_log.h"

namespace tenantry::app {

std::vector<OptionSpec> log_option_specs() {
  return {
      {"engine", "event log engine", "embedded", OptionKind::choice, {"embedded", "kafka"}},
      {"data-dir", "directory of the embedded log and local state", "var/data"},
      {"partitions", "partitions of each Tenantry topic (fixed once created)", "8", OptionKind::integer, {}, 1, 4096},
      {"fsync", "fsync every group commit of the embedded log", "true", OptionKind::boolean},
      {"kafka-bootstrap", "Kafka bootstrap servers (host:port,...), required with --engine kafka", ""},
      {"kafka-transactional-id", "transactional.id: appends become Kafka transactions when set", ""},
      {"kafka-replication-factor", "replication factor of topics the engine creates (-1: broker default)", "-1",
       OptionKind::integer, {}, -1, 32},
      {"kafka-property", "extra librdkafka property as name=value", "", OptionKind::text, {}, INT64_MIN, INT64_MAX, true},
  };
}

std::vector<log::TopicSpec> tenantry_topics(int32_t partitions) {
  return {{"tenantry.commands", partitions},
          {"tenantry.events", partitions},
          {"tenantry.replies", partitions},
          {"tenantry.usage", partitions},
          {"tenantry.audit", partitions},
          // Quota alerts (tenantry.v1.QuotaAlert), delivered as webhooks.
          {"tenantry.alerts", partitions},
          // API key records (connectors/http/auth/log_api_key_store.h): keyed by key id,
          // one ordered partition; listed here so a development broker creates it too.
          {"tenantry.api-keys", 1},
          // Slugs and custom domains: one ordered partition is the arbiter of races.
          {"tenantry.names", 1},
          // Signed checkpoints of the events topic's Merkle trees, in publication order.
          {"tenantry.checkpoints", 1}};
}

log::Result<std::unique_ptr<log::EventLog>> open_configured_log(const Config& config) {
  std::unique_ptr<log::EventLog> engine;
  if (config.text("engine") == "embedded") {
    const std::filesystem::path dir = config.text("data-dir");
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    if (error) return log::fail(log::ErrorCode::invalid_argument, "option --data-dir: cannot create " + dir.string() + ": " + error.message());
    log::embedded::EmbeddedOptions options;
    options.path = (dir / "log").string();
    options.fsync = config.boolean("fsync");
    auto opened = log::embedded::open_embedded_log(options);
    if (!opened) return std::unexpected(opened.error());
    engine = std::move(*opened);
  } else {
    log::kafka::KafkaConfig kafka;
    kafka.bootstrap_servers = config.text("kafka-bootstrap");
    if (kafka.bootstrap_servers.empty()) {
      return log::fail(log::ErrorCode::invalid_argument, "option --kafka-bootstrap: required with --engine kafka");
    }
    kafka.transactional_id = config.text("kafka-transactional-id");
    kafka.replication_factor = static_cast<int32_t>(config.integer("kafka-replication-factor"));
    for (const auto& property : config.all("kafka-property")) {
      const auto eq = property.find('=');
      if (eq == std::string::npos || eq == 0) {
        return log::fail(log::ErrorCode::invalid_argument, "option --kafka-property: expects name=value, got '" + property + "'");
      }
      kafka.properties.emplace_back(property.substr(0, eq), property.substr(eq + 1));
    }
    auto opened = log::kafka::open_kafka_log(kafka);
    if (!opened) return std::unexpected(opened.error());
    engine = std::move(*opened);
  }
  for (const auto& topic : tenantry_topics(static_cast<int32_t>(config.integer("partitions")))) {
    if (auto created = engine->create_topic(topic); !created) {
      auto error = created.error();
      error.message = "topic " + topic.name + ": " + error.message;
      return std::unexpected(error);
    }
  }
  return engine;
}

}  // namespace tenantry::app
