// `tenantry serve` and `tenantry devbroker` as a user runs them: a real process,
// a real socket, a real signal.
#include <catch2/catch.hpp>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <csignal>
#include <regex>

#include <librdkafka/rdkafka.h>

#include "child_process.h"
#include "connectors/log/accepted_reader.h"
#include "connectors/log/kafka/kafka_log.h"
#include "tenantry/v1/command.pb.h"
#include "tenantry/v1/tenant.pb.h"
#include "test_support.h"

using tenantry::testing::ChildProcess;
using namespace std::chrono_literals;

namespace {

std::pair<int, std::string> get(uint16_t port, const std::string& path) {
  Poco::Net::HTTPClientSession session("127.0.0.1", port);
  Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, path, Poco::Net::HTTPMessage::HTTP_1_1);
  session.sendRequest(request);
  Poco::Net::HTTPResponse response;
  std::string body;
  Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
  return {static_cast<int>(response.getStatus()), body};
}

uint16_t port_of(const std::string& line) {
  std::smatch match;
  REQUIRE(std::regex_search(line, match, std::regex(R"(http://127\.0\.0\.1:(\d+))")));
  return static_cast<uint16_t>(std::stoi(match[1]));
}

}  // namespace

TEST_CASE("serve: starts on the embedded log, reports where it listens, stops cleanly", "[serve]") {
  for (int signal : {SIGTERM, SIGINT}) {
    tenantry::testing::ScratchDir dir;
    ChildProcess serve({TENANTRY_BINARY, "serve", "--http-port", "0", "--data-dir", dir.path().string()});
    auto line = serve.wait_for_line("listening on", 30s);
    REQUIRE(line.has_value());
    CHECK_THAT(*line, Catch::Contains("engine embedded"));
    const uint16_t port = port_of(*line);
    auto [status, body] = get(port, "/healthz");
    CHECK(status == 200);
    CHECK_THAT(body, Catch::Contains("ok"));
    CHECK(get(port, "/readyz").first == 200);
    CHECK(get(port, "/no-such-thing").first == 404);
    serve.signal(signal);
    CHECK(serve.wait() == 0);
    CHECK_THAT(serve.stdout_text(), Catch::Contains("stopped"));
    CHECK(std::filesystem::exists(dir.path() / "log" / "CURRENT"));
  }
}

TEST_CASE("serve: bad configuration fails at start with the option at fault", "[serve]") {
  tenantry::testing::ScratchDir dir;
  auto bad_port = tenantry::testing::run_to_end({TENANTRY_BINARY, "serve", "--http-port", "http"});
  CHECK(bad_port.code == 2);
  CHECK_THAT(bad_port.err, Catch::Contains("--http-port"));

  auto bad_engine = tenantry::testing::run_to_end({TENANTRY_BINARY, "serve", "--engine", "kafka"});
  CHECK(bad_engine.code == 2);
  CHECK_THAT(bad_engine.err, Catch::Contains("--kafka-bootstrap"));

  auto unknown = tenantry::testing::run_to_end({TENANTRY_BINARY, "serve", "--colour", "blue"});
  CHECK(unknown.code == 2);
  CHECK_THAT(unknown.err, Catch::Contains("--colour"));

  auto partitions = tenantry::testing::run_to_end(
      {TENANTRY_BINARY, "serve", "--data-dir", dir.path().string(), "--partitions", "0"});
  CHECK(partitions.code == 2);
  CHECK_THAT(partitions.err, Catch::Contains("--partitions"));
}

TEST_CASE("every command documents its options in --help", "[serve]") {
  for (std::string command : {"serve", "devbroker"}) {
    auto help = tenantry::testing::run_to_end({TENANTRY_BINARY, command, "--help"});
    INFO(command);
    CHECK(help.code == 0);
    CHECK_THAT(help.out, Catch::Contains("Usage: tenantry " + command));
    CHECK_THAT(help.out, Catch::Contains("TENANTRY_"));
  }
  auto serve = tenantry::testing::run_to_end({TENANTRY_BINARY, "serve", "--help"});
  for (std::string option : {"--http-port", "--engine", "--data-dir", "--kafka-bootstrap", "--partitions", "--fsync"}) {
    CHECK_THAT(serve.out, Catch::Contains(option));
  }
  auto bench = tenantry::testing::run_to_end({TENANTRY_BINARY, "bench", "log", "--help"});
  CHECK(bench.code == 0);
  CHECK_THAT(bench.out, Catch::Contains("--records"));
  auto top = tenantry::testing::run_to_end({TENANTRY_BINARY, "--help"});
  CHECK(top.code == 0);
  CHECK_THAT(top.out, Catch::Contains("devbroker"));
}

TEST_CASE("serve: runs on Kafka through a devbroker in another process", "[serve][kafka]") {
  ChildProcess broker({TENANTRY_BINARY, "devbroker", "--tenantry-topics", "4"});
  auto line = broker.wait_for_line("bootstrap.servers=", 30s);
  REQUIRE(line.has_value());
  const std::string bootstrap = line->substr(line->find('=') + 1);

  ChildProcess serve({TENANTRY_BINARY, "serve", "--http-port", "0", "--engine", "kafka", "--kafka-bootstrap",
                      bootstrap, "--partitions", "4"});
  auto listening = serve.wait_for_line("listening on", 60s);
  INFO(serve.stderr_text());
  REQUIRE(listening.has_value());
  CHECK_THAT(*listening, Catch::Contains("engine kafka"));
  CHECK(get(port_of(*listening), "/healthz").first == 200);
  serve.signal(SIGTERM);
  CHECK(serve.wait() == 0);
  broker.signal(SIGINT);
  CHECK(broker.wait() == 0);
}

TEST_CASE("serve: a command any Kafka client puts on the commands topic is decided and answered",
          "[serve][kafka]") {
  ChildProcess broker({TENANTRY_BINARY, "devbroker", "--tenantry-topics", "4"});
  auto line = broker.wait_for_line("bootstrap.servers=", 30s);
  REQUIRE(line.has_value());
  const std::string bootstrap = line->substr(line->find('=') + 1);
  tenantry::testing::ScratchDir dir;
  ChildProcess serve({TENANTRY_BINARY, "serve", "--http-port", "0", "--engine", "kafka", "--kafka-bootstrap",
                      bootstrap, "--partitions", "4", "--data-dir", dir.path().string()});
  REQUIRE(serve.wait_for_line("listening on", 60s).has_value());

  // A plain librdkafka producer, as any service would use: key = tenant id, the
  // Java-compatible partitioner, a CommandEnvelope as the value.
  tenantry::v1::RegisterTenant body;
  body.set_slug("initech");
  body.set_display_name("Initech");
  body.set_plan("basic");
  body.set_isolation_tier(tenantry::v1::ISOLATION_TIER_SHARED);
  body.set_region("us-east-1");
  body.mutable_admin_contact()->set_name("Bill");
  body.mutable_admin_contact()->set_email("bill@initech.example");
  tenantry::v1::CommandEnvelope command;
  command.set_command_id("kafka-client-1");
  command.set_tenant_id("t-initech");
  command.set_command_type("tenantry.v1.RegisterTenant");
  command.set_payload(body.SerializeAsString());
  const std::string value = command.SerializeAsString();
  {
    char error[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    REQUIRE(rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), error, sizeof error) == RD_KAFKA_CONF_OK);
    REQUIRE(rd_kafka_conf_set(conf, "partitioner", "murmur2_random", error, sizeof error) == RD_KAFKA_CONF_OK);
    rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    REQUIRE(producer != nullptr);
    REQUIRE(rd_kafka_producev(producer, RD_KAFKA_V_TOPIC("tenantry.commands"),
                              RD_KAFKA_V_KEY(command.tenant_id().data(), command.tenant_id().size()),
                              RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR);
    REQUIRE(rd_kafka_flush(producer, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(producer);
  }

  // The reply and the event, read back through the accepted history.
  tenantry::log::kafka::KafkaConfig config;
  config.bootstrap_servers = bootstrap;
  auto log = tenantry::log::kafka::open_kafka_log(config);
  REQUIRE(log.has_value());
  const int32_t p = tenantry::log::partition_for_key("t-initech", 4);
  auto replies = tenantry::log::AcceptedReader::open(**log, "tenantry.replies", p, 0, tenantry::log::TopicKind::fenced);
  REQUIRE(replies.has_value());
  std::optional<tenantry::v1::CommandReply> reply;
  REQUIRE(tenantry::testing::eventually(30s, [&] {
    auto batch = (*replies)->read(100, 500ms);
    REQUIRE(batch.has_value());
    for (const auto& accepted : batch->records) {
      tenantry::v1::CommandReply candidate;
      if (accepted.record.header("tenantry-kind") == nullptr && candidate.ParseFromString(accepted.record.value) &&
          candidate.command_id() == "kafka-client-1") {
        reply = candidate;
      }
    }
    return reply.has_value();
  }));
  CHECK(reply->status() == tenantry::v1::CommandReply::STATUS_ACCEPTED);
  CHECK(reply->resulting_sequence() == 1);
  auto events = tenantry::log::AcceptedReader::open(**log, "tenantry.events", p, 0, tenantry::log::TopicKind::events);
  REQUIRE(events.has_value());
  const int64_t end = (*log)->end_offset("tenantry.events", p).value();
  std::vector<tenantry::log::AcceptedRecord> accepted;
  while ((*events)->position() < end) {
    auto batch = (*events)->read(100, 5000ms);
    REQUIRE(batch.has_value());
    REQUIRE(batch->records_read > 0);
    CHECK(batch->violations.empty());
    for (auto& record : batch->records) accepted.push_back(std::move(record));
  }
  REQUIRE(accepted.size() == 1);
  CHECK(accepted[0].envelope.event_type() == "tenantry.v1.TenantRegistered");
  CHECK(accepted[0].envelope.command_id() == "kafka-client-1");

  serve.signal(SIGTERM);
  CHECK(serve.wait() == 0);
  log->reset();  // clients leave before the broker does
  broker.signal(SIGINT);
  CHECK(broker.wait() == 0);
}
