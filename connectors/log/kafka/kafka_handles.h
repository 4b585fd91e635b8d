// librdkafka plumbing shared by the Kafka engine and the mock cluster: owning
// handles, configuration building with errors as values, error mapping.
// Internal to connectors/log/kafka.
#pragma once

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "connectors/log/event_log.h"

namespace tenantry::log::kafka::detail {

struct HandleDeleter {
  void operator()(rd_kafka_t* handle) const { rd_kafka_destroy(handle); }
};
using Handle = std::unique_ptr<rd_kafka_t, HandleDeleter>;

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using Conf = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const {
    rd_kafka_topic_partition_list_destroy(list);
  }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

struct ErrorDeleter {
  void operator()(rd_kafka_error_t* error) const { rd_kafka_error_destroy(error); }
};
using KafkaError = std::unique_ptr<rd_kafka_error_t, ErrorDeleter>;

struct MessageDeleter {
  void operator()(rd_kafka_message_t* message) const { rd_kafka_message_destroy(message); }
};
using Message = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

using Properties = std::vector<std::pair<std::string, std::string>>;

// A configuration with the quiet log callback installed and `properties` set in
// order (later ones win). A rejected property is invalid_argument naming it.
Result<Conf> make_conf(const Properties& properties);

// Creates a client; takes ownership of `conf` in every case. Errors that
// librdkafka reports at creation are configuration conflicts: invalid_argument.
Result<Handle> make_handle(rd_kafka_type_t type, Conf conf);

// Maps a librdkafka error code to the event log's error codes.
ErrorCode map_error(rd_kafka_resp_err_t err);
std::unexpected<Error> fail_kafka(rd_kafka_resp_err_t err, const std::string& context);
std::unexpected<Error> fail_kafka(const rd_kafka_error_t* error, const std::string& context);

}  // namespace tenantry::log::kafka::detail
