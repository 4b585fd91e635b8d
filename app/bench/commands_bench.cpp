#include "app/bench/commands_bench.h"

#include "app/bench/bench_support.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "app/log_options.h"
#include "commands/command_client.h"
#include "commands/command_processor.h"
#include "commands/processor_group.h"
#include "commands/tenant_aggregate.h"
#include "connectors/clock/clock.h"
#include "connectors/http/auth/jwt_verifier.h"
#include "connectors/http/http_server.h"
#include "connectors/log/embedded/embedded_log.h"
#include "connectors/store/rocks_store.h"
#include "gateway/tenants_api.h"
#include "projections/projection_runner.h"
#include "projections/tenant_directory/tenant_directory.h"
#include "tenantry/v1/tenant.pb.h"

namespace tenantry::bench {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kReplyTimeout = std::chrono::seconds(60);

v1::CommandEnvelope configure(int tenant, const std::string& id, int64_t n) {
  v1::ConfigureTenant body;
  body.set_display_name("Bench tenant " + std::to_string(tenant) + " v" + std::to_string(n));
  v1::CommandEnvelope command;
  command.set_command_id(id);
  command.set_tenant_id(tenant_id(tenant));
  command.set_command_type("tenantry.v1.ConfigureTenant");
  command.set_payload(body.SerializeAsString());
  return command;
}

void record_error(std::mutex& mutex, std::string* error, const std::string& what) {
  std::lock_guard lock(mutex);
  if (error->empty()) *error = what;
}

std::string outcome_error(log::Result<v1::CommandReply>& reply) {
  if (!reply) return reply.error().message;
  if (reply->status() != v1::CommandReply::STATUS_ACCEPTED) {
    return "command refused: " + reply->error_type() + ": " + reply->message();
  }
  return {};
}

// Saturation in process: `count` commands with at most `in_flight` awaiting replies;
// returns latencies (us), which at saturation are mostly queueing.
std::vector<double> run_window(commands::CommandClient& client, int64_t count, int in_flight,
                               const std::function<v1::CommandEnvelope(int64_t)>& make, std::string* error) {
  struct Timed {
    Clock::time_point sent;
    std::future<log::Result<v1::CommandReply>> reply;
  };
  std::vector<double> latencies;
  latencies.reserve(static_cast<size_t>(count));
  std::deque<Timed> window;
  auto settle = [&](Timed& timed) {
    if (timed.reply.wait_for(kReplyTimeout) != std::future_status::ready) {
      *error = "a command got no reply within 60 s";
      return;
    }
    auto reply = timed.reply.get();
    if (auto failed = outcome_error(reply); !failed.empty()) *error = failed;
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

// Open loop in process: command n is due at start + n / rate whatever happened to the
// ones before it; its latency runs from when it was due to its reply. A collector
// thread takes the replies in order (they arrive in about that order).
std::vector<double> run_paced(commands::CommandClient& client, int64_t count, double per_second,
                              const std::function<v1::CommandEnvelope(int64_t)>& make, std::string* error) {
  struct Due {
    Clock::time_point due;
    std::future<log::Result<v1::CommandReply>> reply;
  };
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<Due> waiting;
  bool done = false;
  std::vector<double> latencies;
  latencies.reserve(static_cast<size_t>(count));
  std::string collector_error;
  std::thread collector([&] {
    for (;;) {
      Due next;
      {
        std::unique_lock lock(mutex);
        ready.wait(lock, [&] { return done || !waiting.empty(); });
        if (waiting.empty()) return;
        next = std::move(waiting.front());
        waiting.pop_front();
      }
      if (next.reply.wait_for(kReplyTimeout) != std::future_status::ready) {
        collector_error = "a command got no reply within 60 s";
        continue;
      }
      auto reply = next.reply.get();
      latencies.push_back(std::chrono::duration<double, std::micro>(Clock::now() - next.due).count());
      if (auto failed = outcome_error(reply); !failed.empty() && collector_error.empty()) collector_error = failed;
    }
  });
  const auto start = Clock::now() + std::chrono::milliseconds(5);
  for (int64_t n = 0; n < count; ++n) {
    const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(static_cast<double>(n) / per_second));
    std::this_thread::sleep_until(due);
    auto reply = client.submit(make(n));
    std::lock_guard lock(mutex);
    waiting.push_back(Due{due, std::move(reply)});
    ready.notify_one();
  }
  {
    std::lock_guard lock(mutex);
    done = true;
    ready.notify_one();
  }
  collector.join();
  if (!collector_error.empty() && error->empty()) *error = collector_error;
  return latencies;
}

// HS256 JWT for the bench's own caller (platform_admin), signed with OpenSSL.
// The HTTP side: suspend and reactivate, alternating per tenant (the gateway's write
// routes that need no other state). A tenant's requests must not overtake each other,
// so every tenant belongs to one connection: `connections` divides the tenant count
// and request n (tenant n % tenants) goes out on connection n % connections.
class HttpDriver {
 public:
  HttpDriver(uint16_t port, std::string token, int tenants, std::string run)
      : port_(port), token_(std::move(token)), tenants_(tenants), run_(std::move(run)),
        suspended_(static_cast<size_t>(tenants), 0) {}

  static int connections_for(int tenants, int at_most) {
    for (int c = std::min(at_most, tenants); c > 1; --c) {
      if (tenants % c == 0) return c;
    }
    return 1;
  }

  // Open loop when per_second > 0 (latency from each request's due time), else as
  // fast as each connection goes. Returns latencies (us).
  std::vector<double> run(int64_t count, int connections, double per_second, std::string* error) {
    std::vector<std::vector<double>> latencies(static_cast<size_t>(connections));
    std::mutex mutex;
    std::vector<std::thread> threads;
    const auto start = Clock::now() + std::chrono::milliseconds(5);
    for (int c = 0; c < connections; ++c) {
      threads.emplace_back([&, c] {
        // Connected here so TCP_NODELAY is set before the first request: a request's
        // headers and body are two writes, and Nagle would hold the body back until
        // the server's delayed ACK of the headers.
        Poco::Net::StreamSocket socket;
        try {
          socket.connect(Poco::Net::SocketAddress("127.0.0.1", port_));
          socket.setNoDelay(true);
        } catch (const Poco::Exception& failure) {
          record_error(mutex, error, "connecting: " + failure.displayText());
          return;
        }
        Poco::Net::HTTPClientSession session(socket);
        session.setKeepAlive(true);
        session.setTimeout(Poco::Timespan(60, 0));
        for (int64_t n = c; n < count; n += connections) {
          {
            std::lock_guard lock(mutex);
            if (!error->empty()) return;
          }
          auto due = Clock::now();
          if (per_second > 0) {
            due = start + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(static_cast<double>(n) / per_second));
            std::this_thread::sleep_until(due);
          }
          if (auto failed = send(session, static_cast<int>(n % tenants_), n); !failed.empty()) {
            record_error(mutex, error, failed);
            return;
          }
          latencies[static_cast<size_t>(c)].push_back(
              std::chrono::duration<double, std::micro>(Clock::now() - due).count());
        }
      });
    }
    for (auto& thread : threads) thread.join();
    std::vector<double> all;
    for (auto& list : latencies) all.insert(all.end(), list.begin(), list.end());
    ++phase_;
    return all;
  }

 private:
  std::string send(Poco::Net::HTTPClientSession& session, int tenant, int64_t n) {
    char& suspended = suspended_[static_cast<size_t>(tenant)];
    const std::string path = "/v1/tenants/" + tenant_id(tenant) + (suspended ? "/reactivate" : "/suspend");
    const std::string body = suspended ? "{}" : R"({"reason":"bench"})";
    try {
      Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, path, Poco::Net::HTTPMessage::HTTP_1_1);
      request.setKeepAlive(true);
      request.setContentType("application/json");
      request.setContentLength(static_cast<std::streamsize>(body.size()));
      request.set("Authorization", "Bearer " + token_);
      request.set("Idempotency-Key", run_ + "-" + std::to_string(phase_) + "-" + std::to_string(n));
      session.sendRequest(request) << body;
      Poco::Net::HTTPResponse response;
      std::istream& in = session.receiveResponse(response);
      std::string answer;
      Poco::StreamCopier::copyToString(in, answer);
      if (response.getStatus() != Poco::Net::HTTPResponse::HTTP_OK) {
        return "POST " + path + ": " + std::to_string(static_cast<int>(response.getStatus())) + " " + answer;
      }
    } catch (const Poco::Exception& failure) {
      return "POST " + path + ": " + failure.displayText();
    }
    suspended = !suspended;
    return {};
  }

  uint16_t port_;
  std::string token_;
  int tenants_;
  std::string run_;
  std::vector<char> suspended_;  // per tenant; each only ever touched by its connection's thread
  int phase_ = 0;
};

// The raw log: the same number of event-sized records, appended in batches as large
// as the processor's, pipelined the same way.
double raw_append_rate(log::EventLog& log, int64_t records, int partitions, std::string* error) {
  if (auto created = log.create_topic({"bench.raw", partitions}); !created) {
    *error = created.error().message;
    return 0;
  }
  const std::string value(180, 'x');
  std::vector<log::Record> batch;
  batch.reserve(static_cast<size_t>(records));
  for (int64_t i = 0; i < records; ++i) {
    batch.push_back(log::Record{"bench.raw", tenant_id(static_cast<int>(i % 10000)), value, {}, std::nullopt});
  }
  return append_pipelined(log, std::move(batch), error);
}

void fill_latency(ModeFigure& figure, const std::vector<double>& latencies, int64_t count, double per_second) {
  figure.paced_commands = count;
  figure.paced_per_second = per_second;
  figure.latency_p50_us = percentile(latencies, 0.50);
  figure.latency_p99_us = percentile(latencies, 0.99);
  figure.latency_max_us = latencies.empty() ? 0 : *std::max_element(latencies.begin(), latencies.end());
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
      auto log = open_bench_log((root / "log").string(), options.partitions, error);
      if (!log) return figures;
      // The node's local state as serve opens it: processor cache and tenant directory.
      auto families = commands::CommandProcessor::store_families();
      for (const auto& family : projections::TenantDirectoryModel::store_families()) families.push_back(family);
      auto store = store::RocksStore::open({(root / "state").string(), families});
      if (!store) {
        *error = store.error().message;
        return figures;
      }
      clock::SystemClock clock;
      commands::TenantAggregate aggregate;
      // As serve runs it: registrations claim their slugs platform-wide.
      auto names = commands::NameRegistry::open(*log);
      if (!names) {
        *error = names.error().message;
        return figures;
      }
      commands::ProcessorOptions processor_options;
      processor_options.names = names->get();
      commands::ProcessorGroup processor(*log, **store, aggregate, clock, processor_options, options.processors);
      if (auto started = processor.start(); !started) {
        *error = started.error().message;
        return figures;
      }
      auto client = commands::CommandClient::start(*log);
      if (!client) {
        *error = client.error().message;
        return figures;
      }
      const int64_t rss_before = resident_bytes();
      run_window(**client, tenants, options.in_flight, [](int64_t n) { return registration(static_cast<int>(n)); },
                 error);
      if (!error->empty()) return figures;
      figure.rss_bytes_per_tenant = static_cast<double>(resident_bytes() - rss_before) / tenants;
      const auto memory = processor.memory();
      figure.cached_states = static_cast<int64_t>(memory.cached_states);
      figure.state_cache_bytes_per_tenant = static_cast<double>(memory.cached_state_bytes) / tenants;

      if (options.in_process) {
        // Latency first, on a quiet processor; ids differ between the phases.
        auto make_paced = [&](int64_t n) {
          return configure(static_cast<int>(n % tenants), "paced-" + std::to_string(n), n);
        };
        auto latencies = run_paced(**client, options.paced_commands, options.paced_per_second, make_paced, error);
        if (!error->empty()) return figures;
        fill_latency(figure.in_process, latencies, options.paced_commands, options.paced_per_second);

        const auto start = Clock::now();
        run_window(**client, options.commands, options.in_flight,
                   [&](int64_t n) { return configure(static_cast<int>(n % tenants), "configure-" + std::to_string(n), n); },
                   error);
        if (!error->empty()) return figures;
        figure.in_process.commands = options.commands;
        figure.in_process.concurrency = options.in_flight;
        figure.in_process.seconds = std::chrono::duration<double>(Clock::now() - start).count();
        figure.in_process.commands_per_second = static_cast<double>(options.commands) / figure.in_process.seconds;
      }

      if (options.http) {
        // The gateway as serve builds it: the directory projection running (routes
        // read tenants from it), a JWT verifier, the tenant routes on a Poco server.
        projections::TenantDirectoryModel directory_model;
        projections::TenantDirectory directory(**store);
        gateway::TenantContextCache contexts(directory);
        directory_model.on_changed([&contexts](std::string_view tenant) { contexts.invalidate(tenant); });
        projections::ProjectionRunner directory_runner(*log, **store, directory_model);
        if (auto started = directory_runner.start(); !started) {
          *error = started.error().message;
          return figures;
        }
        for (int waited = 0; !directory_runner.caught_up() && waited < 60000; waited += 10) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        // Every tenant's context cached, as a gateway that has seen them all holds it.
        const int64_t contexts_before = resident_bytes();
        for (int i = 0; i < tenants; ++i) {
          if (auto context = contexts.get(tenant_id(i)); !context || !*context) {
            *error = "tenant context of " + tenant_id(i) + " not found";
            return figures;
          }
        }
        figure.gateway_cache_bytes_per_tenant = static_cast<double>(resident_bytes() - contexts_before) / tenants;
        const std::string secret = "bench-secret-bench-secret-bench-secret!";
        http::auth::JwtOptions jwt_options;
        jwt_options.hs256_secret = secret;
        auto jwt = http::auth::JwtVerifier::create(jwt_options);
        if (!jwt) {
          *error = "JWT verifier: " + jwt.error().message;
          return figures;
        }
        gateway::GatewayDeps deps{**client, directory, **jwt, [&clock] { return clock.now_us(); }};
        deps.contexts = &contexts;
        http::HttpServerOptions http_options;
        http_options.port = 0;
        http_options.max_threads = options.http_connections + 4;
        auto server = http::HttpServer::start(http_options, gateway::tenant_routes(deps));
        if (!server) {
          *error = "HTTP server: " + server.error();
          return figures;
        }
        HttpDriver driver((*server)->port(), mint_token(secret), tenants, "bench");
        const int connections = HttpDriver::connections_for(tenants, options.http_connections);
        auto latencies = driver.run(options.paced_commands, connections, options.paced_per_second, error);
        if (error->empty()) fill_latency(figure.http, latencies, options.paced_commands, options.paced_per_second);
        const auto start = Clock::now();
        if (error->empty()) driver.run(options.http_commands, connections, 0, error);
        figure.http.commands = options.http_commands;
        figure.http.concurrency = connections;
        figure.http.seconds = std::chrono::duration<double>(Clock::now() - start).count();
        figure.http.commands_per_second = static_cast<double>(options.http_commands) / figure.http.seconds;
        (*server)->stop();
        directory_runner.stop();
        if (!error->empty()) return figures;
      }
      client->reset();
      processor.stop();
      figure.raw_append_records_per_second =
          raw_append_rate(*log, std::max<int64_t>(options.commands, 20000), options.partitions, error);
      if (!error->empty()) return figures;
    }
    fs::remove_all(root);
    figures.push_back(figure);
  }
  return figures;
}

}  // namespace tenantry::bench
