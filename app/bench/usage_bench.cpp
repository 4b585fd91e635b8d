#include "app/bench/usage_bench.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <google/protobuf/struct.pb.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "app/bench/bench_support.h"
#include "app/log_options.h"
#include "commands/command_client.h"
#include "commands/command_processor.h"
#include "commands/name_registry.h"
#include "commands/tenant_aggregate.h"
#include "connectors/clock/clock.h"
#include "connectors/clock/time_zones.h"
#include "connectors/http/auth/jwt_verifier.h"
#include "connectors/http/http_server.h"
#include "connectors/log/embedded/embedded_log.h"
#include "connectors/store/key_codec.h"
#include "connectors/store/rocks_store.h"
#include "gateway/request_guard.h"
#include "gateway/usage_api.h"
#include "projections/projection_runner.h"
#include "projections/tenant_directory/tenant_directory.h"
#include "projections/usage/usage_model.h"
#include "tenantry/v1/usage.pb.h"

namespace tenantry::bench {

namespace {

using store::get_be;
using store::put_be;

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;
constexpr int kAppendBatch = 1000;
constexpr int64_t kSecondUs = 1000000;

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Event n: tenant n % tenants, tokens 1-100; every 100th repeats event n - 1 (a client's
// retry), which must count zero more times.
v1::UsageEvent event_of(int64_t n, int tenants, int64_t base_us) {
  const int64_t source = n % 100 == 99 ? n - 1 : n;
  v1::UsageEvent event;
  event.set_tenant_id(tenant_id(static_cast<int>(source % tenants)));
  event.set_id("e-" + std::to_string(source));
  event.set_source("bench");
  event.set_type("llm.completion");
  event.set_time_us(base_us - (source % 3600) * kSecondUs);
  event.set_ingested_at_us(base_us);
  (*event.mutable_data()->mutable_fields())["tokens"].set_number_value(static_cast<double>(source % 100 + 1));
  return event;
}

// The raw baseline: the same keys the projection writes for an event (its dedup key,
// then per window the tenant's and the platform's aggregate), written blind in batches.
double raw_write_rate(const fs::path& dir, int64_t events, int tenants, int64_t base_us, int64_t* keys_per_event,
                      std::string* error) {
  auto store = store::RocksStore::open({dir.string(), {"usage"}});
  if (!store) {
    *error = store.error().message;
    return 0;
  }
  const std::string value(56, 'v');
  const auto start = Clock::now();
  for (int64_t done = 0; done < events;) {
    auto batch = (*store)->unindexed_batch();  // a plain rocksdb::WriteBatch
    for (int i = 0; i < kAppendBatch && done < events; ++i, ++done) {
      const auto event = event_of(done, tenants, base_us);
      std::string dedup = event.tenant_id();
      dedup += '\0';
      dedup += 'd';
      batch.put("usage", dedup + event.id(), value.substr(0, 8));
      for (const char window : {'m', 'h', 'd', 'M'}) {
        for (const bool platform : {false, true}) {
          std::string key = platform ? std::string() : event.tenant_id();
          key += '\0';
          key += "atokens";
          key += '\0';
          key += window;
          put_be(key, static_cast<uint64_t>(event.time_us() / (60 * kSecondUs)));
          if (platform) key += "0000";
          batch.put("usage", key, value);
        }
      }
    }
    if (auto written = (*store)->write(batch, false); !written) {
      *error = written.error().message;
      return 0;
    }
  }
  *keys_per_event = 1 + 4 * 2;
  return static_cast<double>(events) / std::chrono::duration<double>(Clock::now() - start).count();
}

bool caught_up(projections::ProjectionRunner& runner) {
  for (const auto& partition : runner.lag()) {
    if (partition.applied_offset < partition.end_offset) return false;
  }
  return true;
}

}  // namespace

UsageFigures bench_usage(const UsageBenchOptions& options, std::string* error) {
  UsageFigures figures;
  const fs::path root = options.dir;
  fs::remove_all(root);
  fs::create_directories(root);
  const int64_t base_us = now_us();
  const int tenants = std::max(options.tenants, 1);

  figures.events = options.events;
  figures.raw_write_events_per_second =
      raw_write_rate(root / "raw", options.events, tenants, base_us, &figures.raw_keys_per_event, error);
  if (!error->empty()) return figures;

  auto log = open_bench_log((root / "log").string(), options.partitions, error);
  if (!log) return figures;
  auto families = commands::CommandProcessor::store_families();
  for (const auto& family : projections::TenantDirectoryModel::store_families()) families.push_back(family);
  families.push_back(projections::kUsageFamily);
  auto store = store::RocksStore::open({(root / "state").string(), families});
  if (!store) {
    *error = store.error().message;
    return figures;
  }

  domain::usage::MeterDefinition tokens;
  tokens.name = "tokens";
  tokens.event_type = "llm.completion";
  tokens.aggregation = domain::usage::Aggregation::sum;
  tokens.value = domain::usage::parse_path("$.tokens");
  projections::UsageModelOptions model_options;
  model_options.meters = {tokens};
  model_options.partitions = options.partitions;
  projections::UsageModel model(model_options);
  projections::UsageQueries queries(**store, model);
  projections::RunnerOptions runner_options;
  runner_options.topic = "tenantry.usage";
  runner_options.kind = log::TopicKind::fenced;
  runner_options.idle_wait = std::chrono::milliseconds(50);
  runner_options.max_batch_events = 10000;  // as serve runs it
  projections::ProjectionRunner runner(*log, **store, model, runner_options);
  if (auto started = runner.start(); !started) {
    *error = started.error().message;
    return figures;
  }

  // The topic path: durable appends, pipelined, while the projection counts them (the
  // events are made inside the timed span, as a producer would).
  {
    const auto start = Clock::now();
    std::vector<log::Record> records;
    records.reserve(static_cast<size_t>(options.events));
    for (int64_t done = 0; done < options.events; ++done) {
      auto event = event_of(done, tenants, base_us);
      records.push_back({"tenantry.usage", event.tenant_id(), event.SerializeAsString(), {}, std::nullopt});
    }
    append_pipelined(*log, std::move(records), error, kAppendBatch);
    if (!error->empty()) return figures;
    while (!caught_up(runner)) {
      if (auto failed = runner.failure()) {
        *error = failed->message;
        return figures;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    figures.topic_seconds = std::chrono::duration<double>(Clock::now() - start).count();
    figures.topic_events_per_second = static_cast<double>(options.events) / figures.topic_seconds;
    figures.duplicates_seen = model.counters().duplicates;
  }

  // Lag: one event appended, then a usage query polled until it shows it.
  {
    std::vector<double> lags;
    for (int i = 0; i < options.lag_samples; ++i) {
      const int tenant = i % tenants;
      projections::UsageQuery query;
      query.tenant_id = tenant_id(tenant);
      query.meter = "tokens";
      query.window = domain::usage::Window::month;
      query.from_us = base_us - int64_t{40} * 86400 * kSecondUs;
      query.to_us = base_us + int64_t{40} * 86400 * kSecondUs;
      auto before = queries.query(query);
      if (!before) {
        *error = before.error().message;
        return figures;
      }
      v1::UsageEvent event;
      event.set_tenant_id(query.tenant_id);
      event.set_id("lag-" + std::to_string(i));
      event.set_source("bench");
      event.set_type("llm.completion");
      event.set_ingested_at_us(now_us());
      (*event.mutable_data()->mutable_fields())["tokens"].set_number_value(1);
      const auto sent = Clock::now();
      log::AppendRequest request;
      request.records.push_back({"tenantry.usage", event.tenant_id(), event.SerializeAsString(), {}, std::nullopt});
      if (auto appended = log->append(std::move(request)); !appended) {
        *error = appended.error().message;
        return figures;
      }
      while (true) {
        auto after = queries.query(query);
        if (after && after->total > before->total) break;
        if (Clock::now() - sent > std::chrono::seconds(10)) {
          *error = "an event did not become queryable within 10 s";
          return figures;
        }
        std::this_thread::yield();
      }
      lags.push_back(std::chrono::duration<double, std::micro>(Clock::now() - sent).count());
    }
    figures.lag_p50_us = percentile(lags, 0.50);
    figures.lag_p99_us = percentile(lags, 0.99);
    figures.lag_max_us = lags.empty() ? 0 : *std::max_element(lags.begin(), lags.end());
  }

  // The gateway: tenants registered through the processor, the directory caught up.
  clock::SystemClock clock;
  commands::TenantAggregate aggregate;
  auto names = commands::NameRegistry::open(*log);
  if (!names) {
    *error = names.error().message;
    return figures;
  }
  commands::ProcessorOptions processor_options;
  processor_options.names = names->get();
  commands::CommandProcessor processor(*log, **store, aggregate, clock, processor_options);
  if (auto started = processor.start(); !started) {
    *error = started.error().message;
    return figures;
  }
  auto client = commands::CommandClient::start(*log);
  if (!client) {
    *error = client.error().message;
    return figures;
  }
  for (int from = 0; from < tenants; from += 1000) {
    std::vector<std::future<log::Result<v1::CommandReply>>> replies;
    for (int i = from; i < std::min(tenants, from + 1000); ++i) replies.push_back((*client)->submit(registration(i, "enterprise")));
    for (auto& reply : replies) {
      if (reply.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
        *error = "registration timed out";
        return figures;
      }
      auto outcome = reply.get();
      if (!outcome || outcome->status() != v1::CommandReply::STATUS_ACCEPTED) {
        *error = "registration refused";
        return figures;
      }
    }
  }
  projections::TenantDirectoryModel directory_model;
  projections::TenantDirectory directory(**store);
  gateway::TenantContextCache contexts(directory);
  projections::ProjectionRunner directory_runner(*log, **store, directory_model);
  if (auto applied = directory_runner.catch_up(); !applied) {
    *error = applied.error().message;
    return figures;
  }
  const std::string secret = "bench-secret-bench-secret-bench-secret!";
  http::auth::JwtOptions jwt_options;
  jwt_options.hs256_secret = secret;
  auto jwt = http::auth::JwtVerifier::create(jwt_options);
  if (!jwt) {
    *error = jwt.error().message;
    return figures;
  }
  gateway::GatewayDeps deps{**client, directory, **jwt, [] { return now_us(); }};
  deps.contexts = &contexts;
  clock::TimeZones zones;
  gateway::UsageApiDeps usage_deps{deps, *log, model, queries, zones, nullptr};

  // Over HTTP: batches of events from a platform service, on keep-alive connections.
  {
    http::HttpServerOptions http_options;
    http_options.port = 0;
    http_options.max_threads = options.http_connections + 4;
    auto server = http::HttpServer::start(http_options, gateway::usage_routes(usage_deps));
    if (!server) {
      *error = server.error();
      return figures;
    }
    const std::string token = mint_token(secret);
    const int64_t batches = std::max<int64_t>(options.http_events / std::max(options.http_batch, 1), 1);
    std::atomic<int64_t> next{0};
    std::atomic<int64_t> accepted{0};
    std::mutex error_mutex;
    const auto start = Clock::now();
    std::vector<std::thread> connections;
    for (int c = 0; c < options.http_connections; ++c) {
      connections.emplace_back([&] {
        Poco::Net::HTTPClientSession session("127.0.0.1", (*server)->port());
        session.setKeepAlive(true);
        for (int64_t b = next++; b < batches; b = next++) {
          std::string body = "[";
          for (int e = 0; e < options.http_batch; ++e) {
            const int64_t n = b * options.http_batch + e;
            body += (e ? "," : "") + std::string(R"({"specversion":"1.0","id":"h-)") + std::to_string(n) +
                    R"(","source":"bench","type":"llm.completion","tenantid":")" +
                    tenant_id(static_cast<int>(n % tenants)) + R"(","data":{"tokens":)" +
                    std::to_string(n % 100 + 1) + "}}";
          }
          body += "]";
          try {
            Poco::Net::HTTPRequest request("POST", "/v1/usage", Poco::Net::HTTPMessage::HTTP_1_1);
            request.set("Authorization", "Bearer " + token);
            request.setContentType("application/json");
            request.setContentLength(static_cast<std::streamsize>(body.size()));
            session.sendRequest(request) << body;
            Poco::Net::HTTPResponse response;
            std::string text;
            Poco::StreamCopier::copyToString(session.receiveResponse(response), text);
            if (response.getStatus() != Poco::Net::HTTPResponse::HTTP_ACCEPTED) {
              std::lock_guard lock(error_mutex);
              if (error->empty()) *error = "POST /v1/usage answered " + std::to_string(response.getStatus()) + ": " + text;
              return;
            }
            accepted += options.http_batch;
          } catch (const std::exception& e) {
            std::lock_guard lock(error_mutex);
            if (error->empty()) *error = std::string("POST /v1/usage: ") + e.what();
            return;
          }
        }
      });
    }
    for (auto& connection : connections) connection.join();
    figures.http_events = accepted;
    figures.http_events_per_second =
        static_cast<double>(accepted) / std::chrono::duration<double>(Clock::now() - start).count();
    (*server)->stop();
    if (!error->empty()) return figures;
  }

  // The quota check: admit and release, for each tenant's own principal in turn.
  {
    gateway::GuardOptions guard_options;
    gateway::RequestGuard guard(
        deps, *log, zones,
        gateway::projection_usage_reader(queries),
        nullptr, guard_options);
    std::vector<http::auth::Principal> principals(static_cast<size_t>(tenants));
    std::vector<std::shared_ptr<const gateway::TenantContext>> loaded(static_cast<size_t>(tenants));
    for (int i = 0; i < tenants; ++i) {
      principals[i].subject = "user-" + std::to_string(i);
      principals[i].tenant_id = tenant_id(i);
      principals[i].key_id = "key-" + std::to_string(i);
      principals[i].credential = "api_key";
      principals[i].roles = {http::auth::Role::tenant_member};
      auto context = contexts.get(tenant_id(i));
      if (!context || !*context) {
        *error = "no context for " + tenant_id(i);
        return figures;
      }
      loaded[i] = *context;
    }
    http::HttpRequest request;
    // Warm: every tenant's quotas computed and day and month counters seeded once.
    for (int i = 0; i < tenants; ++i) {
      if (auto admission = guard.admit(request, principals[i], now_us())) guard.release(*admission, 0, 0);
    }
    // In five rounds, the median reported: the store's background compactions (after
    // the phases above) share the two cores with whichever round they overlap.
    const int64_t at = now_us();
    int64_t refused = 0;
    const int64_t per_round = std::max<int64_t>(options.quota_checks / 5, 1);
    std::vector<double> rounds;
    for (int round = 0; round < 5; ++round) {
      const auto start = Clock::now();
      for (int64_t n = round * per_round; n < (round + 1) * per_round; ++n) {
        const size_t i = static_cast<size_t>(n % tenants);
        auto admission = guard.admit(request, principals[i], at + n);
        refused += admission && admission->allowed ? 0 : 1;
        if (admission) guard.release(*admission, 100, 100);
      }
      rounds.push_back(std::chrono::duration<double, std::nano>(Clock::now() - start).count() /
                       static_cast<double>(per_round));
    }
    figures.quota_check_ns = percentile(rounds, 0.5);
    figures.quota_check_rounds_ns = rounds;
    if (refused > 0) *error = std::to_string(refused) + " quota checks refused; the measured path is admission";
  }

  client->reset();
  processor.stop();
  runner.stop();
  fs::remove_all(root);
  return figures;
}

}  // namespace tenantry::bench
