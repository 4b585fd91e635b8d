#include "app/bench/commands_bench.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <deque>

#include "app/log_options.h"
#include "commands/command_client.h"
#include "commands/command_processor.h"
#include "commands/tenant_aggregate.h"
#include "connectors/clock/clock.h"
#include "connectors/log/embedded/embedded_log.h"
#include "connectors/store/rocks_store.h"
#include "tenantry/v1/tenant.pb.h"

namespace tenantry::bench {

namespace {

using Clock = std::chrono::steady_clock;

// Resident set size from /proc/self/statm (pages * page size).
int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size_pages = 0;
  int64_t resident_pages = 0;
  statm >> size_pages >> resident_pages;
  return resident_pages * 4096;
}

std::string tenant_id(int index) { return "tenant-" + std::to_string(index); }

v1::CommandEnvelope registration(int index) {
  v1::RegisterTenant body;
  body.set_slug("bench-" + std::to_string(index));
  body.set_display_name("Bench tenant " + std::to_string(index));
  body.set_plan("basic");
  body.set_isolation_tier(v1::ISOLATION_TIER_SHARED);
  body.set_region("eu-west-1");
  body.mutable_admin_contact()->set_name("Ops");
  body.mutable_admin_contact()->set_email("ops@example.com");
  v1::CommandEnvelope command;
  command.set_command_id("register-" + std::to_string(index));
  command.set_tenant_id(tenant_id(index));
  command.set_command_type("tenantry.v1.RegisterTenant");
  command.set_payload(body.SerializeAsString());
  return command;
}

v1::CommandEnvelope configure(int tenant, int64_t n) {
  v1::ConfigureTenant body;
  body.set_display_name("Bench tenant " + std::to_string(tenant) + " v" + std::to_string(n));
  v1::CommandEnvelope command;
  command.set_command_id("configure-" + std::to_string(n));
  command.set_tenant_id(tenant_id(tenant));
  command.set_command_type("tenantry.v1.ConfigureTenant");
  command.set_payload(body.SerializeAsString());
  return command;
}

struct Timed {
  Clock::time_point sent;
  std::future<log::Result<v1::CommandReply>> reply;
};

// Runs `count` commands with at most `in_flight` awaiting replies; returns latencies (us).
std::vector<double> run_commands(commands::CommandClient& client, int64_t count, int in_flight,
                                 const std::function<v1::CommandEnvelope(int64_t)>& make, std::string* error) {
  std::vector<double> latencies;
  latencies.reserve(static_cast<size_t>(count));
  std::deque<Timed> window;
  auto settle = [&](Timed& timed) {
    if (timed.reply.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
      *error = "a command got no reply within 60 s";
      return;
    }
    auto reply = timed.reply.get();
    if (!reply) {
      *error = reply.error().message;
    } else if (reply->status() != v1::CommandReply::STATUS_ACCEPTED) {
      *error = "command refused: " + reply->error_type() + ": " + reply->message();
    }
    latencies.push_back(std::chrono::duration<double, std::micro>(Clock::now() - timed.sent).count());
  };
  for (int64_t n = 0; n < count && error->empty(); ++n) {
    if (static_cast<int>(window.size()) >= in_flight) {
      settle(window.front());
      window.pop_front();
    }
    window.push_back(Timed{Clock::now(), client.submit(make(n))});
  }
  while (!window.empty() && error->empty()) {
    settle(window.front());
    window.pop_front();
  }
  return latencies;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(p * static_cast<double>(values.size())))];
}

// The raw log: the same number of event-sized records, appended in batches as large
// as the processor's, pipelined the same way.
double raw_append_rate(log::EventLog& log, int64_t records, int partitions, std::string* error) {
  if (auto created = log.create_topic({"bench.raw", partitions}); !created) {
    *error = created.error().message;
    return 0;
  }
  const std::string value(180, 'x');
  constexpr int kBatch = 500;
  constexpr int kInFlight = 8;
  std::mutex mutex;
  std::condition_variable cv;
  int pending = 0;
  const auto start = Clock::now();
  for (int64_t done = 0; done < records;) {
    log::AppendRequest request;
    for (int i = 0; i < kBatch && done < records; ++i, ++done) {
      request.records.push_back(log::Record{"bench.raw", tenant_id(static_cast<int>(done % 10000)), value, {}, std::nullopt});
    }
    {
      std::unique_lock lock(mutex);
      cv.wait(lock, [&] { return pending < kInFlight; });
      ++pending;
    }
    log.append_async(std::move(request), [&](log::Result<log::AppendResult> result) {
      std::lock_guard lock(mutex);
      if (!result && error->empty()) *error = result.error().message;
      --pending;
      cv.notify_all();
    });
  }
  std::unique_lock lock(mutex);
  cv.wait(lock, [&] { return pending == 0; });
  return static_cast<double>(records) / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

std::vector<CommandsFigure> bench_commands(const CommandsBenchOptions& options, std::string* error) {
  namespace fs = std::filesystem;
  std::vector<CommandsFigure> figures;
  for (const int tenants : options.tenant_counts) {
    const fs::path root = fs::path(options.dir) / std::to_string(tenants);
    fs::remove_all(root);
    fs::create_directories(root);
    CommandsFigure figure;
    figure.tenants = tenants;
    {
      log::embedded::EmbeddedOptions log_options;
      log_options.path = (root / "log").string();
      auto log = log::embedded::open_embedded_log(log_options);
      if (!log) {
        *error = log.error().message;
        return figures;
      }
      for (const auto& topic : app::tenantry_topics(options.partitions)) {
        if (auto created = (*log)->create_topic(topic); !created) {
          *error = created.error().message;
          return figures;
        }
      }
      auto store = store::RocksStore::open({(root / "state").string(), commands::CommandProcessor::store_families()});
      if (!store) {
        *error = store.error().message;
        return figures;
      }
      clock::SystemClock clock;
      commands::TenantAggregate aggregate;
      commands::CommandProcessor processor(**log, **store, aggregate, clock);
      if (auto started = processor.start(); !started) {
        *error = started.error().message;
        return figures;
      }
      auto client = commands::CommandClient::start(**log);
      if (!client) {
        *error = client.error().message;
        return figures;
      }
      const int64_t rss_before = resident_bytes();
      run_commands(**client, tenants, options.in_flight, [](int64_t n) { return registration(static_cast<int>(n)); },
                   error);
      if (!error->empty()) return figures;
      figure.rss_bytes_per_tenant = static_cast<double>(resident_bytes() - rss_before) / tenants;

      const auto start = Clock::now();
      auto latencies = run_commands(**client, options.commands, options.in_flight,
                                    [&](int64_t n) { return configure(static_cast<int>(n % tenants), n); }, error);
      if (!error->empty()) return figures;
      figure.commands = options.commands;
      figure.seconds = std::chrono::duration<double>(Clock::now() - start).count();
      figure.commands_per_second = static_cast<double>(options.commands) / figure.seconds;
      figure.latency_p50_us = percentile(latencies, 0.50);
      figure.latency_p99_us = percentile(latencies, 0.99);
      client->reset();
      processor.stop();
      figure.raw_append_records_per_second = raw_append_rate(**log, options.commands, options.partitions, error);
      if (!error->empty()) return figures;
    }
    fs::remove_all(root);
    figures.push_back(figure);
  }
  return figures;
}

}  // namespace tenantry::bench
