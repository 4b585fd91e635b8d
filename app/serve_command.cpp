#include <cstdio>
#include <cstdlib>
#include <csignal>
#include <filesystem>

#include "app/commands.h"
#include "app/config.h"
#include "app/local_state.h"
#include "app/log_options.h"
#include "commands/command_processor.h"
#include "commands/tenant_aggregate.h"
#include "connectors/clock/clock.h"
#include "connectors/http/http_server.h"
#include "connectors/store/rocks_store.h"
#include "gateway/tenants_api.h"
#include "projections/projection_runner.h"
#include "projections/tenant_directory/tenant_directory.h"

namespace tenantry::app {

namespace {

std::vector<OptionSpec> serve_specs() {
  std::vector<OptionSpec> specs = {
      {"http-host", "address the HTTP server binds", "127.0.0.1"},
      {"http-port", "port the HTTP server listens on (0: any free port)", "8080", OptionKind::integer, {}, 0, 65535},
      {"http-threads", "most HTTP worker threads", "16", OptionKind::integer, {}, 1, 1024},
      {"http-max-body-bytes", "largest request body accepted", "1048576", OptionKind::integer, {}, 1, 64 << 20},
      {"jwt-hs256-secret", "HS256 secret for Bearer tokens (at least 32 bytes); the /v1 API is off without any JWT key", ""},
      {"jwt-jwks-file", "JWKS file with RS256/ES256 public keys for Bearer tokens", ""},
      {"jwt-issuer", "required iss of Bearer tokens (empty: not checked)", ""},
      {"jwt-audience", "required aud of Bearer tokens (empty: not checked)", ""},
      {"command-timeout-ms", "how long an HTTP request waits for its command's reply", "10000", OptionKind::integer, {}, 100, 600000},
      {"tenant-resolution", "how a request names its tenant, in order: path, subdomain, domain, header, token",
       "path,subdomain,domain,header,token"},
      {"base-domain", "domain whose subdomains are tenant slugs (empty: no subdomain resolution)", ""},
  };
  for (auto& spec : log_option_specs()) specs.push_back(std::move(spec));
  return specs;
}

http::HttpResponse json(int status, std::string body) { return http::HttpResponse{status, "application/json", std::move(body), {}}; }

}  // namespace

int run_serve(const std::vector<std::string>& args) {
  const auto specs = serve_specs();
  auto config = load_config(specs, args, [](const char* name) { return std::getenv(name); });
  if (!config) {
    std::fprintf(stderr, "tenantry serve: %s\n", config.error().describe().c_str());
    return 2;
  }
  if (config->help_requested()) {
    std::fputs(render_help("tenantry serve [options]",
                           "Runs Tenantry: opens the event log (embedded by default), creates its topics,\n"
                           "and serves HTTP until SIGINT or SIGTERM.",
                           specs)
                   .c_str(),
               stdout);
    return 0;
  }

  auto log = open_configured_log(*config);
  if (!log) {
    std::fprintf(stderr, "tenantry serve: cannot open the event log: %s\n", log.error().message.c_str());
    return log.error().code == log::ErrorCode::invalid_argument ? 2 : 1;
  }

  // The write side: commands from the commands topic (any Kafka client, or the
  // gateway) are decided and their events, replies and offsets appended.
  auto store = open_local_state(*config);
  if (!store) {
    std::fprintf(stderr, "tenantry serve: cannot open local state: %s\n", store.error().message.c_str());
    return 1;
  }
  clock::SystemClock clock;
  commands::TenantAggregate tenants;
  auto processor = std::make_unique<commands::CommandProcessor>(**log, **store, tenants, clock);
  if (auto started = processor->start(); !started) {
    std::fprintf(stderr, "tenantry serve: cannot start the command processor: %s\n", started.error().message.c_str());
    return 1;
  }

  // The read side: the tenant directory, kept up to date from the events topic.
  projections::TenantDirectoryModel directory_model;
  auto directory_runner = std::make_unique<projections::ProjectionRunner>(**log, **store, directory_model);
  if (auto started = directory_runner->start(); !started) {
    std::fprintf(stderr, "tenantry serve: cannot start the tenant directory: %s\n", started.error().message.c_str());
    return 1;
  }
  projections::TenantDirectory directory(**store);

  auto order = gateway::parse_resolution_order(config->text("tenant-resolution"));
  if (!order) {
    std::fprintf(stderr, "tenantry serve: option --tenant-resolution: %s\n", order.error().c_str());
    return 2;
  }

  // The /v1 API, only with a way to authenticate callers.
  std::unique_ptr<http::auth::JwtVerifier> jwt;
  std::unique_ptr<commands::CommandClient> client;
  std::unique_ptr<gateway::GatewayDeps> api;
  if (!config->text("jwt-hs256-secret").empty() || !config->text("jwt-jwks-file").empty()) {
    http::auth::JwtOptions jwt_options;
    jwt_options.hs256_secret = config->text("jwt-hs256-secret");
    jwt_options.jwks_path = config->text("jwt-jwks-file");
    jwt_options.issuer = config->text("jwt-issuer");
    jwt_options.audience = config->text("jwt-audience");
    auto verifier = http::auth::JwtVerifier::create(jwt_options);
    if (!verifier) {
      std::fprintf(stderr, "tenantry serve: option --jwt-hs256-secret / --jwt-jwks-file: %s\n",
                   verifier.error().message.c_str());
      return 2;
    }
    jwt = std::move(*verifier);
    auto started = commands::CommandClient::start(**log);
    if (!started) {
      std::fprintf(stderr, "tenantry serve: cannot start the command client: %s\n", started.error().message.c_str());
      return 1;
    }
    client = std::move(*started);
    api = std::make_unique<gateway::GatewayDeps>(gateway::GatewayDeps{
        *client, directory, *jwt, [&clock] { return clock.now_us(); },
        std::chrono::milliseconds(config->integer("command-timeout-ms")),
        gateway::ResolutionOptions{*order, config->text("base-domain")}});
  }

  std::vector<http::Route> routes = {
      {"GET", "/healthz", [](const http::HttpRequest&) { return json(200, R"({"status":"ok"})"); }},
      {"GET", "/readyz",
       [&processor, &directory_runner](const http::HttpRequest&) {
         if (processor->failure() || directory_runner->failure()) {
           return json(503, R"({"status":"not_ready","reason":"a worker stopped; see the log"})");
         }
         if (!directory_runner->caught_up()) return json(503, R"({"status":"not_ready","reason":"catching up"})");
         return json(200, R"({"status":"ready"})");
       }},
  };
  if (api) {
    for (auto& route : gateway::tenant_routes(*api)) routes.push_back(std::move(route));
    // Generated from the routes themselves, before this one is added: it describes
    // exactly the /v1 endpoints this server dispatches.
    std::vector<http::Route> v1_routes;
    for (const auto& route : routes) {
      if (route.path.starts_with("/v1/") || route.path.starts_with("/t/")) v1_routes.push_back(route);
    }
    const std::string document = http::openapi_document(v1_routes, "Tenantry API", "1");
    routes.push_back({"GET", "/v1/openapi.json",
                      [document](const http::HttpRequest&) { return json(200, document); }, "This document", {}});
  } else {
    std::printf("tenantry serve: no JWT key configured (--jwt-hs256-secret or --jwt-jwks-file): the /v1 API is off\n");
  }
  http::HttpServerOptions http_options;
  http_options.host = config->text("http-host");
  http_options.port = static_cast<uint16_t>(config->integer("http-port"));
  http_options.max_threads = static_cast<int>(config->integer("http-threads"));
  http_options.max_body_bytes = static_cast<size_t>(config->integer("http-max-body-bytes"));
  auto server = http::HttpServer::start(http_options, std::move(routes));
  if (!server) {
    std::fprintf(stderr, "tenantry serve: option --http-port: %s\n", server.error().c_str());
    return 1;
  }
  const std::string engine = config->text("engine");
  std::printf("tenantry serve: listening on http://%s:%u (engine %s%s%s)\n", http_options.host.c_str(),
              static_cast<unsigned>((*server)->port()), engine.c_str(),
              engine == "embedded" ? ", data " : ", bootstrap ",
              engine == "embedded" ? config->text("data-dir").c_str() : config->text("kafka-bootstrap").c_str());
  std::fflush(stdout);

  const int signal = wait_for_stop_signal();
  std::printf("tenantry serve: %s received, stopping\n", signal == SIGINT ? "SIGINT" : "SIGTERM");
  std::fflush(stdout);
  (*server)->stop();  // in-flight requests finish first
  client.reset();
  processor.reset();  // the batch in hand is appended or not at all; leaves the group
  directory_runner.reset();
  log->reset();       // drains the commit queue: everything acknowledged is durable
  std::printf("tenantry serve: stopped\n");
  return 0;
}

}  // namespace tenantry::app
