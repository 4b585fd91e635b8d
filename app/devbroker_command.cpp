#include <cstdio>
#include <cstdlib>

#include "app/commands.h"
#include "app/config.h"
#include "app/log_options.h"
#include "connectors/log/kafka/mock_cluster.h"

namespace tenantry::app {

int run_devbroker(const std::vector<std::string>& args) {
  const std::vector<OptionSpec> specs = {
      {"brokers", "number of mock brokers", "1", OptionKind::integer, {}, 1, 16},
      {"topic", "topic to create, as name:partitions (the mock has no CreateTopics API)", "",
       OptionKind::text, {}, INT64_MIN, INT64_MAX, true},
      {"tenantry-topics", "also create Tenantry's own topics with this many partitions (0: none)", "0",
       OptionKind::integer, {}, 0, 4096},
  };
  auto config = load_config(specs, args, [](const char* name) { return std::getenv(name); });
  if (!config) {
    std::fprintf(stderr, "tenantry devbroker: %s\n", config.error().describe().c_str());
    return 2;
  }
  if (config->help_requested()) {
    std::fputs(render_help("tenantry devbroker [options]",
                           "Starts librdkafka's mock Kafka cluster on 127.0.0.1 and prints one line\n"
                           "'bootstrap.servers=HOST:PORT,...'; runs until SIGINT or SIGTERM.\n"
                           "Limits: no transaction markers (read_committed sees aborted records), no\n"
                           "CreateTopics (use --topic), at most about 5 MiB kept per partition.",
                           specs)
                   .c_str(),
               stdout);
    return 0;
  }
  std::vector<log::TopicSpec> topics;
  for (const auto& text : config->all("topic")) {
    const auto colon = text.rfind(':');
    int partitions = 0;
    if (colon == std::string::npos || colon == 0) {
      std::fprintf(stderr, "tenantry devbroker: option --topic: expects name:partitions, got '%s'\n", text.c_str());
      return 2;
    }
    try {
      partitions = std::stoi(text.substr(colon + 1));
    } catch (const std::exception&) {
      partitions = 0;
    }
    if (partitions < 1 || partitions > 4096) {
      std::fprintf(stderr, "tenantry devbroker: option --topic: partitions must be 1 to 4096 in '%s'\n", text.c_str());
      return 2;
    }
    topics.push_back({text.substr(0, colon), partitions});
  }
  if (const auto count = config->integer("tenantry-topics"); count > 0) {
    for (auto& topic : tenantry_topics(static_cast<int32_t>(count))) topics.push_back(std::move(topic));
  }
  return log::kafka::run_devbroker(static_cast<int>(config->integer("brokers")), topics,
                                   [] { return stop_signal_pending(); });
}

}  // namespace tenantry::app
