// `tenantry projections rebuild tenant_directory` replays the events topic into the
// directory and gives the same answers as before.
#include <catch2/catch.hpp>

#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <regex>

#include "child_process.h"
#include "gateway/serve_fixture.h"
#include "http/jwt_test_support.h"
#include "test_support.h"

using tenantry::testing::ChildProcess;
using namespace std::chrono_literals;

namespace {

const std::string kSecret = "rebuild-test-secret-of-at-least-32-bytes!";

std::pair<int, std::string> call(uint16_t port, const std::string& method, const std::string& path,
                                 const std::string& body = {}) {
  Poco::Net::HTTPClientSession session("127.0.0.1", port);
  Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  request.set("Authorization", "Bearer " + tenantry::testing::jwt::bearer_hs256(kSecret, "ops", R"(["platform_admin"])"));
  request.setContentLength(static_cast<std::streamsize>(body.size()));
  session.sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  std::string text;
  Poco::StreamCopier::copyToString(session.receiveResponse(response), text);
  return {static_cast<int>(response.getStatus()), text};
}

}  // namespace

TEST_CASE("projections rebuild: the tenant directory replayed from the log answers as before", "[projections][serve]") {
  tenantry::testing::ScratchDir dir;
  const std::vector<std::string> serve_args = {TENANTRY_BINARY, "serve", "--http-port", "0", "--data-dir",
                                               dir.path().string(), "--jwt-hs256-secret", kSecret};
  std::string before;
  {
    ChildProcess serve(serve_args);
    const uint16_t port = tenantry::testing::listening_port(serve);
    REQUIRE(call(port, "POST", "/v1/tenants",
                 R"({"id":"t-r","slug":"rebuilt","displayName":"R","plan":"pro","isolationTier":"shared","region":"eu-west-1","adminContact":{"name":"A","email":"a@example.com"}})")
                .first == 201);
    REQUIRE(call(port, "POST", "/v1/tenants/t-r/suspend", R"({"reason":"audit"})").first == 200);
    REQUIRE(tenantry::testing::eventually(20s, [&] {
      auto [status, body] = call(port, "GET", "/v1/tenants/t-r");
      before = body;
      return status == 200 && body.find("\"suspended\"") != std::string::npos;
    }));
    serve.signal(SIGTERM);
    REQUIRE(serve.wait() == 0);
  }
  auto rebuilt = tenantry::testing::run_to_end(
      {TENANTRY_BINARY, "projections", "rebuild", "tenant_directory", "--data-dir", dir.path().string()});
  INFO(rebuilt.err);
  CHECK(rebuilt.code == 0);
  CHECK_THAT(rebuilt.out, Catch::Contains("rebuilt tenant_directory: 2 records applied"));
  auto unknown = tenantry::testing::run_to_end(
      {TENANTRY_BINARY, "projections", "rebuild", "no_such_model", "--data-dir", dir.path().string()});
  CHECK(unknown.code == 2);

  ChildProcess serve(serve_args);
  const uint16_t port = tenantry::testing::listening_port(serve);
  auto [status, after] = call(port, "GET", "/v1/tenants/t-r");
  CHECK(status == 200);
  auto data = [](const std::string& body) {
    return Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>()->getObject("data");
  };
  CHECK(data(after)->getValue<std::string>("status") == "suspended");
  CHECK(data(after)->getValue<int>("version") == data(before)->getValue<int>("version"));
  CHECK(data(after)->getValue<int64_t>("updatedAtUs") == data(before)->getValue<int64_t>("updatedAtUs"));
  serve.signal(SIGTERM);
  CHECK(serve.wait() == 0);
}

TEST_CASE("projections rebuild: usage and stored bytes replayed from the log give the same totals",
          "[projections][serve][usage]") {
  tenantry::testing::ScratchDir dir;
  const std::string meters = (dir.path() / "meters.json").string();
  {
    std::ofstream out(meters);
    out << R"({"meters":[{"name":"units","eventType":"work.done","aggregation":"SUM","valueProperty":"$.units"}]})";
  }
  const std::string data_dir = (dir.path() / "data").string();
  const std::vector<std::string> serve_args = {TENANTRY_BINARY, "serve", "--http-port", "0", "--data-dir", data_dir,
                                               "--jwt-hs256-secret", kSecret, "--meters-file", meters,
                                               "--storage-meter-interval-s", "1"};
  auto total = [](uint16_t port, const std::string& meter) {
    auto [status, body] = call(port, "GET", "/v1/tenants/t-u/usage?meter=" + meter + "&window=month");
    if (status != 200) return -1.0;
    return Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>()->getObject("data")->getValue<double>("total");
  };
  double units = 0;
  double bytes = 0;
  {
    ChildProcess serve(serve_args);
    const uint16_t port = tenantry::testing::listening_port(serve);
    REQUIRE(call(port, "POST", "/v1/tenants",
                 R"({"id":"t-u","slug":"usage-rebuilt","displayName":"U","plan":"pro","isolationTier":"shared","region":"eu-west-1","adminContact":{"name":"A","email":"a@example.com"}})")
                .first == 201);
    REQUIRE(tenantry::testing::eventually(20s, [&] { return call(port, "GET", "/v1/tenants/t-u").first == 200; }));
    const std::string batch =
        R"([{"id":"a","source":"s","type":"work.done","tenantid":"t-u","data":{"units":4}},)"
        R"({"id":"b","source":"s","type":"work.done","tenantid":"t-u","data":{"units":5}},)"
        R"({"id":"a","source":"s","type":"work.done","tenantid":"t-u","data":{"units":4}}])";
    REQUIRE(call(port, "POST", "/v1/usage", batch).first == 202);
    REQUIRE(call(port, "POST", "/v1/tenants/t-u/subscription", R"({"plan":"pro","trial":false})").first == 201);
    REQUIRE(tenantry::testing::eventually(20s, [&] { return total(port, "units") == 9 && total(port, "storage_bytes") > 0; }));
    REQUIRE(tenantry::testing::eventually(20s, [&] {
      return call(port, "GET", "/v1/tenants/t-u/subscription").second.find("\"status\":\"active\"") != std::string::npos;
    }));
    units = total(port, "units");
    bytes = total(port, "storage_bytes");
    serve.signal(SIGTERM);
    REQUIRE(serve.wait() == 0);
  }
  for (const std::string model : {"usage", "tenant_storage", "billing"}) {
    auto rebuilt = tenantry::testing::run_to_end(
        {TENANTRY_BINARY, "projections", "rebuild", model, "--data-dir", data_dir, "--meters-file", meters});
    INFO(rebuilt.err);
    CHECK(rebuilt.code == 0);
  }
  ChildProcess serve(serve_args);
  const uint16_t port = tenantry::testing::listening_port(serve);
  CHECK(total(port, "units") == units);
  CHECK(total(port, "storage_bytes") == bytes);
  const auto subscription = call(port, "GET", "/v1/tenants/t-u/subscription");
  CHECK(subscription.second.find("\"status\":\"active\"") != std::string::npos);
  CHECK(subscription.second.find("\"id\":\"pro\"") != std::string::npos);
  serve.signal(SIGTERM);
  CHECK(serve.wait() == 0);
}
