// Usage end to end on both engines: `tenantry serve`, real sockets, CloudEvents batches
// over HTTP and (on Kafka) protobuf records produced straight onto tenantry.usage by a
// plain Kafka client. Known answers through the whole path, retries counted once,
// per-event refusals by index, tenants that never see each other's usage.
#include <catch2/catch.hpp>

#include <google/protobuf/util/json_util.h>

#include <Poco/JSON/Array.h>

#include <fstream>

#include "connectors/log/kafka/kafka_log.h"
#include "gateway/api_client.h"
#include "gateway/serve_fixture.h"
#include "http/jwt_test_support.h"
#include "test_support.h"
#include "tenantry/v1/usage.pb.h"

using namespace std::chrono_literals;
using tenantry::testing::ApiClient;
using tenantry::testing::Reply;

namespace {

const std::string kSecret = "usage-api-test-secret-of-at-least-32-bytes";

std::string token(const std::string& subject, const std::string& role, const std::string& tenant = {}) {
  return tenantry::testing::jwt::bearer_hs256(kSecret, subject, "[\"" + role + "\"]", tenant);
}

std::string registration(const std::string& id) {
  return R"({"id":")" + id + R"(","slug":")" + id + R"(","displayName":")" + id +
         R"(","plan":"pro","isolationTier":"shared","region":"eu-west-1","adminContact":{"name":"A","email":"a@example.com"}})";
}

std::string now_rfc3339(std::chrono::seconds ago = 0s) {
  const auto t = std::chrono::system_clock::now() - ago;
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&seconds));
  return text;
}

std::string cloud_event(const std::string& id, const std::string& data, const std::string& extra = {},
                        const std::string& time = now_rfc3339()) {
  return R"({"specversion":"1.0","id":")" + id + R"(","source":"svc/llm","type":"llm.completion","time":")" + time +
         "\",\"data\":" + data + extra + "}";
}

double total_of(const Reply& reply) { return tenantry::testing::data_of(reply)->getValue<double>("total"); }

const char* kMeters = R"({"meters":[
  {"name":"tokens","eventType":"llm.completion","aggregation":"SUM","valueProperty":"$.tokens","groupBy":["$.model"]},
  {"name":"completions","eventType":"llm.completion","aggregation":"COUNT"},
  {"name":"users","eventType":"llm.completion","aggregation":"UNIQUE_COUNT","valueProperty":"$.user"},
  {"name":"peak","eventType":"llm.completion","aggregation":"MAX","valueProperty":"$.tokens"}]})";

}  // namespace

TEST_CASE("usage API: batches counted exactly once, refusals by index, isolation", "[gateway][usage][serve]") {
  const std::string engine = GENERATE(as<std::string>{}, "embedded", "kafka");
  INFO(engine);
  tenantry::testing::ScratchDir files;
  const std::string meters = (files.path() / "meters.json").string();
  std::ofstream(meters) << kMeters;
  tenantry::testing::ServeFixture serve(engine, {"--jwt-hs256-secret", kSecret, "--meters-file", meters});
  ApiClient api{serve.port()};
  const std::string admin = token("root", "platform_admin");
  const std::string analyst = token("ana", "analyst");
  const std::string acme = token("acme-svc", "tenant_member", "acme");
  for (const std::string id : {"acme", "globex"}) REQUIRE(api.call("POST", "/v1/tenants", admin, registration(id)).status == 201);
  api.until("/v1/tenants/globex", admin, [](const Reply& r) { return r.status == 200; });

  const std::string batch = "[" + cloud_event("e1", R"({"tokens":10,"user":"u1","model":"small"})") + "," +
                            cloud_event("e2", R"({"tokens":20,"user":"u1","model":"large"})") + "," +
                            cloud_event("e3", R"({"tokens":"many","user":"u2"})") + "," +
                            cloud_event("e4", R"({"tokens":1})", R"(,"tenantid":"globex")") + "," +
                            cloud_event("e5", R"({"tokens":1})", "", "2020-01-01T00:00:00Z") + "," +
                            R"({"specversion":"1.0","source":"svc","type":"llm.completion","data":{"tokens":1}})" + "]";
  auto posted = api.call("POST", "/v1/usage", acme, batch);
  INFO(posted.text);
  REQUIRE(posted.status == 202);
  auto data = tenantry::testing::data_of(posted);
  CHECK(data->getValue<int>("accepted") == 2);
  auto rejected = data->getArray("rejected");
  REQUIRE(rejected->size() == 4);
  auto refusal = [&](size_t i) { return rejected->getObject(static_cast<unsigned>(i)); };
  CHECK(refusal(0)->getValue<int>("index") == 2);
  CHECK(refusal(0)->getValue<std::string>("field") == "data.tokens");
  CHECK(refusal(0)->getValue<std::string>("type") == "invalid_value");
  CHECK(refusal(1)->getValue<int>("index") == 3);
  CHECK(refusal(1)->getValue<std::string>("type") == "tenant_mismatch");
  CHECK(refusal(2)->getValue<int>("index") == 4);
  CHECK(refusal(2)->getValue<std::string>("field") == "time");
  CHECK(refusal(3)->getValue<int>("index") == 5);
  CHECK(refusal(3)->getValue<std::string>("field") == "id");

  // The known answers, as soon as the projection has them.
  auto tokens = api.until("/v1/tenants/acme/usage?meter=tokens", acme,
                          [](const Reply& r) { return r.status == 200 && total_of(r) == 30; });
  CHECK(tenantry::testing::data_of(tokens)->getObject("lag")->getValue<int64_t>("records") >= 0);
  CHECK(total_of(api.call("GET", "/v1/tenant/usage?meter=completions", acme)) == 2);
  CHECK(total_of(api.call("GET", "/v1/tenant/usage?meter=users", acme)) == 1);
  CHECK(total_of(api.call("GET", "/v1/tenant/usage?meter=peak", acme)) == 20);

  // Retried: accepted again, counted zero more times.
  REQUIRE(api.call("POST", "/v1/usage", acme, batch).status == 202);
  // A platform service records for globex, naming it per event.
  auto for_globex = api.call("POST", "/v1/usage", admin,
                             "[" + cloud_event("g1", R"({"tokens":5})", R"(,"tenantid":"globex")") + "," +
                                 cloud_event("g2", R"({"tokens":5})") + "," +
                                 cloud_event("g3", R"({"tokens":5})", R"(,"tenantid":"nobody")") + "]");
  INFO(for_globex.text);
  REQUIRE(for_globex.status == 202);
  auto globex_refused = tenantry::testing::data_of(for_globex)->getArray("rejected");
  REQUIRE(globex_refused->size() == 2);
  CHECK(globex_refused->getObject(0)->getValue<std::string>("field") == "tenantid");
  CHECK(globex_refused->getObject(1)->getValue<std::string>("type") == "tenant_not_found");
  if (engine == "kafka") {
    // Any Kafka client may produce usage straight onto the topic, as protobuf.
    tenantry::log::kafka::KafkaConfig config;
    config.bootstrap_servers = serve.bootstrap();
    config.client_id = "usage-producer";
    auto producer = tenantry::log::kafka::open_kafka_log(config);
    REQUIRE(producer.has_value());
    tenantry::v1::UsageEvent event;
    event.set_tenant_id("globex");
    event.set_id("g4");
    event.set_source("svc/batch");
    event.set_type("llm.completion");
    REQUIRE(google::protobuf::util::JsonStringToMessage(R"({"tokens":7})", event.mutable_data()).ok());
    tenantry::log::AppendRequest request;
    request.records.push_back({"tenantry.usage", "globex", event.SerializeAsString(), {}, std::nullopt});
    REQUIRE((*producer)->append(request).has_value());
    REQUIRE((*producer)->append(std::move(request)).has_value());  // a producer's retry
  }
  const double globex_total = engine == "kafka" ? 12 : 5;
  api.until("/v1/tenants/globex/usage?meter=tokens", admin,
            [&](const Reply& r) { return r.status == 200 && total_of(r) == globex_total; });
  // The retried batch did not move acme, and platform totals hold both tenants.
  CHECK(total_of(api.call("GET", "/v1/tenants/acme/usage?meter=tokens", admin)) == 30);
  auto totals = api.until("/v1/usage/totals?meter=tokens", analyst,
                          [&](const Reply& r) { return r.status == 200 && total_of(r) == 30 + globex_total; });
  CHECK(tenantry::testing::data_of(totals)->get("tenantId").isEmpty());

  SECTION("grouped, windowed and exported") {
    auto grouped = api.call("GET", "/v1/tenant/usage?meter=tokens&groupBy=true&window=month", acme);
    REQUIRE(grouped.status == 200);
    auto rows = tenantry::testing::data_of(grouped)->getArray("rows");
    REQUIRE(rows->size() == 2);
    CHECK(rows->getObject(0)->getObject("group")->getValue<std::string>("$.model") == "large");
    CHECK(rows->getObject(0)->getValue<double>("value") == 20);
    auto csv = api.call("GET", "/v1/tenant/usage?meter=tokens&groupBy=true&format=csv", acme);
    REQUIRE(csv.status == 200);
    CHECK_THAT(csv.content_type, Catch::StartsWith("text/csv"));
    CHECK_THAT(csv.text, Catch::StartsWith("window_start,group,value\r\n"));
    CHECK_THAT(csv.text, Catch::Contains(",$.model=small,10\r\n"));  // RFC 4180: quoted only when needed
    auto ndjson = api.call("GET", "/v1/tenant/usage?meter=completions&window=hour&format=ndjson", acme);
    REQUIRE(ndjson.status == 200);
    CHECK_THAT(ndjson.text, Catch::Contains("\"value\":2"));
    auto meters_list = api.call("GET", "/v1/meters", acme);
    REQUIRE(meters_list.status == 200);
    CHECK_THAT(meters_list.text, Catch::Contains("\"name\":\"api_calls\""));
    CHECK_THAT(meters_list.text, Catch::Contains("\"name\":\"tokens\""));
  }

  SECTION("another tenant's usage stays out of reach") {
    auto other = api.call("GET", "/v1/tenants/globex/usage?meter=tokens", acme);
    CHECK(other.status == 403);
    CHECK(tenantry::testing::error_type(other) == "tenant_mismatch");
    CHECK(api.call("GET", "/v1/usage/totals?meter=tokens", acme).status == 403);
    auto resolved = api.call("GET", "/v1/tenant/usage?meter=tokens", acme, "", {{"X-Tenant-ID", "globex"}});
    CHECK(resolved.status == 403);
  }

  SECTION("bad requests are refused whole, naming the field") {
    std::string oversized = "[";
    for (int i = 0; i < 1001; ++i) oversized += (i ? "," : "") + cloud_event("x" + std::to_string(i), "{}");
    oversized += "]";
    auto big = api.call("POST", "/v1/usage", acme, oversized);
    CHECK(big.status == 413);
    CHECK(tenantry::testing::error_type(big) == "batch_too_large");
    CHECK(api.call("POST", "/v1/usage", acme, "{not json").status == 400);
    CHECK(tenantry::testing::first_field(api.call("POST", "/v1/usage", acme, "[]")) == "events");
    auto none = api.call("POST", "/v1/usage", acme, "[" + cloud_event("z", R"({"tokens":"x"})") + "]");
    CHECK(none.status == 400);
    CHECK(tenantry::testing::first_field(none) == "events[0].data.tokens");
    CHECK(api.call("POST", "/v1/usage", analyst, "[" + cloud_event("z", "{}") + "]").status == 403);
    for (const auto& [query, field] : {std::pair<std::string, std::string>{"", "meter"},
                                       {"meter=nope", "meter"},
                                       {"meter=tokens&window=week", "window"},
                                       {"meter=tokens&from=tomorrowish", "from"},
                                       {"meter=tokens&groupBy=maybe", "groupBy"}}) {
      auto bad = api.call("GET", "/v1/tenant/usage?" + query, acme);
      INFO(query);
      CHECK(bad.status == 400);
      CHECK(tenantry::testing::first_field(bad) == field);
    }
    // Nothing the refusals did moved a total.
    CHECK(total_of(api.call("GET", "/v1/tenant/usage?meter=tokens", acme)) == 30);
  }
}
