#include <catch2/catch.hpp>

#include <fstream>
#include <map>

#include "app/config.h"
#include "test_support.h"

using namespace tenantry::app;

namespace {

const std::vector<OptionSpec> kSpecs = {
    {"http-port", "port", "8080", OptionKind::integer, {}, 0, 65535},
    {"engine", "engine", "embedded", OptionKind::choice, {"embedded", "kafka"}},
    {"fsync", "fsync", "true", OptionKind::boolean},
    {"data-dir", "dir", "var/data"},
    {"kafka-property", "prop", "", OptionKind::text, {}, INT64_MIN, INT64_MAX, true},
};

struct Env {
  std::map<std::string, std::string> values;
  std::function<const char*(const char*)> getter() const {
    return [this](const char* name) -> const char* {
      auto it = values.find(name);
      return it == values.end() ? nullptr : it->second.c_str();
    };
  }
};

}  // namespace

TEST_CASE("config: flags over environment over file over defaults", "[config]") {
  tenantry::testing::ScratchDir dir;
  const auto file = dir.path() / "tenantry.conf";
  std::ofstream(file) << "# comment\nhttp-port = 9000\nengine = kafka\ndata-dir = /from/file\n";
  Env env;
  env.values["TENANTRY_ENGINE"] = "embedded";
  env.values["TENANTRY_DATA_DIR"] = "/from/env";
  auto config = load_config(kSpecs, {"--config", file.string(), "--data-dir=/from/flag"}, env.getter());
  REQUIRE(config.has_value());
  CHECK(config->integer("http-port") == 9000);
  CHECK(config->source("http-port").starts_with("file"));
  CHECK(config->text("engine") == "embedded");
  CHECK(config->source("engine") == "env TENANTRY_ENGINE");
  CHECK(config->text("data-dir") == "/from/flag");
  CHECK(config->boolean("fsync"));
  CHECK(config->source("fsync") == "default");
}

TEST_CASE("config: repeated options and bare booleans", "[config]") {
  Env env;
  auto config = load_config(kSpecs, {"--kafka-property", "a=1", "--kafka-property=b=2", "--fsync"}, env.getter());
  REQUIRE(config.has_value());
  CHECK(config->all("kafka-property") == std::vector<std::string>{"a=1", "b=2"});
  CHECK(config->boolean("fsync"));
  env.values["TENANTRY_KAFKA_PROPERTY"] = "x=1, y=2";
  auto from_env = load_config(kSpecs, {}, env.getter());
  REQUIRE(from_env.has_value());
  CHECK(from_env->all("kafka-property") == std::vector<std::string>{"x=1", "y=2"});
}

TEST_CASE("config: bad configuration names the option at fault", "[config]") {
  Env env;
  tenantry::testing::ScratchDir dir;
  struct Case {
    std::vector<std::string> args;
    std::string option;
  };
  const auto bad_file = dir.path() / "bad.conf";
  std::ofstream(bad_file) << "no-such-option = 1\n";
  const std::vector<Case> cases = {
      {{"--http-port", "eighty"}, "http-port"},
      {{"--http-port", "70000"}, "http-port"},
      {{"--engine", "postgres"}, "engine"},
      {{"--fsync", "maybe"}, "fsync"},
      {{"--nope", "1"}, "nope"},
      {{"--http-port"}, "http-port"},
      {{"--http-port", "1", "--http-port", "2"}, "http-port"},
      {{"--config", (dir.path() / "missing.conf").string()}, "config"},
      {{"--config", bad_file.string()}, "no-such-option"},
      {{"stray"}, ""},
  };
  for (const auto& c : cases) {
    auto config = load_config(kSpecs, c.args, env.getter());
    INFO(c.args.front());
    REQUIRE_FALSE(config.has_value());
    CHECK(config.error().option == c.option);
  }
  env.values["TENANTRY_HTTP_PORT"] = "-1";
  auto config = load_config(kSpecs, {}, env.getter());
  REQUIRE_FALSE(config.has_value());
  CHECK(config.error().option == "http-port");
  CHECK_THAT(config.error().describe(), Catch::Contains("TENANTRY_HTTP_PORT"));
}

TEST_CASE("config: help lists every option with its environment variable", "[config]") {
  const std::string help = render_help("tenantry serve [options]", "Runs it.", kSpecs);
  for (const auto& spec : kSpecs) {
    CHECK_THAT(help, Catch::Contains("--" + spec.name));
    CHECK_THAT(help, Catch::Contains(environment_name(spec.name)));
  }
}
