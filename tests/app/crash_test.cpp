// kill -9 the server in the middle of a stream of commands, restart it, and check
// that every acknowledged command took effect exactly once: no command lost, none
// applied twice, the log's history intact.
#include <catch2/catch.hpp>

#include <librdkafka/rdkafka.h>

#include <csignal>
#include <map>
#include <set>
#include <thread>
#include <atomic>

#include "child_process.h"
#include "log/read_back.h"
#include "connectors/log/accepted_reader.h"
#include "connectors/log/kafka/kafka_log.h"
#include "test_support.h"
#include "tenantry/v1/command.pb.h"
#include "tenantry/v1/tenant.pb.h"

using tenantry::testing::ChildProcess;
using namespace std::chrono_literals;
namespace v1 = tenantry::v1;
namespace tlog = tenantry::log;

namespace {

constexpr int kTenants = 40;
constexpr int kCommands = 800;
constexpr int32_t kPartitions = 4;

// Command n: the first kTenants register tenants, the rest rename them (each rename
// changes the name, so each accepted command is exactly one event).
v1::CommandEnvelope command(int n) {
  const int tenant = n % kTenants;
  v1::CommandEnvelope envelope;
  envelope.set_command_id("cmd-" + std::to_string(n));
  envelope.set_tenant_id("tenant-" + std::to_string(tenant));
  if (n < kTenants) {
    v1::RegisterTenant body;
    body.set_slug("crash-" + std::to_string(tenant));
    body.set_display_name("Tenant " + std::to_string(tenant));
    body.set_plan("basic");
    body.set_isolation_tier(v1::ISOLATION_TIER_SHARED);
    body.set_region("eu-west-1");
    body.mutable_admin_contact()->set_name("Ops");
    body.mutable_admin_contact()->set_email("ops@example.com");
    envelope.set_command_type("tenantry.v1.RegisterTenant");
    envelope.set_payload(body.SerializeAsString());
  } else {
    v1::ConfigureTenant body;
    body.set_display_name("Tenant " + std::to_string(tenant) + " rev " + std::to_string(n));
    envelope.set_command_type("tenantry.v1.ConfigureTenant");
    envelope.set_payload(body.SerializeAsString());
  }
  return envelope;
}

// A plain idempotent librdkafka producer: a command is acknowledged once delivered.
class Producer {
 public:
  explicit Producer(const std::string& bootstrap) {
    char error[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), error, sizeof error);
    rd_kafka_conf_set(conf, "partitioner", "murmur2_random", error, sizeof error);
    rd_kafka_conf_set(conf, "enable.idempotence", "true", error, sizeof error);
    handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    REQUIRE(handle_ != nullptr);
  }
  ~Producer() { rd_kafka_destroy(handle_); }
  // Callable from any thread (no test assertions here: Catch2's are not thread-safe).
  bool send(const v1::CommandEnvelope& command) {
    const std::string value = command.SerializeAsString();
    return rd_kafka_producev(handle_, RD_KAFKA_V_TOPIC("tenantry.commands"),
                             RD_KAFKA_V_KEY(command.tenant_id().data(), command.tenant_id().size()),
                             RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR;
  }
  void flush() { REQUIRE(rd_kafka_flush(handle_, 30000) == RD_KAFKA_RESP_ERR_NO_ERROR); }

 private:
  rd_kafka_t* handle_ = nullptr;
};

// Every accepted record of `topic`, all partitions, from offset 0.
std::vector<tlog::AcceptedRecord> read_all(tlog::EventLog& log, const std::string& topic, tlog::TopicKind kind,
                                           std::vector<tlog::Violation>& violations) {
  std::vector<tlog::AcceptedRecord> out;
  for (int32_t p = 0; p < kPartitions; ++p) {
    auto all = tenantry::testing::read_back(log, topic, p, kind);
    for (auto& v : all.violations) violations.push_back(std::move(v));
    for (auto& r : all.records) out.push_back(std::move(r));
  }
  return out;
}

std::set<std::string> answered(tlog::EventLog& log) {
  std::vector<tlog::Violation> violations;
  std::set<std::string> ids;
  for (const auto& accepted : read_all(log, "tenantry.replies", tlog::TopicKind::fenced, violations)) {
    if (accepted.record.header("tenantry-kind") != nullptr) continue;
    v1::CommandReply reply;
    if (reply.ParseFromString(accepted.record.value)) ids.insert(reply.command_id());
  }
  return ids;
}

}  // namespace

TEST_CASE("serve: after kill -9 mid-stream and a restart, every acknowledged command took effect exactly once",
          "[serve][kafka][crash]") {
  ChildProcess broker({TENANTRY_BINARY, "devbroker", "--tenantry-topics", std::to_string(kPartitions)});
  auto line = broker.wait_for_line("bootstrap.servers=", 30s);
  REQUIRE(line.has_value());
  const std::string bootstrap = line->substr(line->find('=') + 1);
  tenantry::testing::ScratchDir dir;
  const std::vector<std::string> serve_args = {TENANTRY_BINARY, "serve", "--http-port", "0", "--engine", "kafka",
                                               "--kafka-bootstrap", bootstrap, "--partitions",
                                               std::to_string(kPartitions), "--data-dir", dir.path().string()};
  tenantry::log::kafka::KafkaConfig config;
  config.bootstrap_servers = bootstrap;
  auto log = tenantry::log::kafka::open_kafka_log(config);
  REQUIRE(log.has_value());

  auto producer_owner = std::make_unique<Producer>(bootstrap);
  Producer& producer = *producer_owner;
  size_t answered_at_kill = 0;
  {
    ChildProcess first(serve_args);
    REQUIRE(first.wait_for_line("listening on", 60s).has_value());
    // The stream flows from another thread while the server works through it; it is
    // killed once some commands are answered, whatever batch it is in the middle of.
    std::atomic<int> refused{0};
    std::thread stream([&] {
      for (int n = 0; n < kCommands; ++n) refused += producer.send(command(n)) ? 0 : 1;
    });
    REQUIRE(tenantry::testing::eventually(60s, [&] { return answered(**log).size() >= kCommands / 8; }));
    first.signal(SIGKILL);
    CHECK(first.wait() == 128 + SIGKILL);
    stream.join();
    REQUIRE(refused == 0);
    answered_at_kill = answered(**log).size();
  }
  producer.flush();  // every command is now acknowledged by the broker

  ChildProcess second(serve_args);
  REQUIRE(second.wait_for_line("listening on", 60s).has_value());
  REQUIRE(tenantry::testing::eventually(120s, [&] { return answered(**log).size() == kCommands; }));

  std::vector<tlog::Violation> violations;
  std::map<std::string, int> events_per_command;
  for (const auto& accepted : read_all(**log, "tenantry.events", tlog::TopicKind::events, violations)) {
    ++events_per_command[accepted.envelope.command_id()];
  }
  INFO("answered when killed: " << answered_at_kill << " of " << kCommands);
  for (const auto& v : violations) INFO(v.describe());
  CHECK(violations.empty());
  CHECK(events_per_command.size() == static_cast<size_t>(kCommands));
  int applied_twice = 0;
  for (const auto& [id, count] : events_per_command) applied_twice += count != 1;
  CHECK(applied_twice == 0);
  WARN("commands answered before the kill: " << answered_at_kill << " of " << kCommands);

  second.signal(SIGTERM);
  CHECK(second.wait() == 0);
  log->reset();  // clients leave before the broker does
  producer_owner.reset();
  broker.signal(SIGINT);
  CHECK(broker.wait() == 0);
}
