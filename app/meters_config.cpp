#include "app/meters_config.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <fstream>
#include <set>
#include <sstream>

namespace tenantry::app {

namespace {

domain::usage::MeterDefinition builtin(const std::string& name, const std::string& type,
                                       domain::usage::Aggregation aggregation, const std::string& path) {
  domain::usage::MeterDefinition meter;
  meter.name = name;
  meter.event_type = type;
  meter.aggregation = aggregation;
  meter.value = domain::usage::parse_path(path);
  return meter;
}

}  // namespace

std::vector<domain::usage::MeterDefinition> builtin_meters() {
  using domain::usage::Aggregation;
  return {builtin("api_calls", "tenantry.api.requests", Aggregation::sum, "$.calls"),
          builtin("api_request_bytes", "tenantry.api.requests", Aggregation::sum, "$.requestBytes"),
          builtin("api_response_bytes", "tenantry.api.requests", Aggregation::sum, "$.responseBytes"),
          builtin("storage_bytes", "tenantry.storage.used", Aggregation::latest, "$.bytes")};
}

std::expected<std::vector<domain::usage::MeterDefinition>, std::string> configured_meters(const std::string& path) {
  auto meters = builtin_meters();
  if (path.empty()) return meters;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  std::set<std::string> names;
  for (const auto& meter : meters) names.insert(meter.name);
  try {
    auto root = Poco::JSON::Parser().parse(text.str()).extract<Poco::JSON::Object::Ptr>();
    if (!root || !root->isArray("meters")) return std::unexpected(path + ": meters: required, an array");
    auto list = root->getArray("meters");
    for (size_t i = 0; i < list->size(); ++i) {
      const std::string at = path + ": meters[" + std::to_string(i) + "]";
      auto object = list->getObject(static_cast<unsigned>(i));
      if (!object) return std::unexpected(at + ": must be an object");
      for (const auto& [key, value] : *object) {
        if (key != "name" && key != "eventType" && key != "aggregation" && key != "valueProperty" && key != "groupBy" &&
            key != "transactions") {
          return std::unexpected(at + "." + key + ": unknown field");
        }
      }
      domain::usage::MeterDefinition meter;
      meter.name = object->optValue<std::string>("name", "");
      meter.event_type = object->optValue<std::string>("eventType", "");
      const std::string aggregation = object->optValue<std::string>("aggregation", "");
      auto parsed = domain::usage::aggregation_from(aggregation);
      if (!parsed) return std::unexpected(at + ".aggregation: must be one of COUNT, SUM, MAX, MIN, UNIQUE_COUNT, LATEST");
      meter.aggregation = *parsed;
      if (object->has("valueProperty") && !object->isNull("valueProperty")) {
        meter.value = domain::usage::parse_path(object->getValue<std::string>("valueProperty"));
        if (!meter.value) return std::unexpected(at + ".valueProperty: must be a path such as $.tokens");
      }
      if (object->has("groupBy")) {
        auto groups = object->getArray("groupBy");
        if (!groups) return std::unexpected(at + ".groupBy: must be an array of paths");
        for (size_t g = 0; g < groups->size(); ++g) {
          auto group = domain::usage::parse_path(groups->getElement<std::string>(static_cast<unsigned>(g)));
          if (!group) return std::unexpected(at + ".groupBy[" + std::to_string(g) + "]: must be a path such as $.model");
          meter.group_by.push_back(std::move(*group));
        }
      }
      if (object->has("transactions")) {
        const auto flag = object->get("transactions");
        if (!flag.isBoolean()) return std::unexpected(at + ".transactions: must be true or false");
        meter.transactions = flag.extract<bool>();
      }
      if (auto errors = domain::usage::check_definition(meter); !errors.empty()) {
        return std::unexpected(at + "." + errors[0].field + ": " + errors[0].message);
      }
      if (!names.insert(meter.name).second) return std::unexpected(at + ".name: " + meter.name + " is defined twice");
      meters.push_back(std::move(meter));
    }
  } catch (const std::exception& error) {
    return std::unexpected(path + ": " + error.what());
  }
  return meters;
}

std::vector<OptionSpec> usage_option_specs() {
  return {
      {"meters-file", "JSON file of meters to aggregate usage by, beside the built-in ones", ""},
      {"usage-dedup-window-s", "how long a usage event id is remembered against retries", "86400", OptionKind::integer,
       {}, 60, 90 * 86400},
      {"usage-max-age-days", "oldest usage event accepted, in days before its ingestion", "35", OptionKind::integer, {},
       1, 3650},
      {"usage-max-future-s", "how far ahead of now a usage event's time may be", "300", OptionKind::integer, {}, 0,
       86400},
  };
}

std::expected<projections::UsageModelOptions, std::string> usage_model_options(const Config& config) {
  auto meters = configured_meters(config.text("meters-file"));
  if (!meters) return std::unexpected("option --meters-file: " + meters.error());
  projections::UsageModelOptions options;
  options.meters = std::move(*meters);
  options.dedup_window_us = config.integer("usage-dedup-window-s") * 1000000;
  options.limits.max_age_us = config.integer("usage-max-age-days") * 86400 * 1000000;
  options.limits.max_future_us = config.integer("usage-max-future-s") * 1000000;
  return options;
}

}  // namespace tenantry::app
