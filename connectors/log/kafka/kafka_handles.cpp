#include "connectors/log/kafka/kafka_handles.h"

#include <cstdio>
#include <cstring>

namespace tenantry::log::kafka::detail {
namespace {

// librdkafka's default logger, minus one warning: the engine applies the same
// extra properties to producers and consumers, so "X is a consumer property and
// will be ignored by this producer instance" is expected, not a problem.
void quiet_log(const rd_kafka_t* handle, int level, const char* facility, const char* message) {
  if (std::strcmp(facility, "CONFWARN") == 0 &&
      (std::strstr(message, "will be ignored by this") != nullptr ||
       std::strstr(message, "No `bootstrap.servers` configured") != nullptr)) {
    return;
  }
  std::fprintf(stderr, "%%%d|%s|%s: %s\n", level, facility, rd_kafka_name(handle), message);
}

}  // namespace

Result<Conf> make_conf(const Properties& properties) {
  Conf conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), quiet_log);
  char errstr[512];
  for (const auto& [name, value] : properties) {
    if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      return fail(ErrorCode::invalid_argument,
                  "kafka property '" + name + "'='" + value + "': " + errstr);
    }
  }
  return conf;
}

Result<Handle> make_handle(rd_kafka_type_t type, Conf conf) {
  char errstr[512];
  // rd_kafka_new takes ownership of the configuration only on success.
  rd_kafka_t* handle = rd_kafka_new(type, conf.get(), errstr, sizeof errstr);
  if (handle == nullptr) {
    return fail(ErrorCode::invalid_argument, std::string("kafka configuration: ") + errstr);
  }
  (void)conf.release();
  return Handle(handle);
}

ErrorCode map_error(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
      return ErrorCode::unknown_topic;
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
      return ErrorCode::invalid_argument;
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
      return ErrorCode::timeout;
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
      return ErrorCode::unavailable;
    case RD_KAFKA_RESP_ERR__DESTROY:
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
      return ErrorCode::closed;
    default:
      return ErrorCode::io;
  }
}

std::unexpected<Error> fail_kafka(rd_kafka_resp_err_t err, const std::string& context) {
  return fail(map_error(err), context + ": " + rd_kafka_err2str(err));
}

std::unexpected<Error> fail_kafka(const rd_kafka_error_t* error, const std::string& context) {
  return fail(map_error(rd_kafka_error_code(error)),
              context + ": " + rd_kafka_error_string(error));
}

}  // namespace tenantry::log::kafka::detail
