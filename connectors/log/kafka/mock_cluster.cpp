#include "connectors/log/kafka/mock_cluster.h"

// rdkafka_mock.h refuses to compile unless rdkafka.h came first.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "connectors/log/kafka/kafka_handles.h"

namespace tenantry::log::kafka {

Result<std::unique_ptr<MockCluster>> MockCluster::start(int brokers) {
  if (brokers < 1) return fail(ErrorCode::invalid_argument, "a mock cluster needs at least 1 broker");
  // The cluster lives inside a client handle; a producer with no brokers of its
  // own is the lightest one.
  auto conf = detail::make_conf({});
  if (!conf) return std::unexpected(conf.error());
  auto handle = detail::make_handle(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!handle) return std::unexpected(handle.error());
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(handle->get(), brokers);
  if (cluster == nullptr) return fail(ErrorCode::io, "rd_kafka_mock_cluster_new failed");
  return std::unique_ptr<MockCluster>(new MockCluster(handle->release(), cluster, brokers));
}

MockCluster::~MockCluster() {
  rd_kafka_mock_cluster_destroy(cluster_);
  rd_kafka_destroy(handle_);
}

std::string MockCluster::bootstrap_servers() const {
  return rd_kafka_mock_cluster_bootstraps(cluster_);
}

Result<void> MockCluster::create_topic(const TopicSpec& spec) {
  if (spec.name.empty()) return fail(ErrorCode::invalid_argument, "empty topic name");
  if (spec.partitions < 1) {
    return fail(ErrorCode::invalid_argument, "topic '" + spec.name + "' needs at least 1 partition");
  }
  const int replication_factor = std::min(brokers_, 3);
  const auto err =
      rd_kafka_mock_topic_create(cluster_, spec.name.c_str(), spec.partitions, replication_factor);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return detail::fail_kafka(err, "mock create topic '" + spec.name + "'");
  }
  return {};
}

int run_devbroker(int brokers, const std::vector<TopicSpec>& topics,
                  std::function<bool()> stop_requested) {
  auto cluster = MockCluster::start(brokers);
  if (!cluster) {
    std::fprintf(stderr, "devbroker: %s\n", cluster.error().message.c_str());
    return 1;
  }
  for (const auto& topic : topics) {
    if (auto created = (*cluster)->create_topic(topic); !created) {
      std::fprintf(stderr, "devbroker: %s\n", created.error().message.c_str());
      return 1;
    }
  }
  std::printf("bootstrap.servers=%s\n", (*cluster)->bootstrap_servers().c_str());
  std::fflush(stdout);
  // The mock serves on its own threads; this one only waits to be told to stop.
  constexpr auto kStopCheckInterval = std::chrono::milliseconds(100);
  while (!stop_requested()) std::this_thread::sleep_for(kStopCheckInterval);
  return 0;
}

}  // namespace tenantry::log::kafka
