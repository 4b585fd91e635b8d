// The Kafka engine on a fresh in-process mock cluster, for tests that run
// against every engine (tests/log/conformance_test.cpp) and Kafka-only tests.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "connectors/log/event_log.h"
#include "connectors/log/kafka/kafka_log.h"
#include "connectors/log/kafka/mock_cluster.h"

// Stops finished mock clusters off the tests' path: librdkafka 2.0.2 takes up
// to ~1 s to stop one (an internal broker thread notices only on its next
// one-second wakeup). At most kMaxPending wait; retire() blocks beyond that.
class MockClusterReaper {
 public:
  static MockClusterReaper& instance() {
    static MockClusterReaper reaper;
    return reaper;
  }

  void retire(std::unique_ptr<tenantry::log::kafka::MockCluster> cluster) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return pending_.size() < kMaxPending; });
    pending_.push_back(std::move(cluster));
    changed_.notify_all();
  }

  ~MockClusterReaper() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

 private:
  static constexpr size_t kMaxPending = 4;

  MockClusterReaper() : thread_([this] { run(); }) {}

  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      changed_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;
      auto cluster = std::move(pending_.front());
      pending_.pop_front();
      lock.unlock();
      cluster.reset();
      lock.lock();
      changed_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::unique_ptr<tenantry::log::kafka::MockCluster>> pending_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

struct KafkaHarness {
  static constexpr const char* name = "kafka";

  // Small group timeouts: the mock waits session.timeout.ms - 1 s per rebalance.
  static constexpr int kSessionTimeoutMs = 6000;

  struct Options {
    int brokers = 1;
    std::string transactional_id;  // empty: no transactions
  };

  KafkaHarness() : KafkaHarness(Options{}) {}

  explicit KafkaHarness(const Options& options) {
    auto cluster = tenantry::log::kafka::MockCluster::start(options.brokers);
    if (!cluster) throw std::runtime_error("mock cluster: " + cluster.error().message);
    cluster_ = std::move(*cluster);
    auto log = tenantry::log::kafka::open_kafka_log(config(options.transactional_id));
    if (!log) throw std::runtime_error("kafka log: " + log.error().message);
    log_ = std::move(*log);
  }

  KafkaHarness(const KafkaHarness&) = delete;
  KafkaHarness& operator=(const KafkaHarness&) = delete;

  ~KafkaHarness() {
    log_.reset();  // every client disconnects before the cluster goes
    MockClusterReaper::instance().retire(std::move(cluster_));
  }

  tenantry::log::EventLog& log() { return *log_; }
  tenantry::log::kafka::MockCluster& cluster() { return *cluster_; }
  std::string bootstrap_servers() const { return cluster_->bootstrap_servers(); }

  // The configuration the harness opens the engine with; tests open more
  // engines on the same cluster with it.
  tenantry::log::kafka::KafkaConfig config(const std::string& transactional_id = {}) const {
    tenantry::log::kafka::KafkaConfig config;
    config.bootstrap_servers = cluster_->bootstrap_servers();
    config.transactional_id = transactional_id;
    config.session_timeout_ms = kSessionTimeoutMs;
    config.properties = {{"heartbeat.interval.ms", "500"}};
    auto* cluster = cluster_.get();
    config.create_topic_hook = [cluster](const tenantry::log::TopicSpec& spec) {
      return cluster->create_topic(spec);
    };
    return config;
  }

 private:
  std::unique_ptr<tenantry::log::kafka::MockCluster> cluster_;  // outlives log_ (see ~KafkaHarness)
  std::unique_ptr<tenantry::log::EventLog> log_;
};
