// An in-memory Kafka cluster (librdkafka's mock cluster) for tests, benchmarks
// and `tenantry devbroker`. It speaks the Kafka protocol on 127.0.0.1, so other
// processes can use it too. Limits that matter (see README.md): no transaction
// markers, no CreateTopics, ~5 MiB retained per partition.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "connectors/log/event_log.h"

struct rd_kafka_s;
struct rd_kafka_mock_cluster_s;

namespace tenantry::log::kafka {

class MockCluster {
 public:
  static Result<std::unique_ptr<MockCluster>> start(int brokers);
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  // Comma-separated host:port list, for bootstrap.servers.
  std::string bootstrap_servers() const;
  // Creates the topic (replication factor: every broker, at most 3). The mock
  // has no CreateTopics API, so this is how topics get made on it.
  Result<void> create_topic(const TopicSpec& spec);

 private:
  MockCluster(rd_kafka_s* handle, rd_kafka_mock_cluster_s* cluster, int brokers)
      : handle_(handle), cluster_(cluster), brokers_(brokers) {}

  rd_kafka_s* handle_;                // owns the mock cluster's threads
  rd_kafka_mock_cluster_s* cluster_;
  int brokers_;
};

// `tenantry devbroker`: starts a cluster with `brokers` brokers, creates
// `topics`, prints exactly one line "bootstrap.servers=<list>" to stdout, then
// serves until stop_requested() returns true (checked every ~100 ms). Returns
// the process exit code: 0, or 1 after printing the reason to stderr.
int run_devbroker(int brokers, const std::vector<TopicSpec>& topics,
                  std::function<bool()> stop_requested);

}  // namespace tenantry::log::kafka
