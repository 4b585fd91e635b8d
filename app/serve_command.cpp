#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <csignal>
#include <filesystem>

#include "app/commands.h"
#include "app/config.h"
#include "app/local_state.h"
#include "app/log_options.h"
#include "app/meters_config.h"
#include "app/signing_key.h"
#include "audit/activity.h"
#include "audit/checkpoint_publisher.h"
#include "audit/merkle_store.h"
#include "commands/command_processor.h"
#include "commands/tenant_aggregate.h"
#include "connectors/clock/clock.h"
#include "connectors/http/auth/bootstrap_key.h"
#include "connectors/http/auth/log_api_key_store.h"
#include "connectors/http/http_server.h"
#include "connectors/http/outbound.h"
#include "connectors/store/rocks_store.h"
#include "connectors/payments/http_provider.h"
#include "connectors/payments/test_provider.h"
#include "domain/billing/account.h"
#include "gateway/api_keys_api.h"
#include "gateway/billing_api.h"
#include "gateway/audit_api.h"
#include "gateway/request_guard.h"
#include "gateway/tenants_api.h"
#include "gateway/webhooks_api.h"
#include "gateway/usage_api.h"
#include "tenantry/v1/usage.pb.h"
#include "projections/usage/storage_meter.h"
#include "projections/usage/usage_model.h"
#include "projections/billing/billing_model.h"
#include "projections/projection_runner.h"
#include "projections/tenant_directory/tenant_directory.h"
#include "sagas/billing_cycle.h"
#include "sagas/metered_usage.h"
#include "sagas/billing_notices.h"
#include "sagas/tenant_deletion.h"

namespace tenantry::app {

namespace {

std::vector<OptionSpec> serve_specs() {
  std::vector<OptionSpec> specs = {
      {"http-host", "address the HTTP server binds", "127.0.0.1"},
      {"http-port", "port the HTTP server listens on (0: any free port)", "8080", OptionKind::integer, {}, 0, 65535},
      {"http-threads", "most HTTP worker threads", "16", OptionKind::integer, {}, 1, 1024},
      {"http-max-body-bytes", "largest request body accepted", "1048576", OptionKind::integer, {}, 1, 64 << 20},
      {"jwt-hs256-secret", "HS256 secret for Bearer tokens (at least 32 bytes); the /v1 API is off without any JWT key or API key", ""},
      {"jwt-jwks-file", "JWKS file with RS256/ES256 public keys for Bearer tokens", ""},
      // API keys and JWKS URL (connectors/http/auth): begin
      {"jwt-jwks-url", "JWKS URL (https://, or http:// to loopback) with RS256/ES256 public keys for Bearer tokens", ""},
      {"jwt-jwks-refresh-s", "how often the JWKS URL is fetched again", "300", OptionKind::integer, {}, 1, 86400},
      {"bootstrap-admin-key-file", "when no usable platform_admin API key exists, issue one and write it to this new "
       "file (mode 0600); turns the /v1 API on without a JWT key", ""},
      // API keys and JWKS URL: end
      {"jwt-issuer", "required iss of Bearer tokens (empty: not checked)", ""},
      {"jwt-audience", "required aud of Bearer tokens (empty: not checked)", ""},
      {"command-timeout-ms", "how long an HTTP request waits for its command's reply", "10000", OptionKind::integer, {}, 100, 600000},
      {"tenant-resolution", "how a request names its tenant, in order: path, subdomain, domain, header, token",
       "path,subdomain,domain,header,token"},
      {"base-domain", "domain whose subdomains are tenant slugs (empty: no subdomain resolution)", ""},
      {"saga-interval-ms", "how often the sagas look for what has fallen due", "1000", OptionKind::integer, {}, 10, 3600000},
      {"audit-signing-key", "Ed25519 private key PEM that signs checkpoints (default: <data-dir>/audit/signing-key.pem, "
                            "created on first start)", ""},
      {"audit-key-name", "the signer's name in checkpoint signatures", "tenantry"},
      {"checkpoint-interval-s", "how often a checkpoint of each grown partition is signed (0: on demand only)", "60",
       OptionKind::integer, {}, 0, 86400},
      {"alerts-webhook-url", "where quota alerts are POSTed as signed webhooks (https, or http to loopback)", ""},
      {"payment-provider", "who charges invoices: the built-in test provider (outcome by payment method token) or "
                           "a provider over signed HTTP", "test", OptionKind::choice, {"test", "http"}},
      {"payment-provider-url", "the HTTP provider's charge URL (https, or http to loopback)", ""},
      {"payment-provider-secret", "HMAC-SHA256 key charges to the HTTP provider are signed with", ""},
      {"payment-webhook-secret", "HMAC-SHA256 key the provider's result webhooks are signed with (empty: refused)", ""},
      {"alerts-webhook-secret", "HMAC-SHA256 key the alert webhooks are signed with (at least 16 bytes)", ""},
      {"alerts-webhook-max-attempts", "delivery attempts before an alert goes to the dead-letter list", "8",
       OptionKind::integer, {}, 1, 100},
      {"alerts-webhook-base-delay-ms", "the first retry's delay; each next one doubles (with jitter)", "1000",
       OptionKind::integer, {}, 1, 3600000},
      {"storage-meter-interval-s", "how often each tenant's stored bytes are published to the storage_bytes meter",
       "60", OptionKind::integer, {}, 1, 86400},
      {"meter-flush-ms", "how often the gateway writes its own per-tenant API metering", "1000", OptionKind::integer,
       {}, 50, 60000},
  };
  for (auto& spec : usage_option_specs()) specs.push_back(std::move(spec));
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
  // Slugs and custom domains, unique platform-wide (see commands/name_registry.h): the
  // processor claims them for every command that takes one, whichever path it came by.
  auto names = commands::NameRegistry::open(**log);
  if (!names) {
    std::fprintf(stderr, "tenantry serve: cannot open the names topic: %s\n", names.error().message.c_str());
    return 1;
  }
  commands::ProcessorOptions processor_options;
  processor_options.names = names->get();
  auto processor = std::make_unique<commands::CommandProcessor>(**log, **store, tenants, clock, processor_options);
  if (auto started = processor->start(); !started) {
    std::fprintf(stderr, "tenantry serve: cannot start the command processor: %s\n", started.error().message.c_str());
    return 1;
  }

  // The read side: the tenant directory, kept up to date from the events topic.
  projections::TenantDirectoryModel directory_model;
  projections::TenantDirectory directory(**store);
  // The gateway's per-tenant context, dropped as events change each tenant.
  gateway::TenantContextCache contexts(directory);
  directory_model.on_changed([&contexts](std::string_view tenant_id) { contexts.invalidate(tenant_id); });
  auto directory_runner = std::make_unique<projections::ProjectionRunner>(**log, **store, directory_model);
  if (auto started = directory_runner->start(); !started) {
    std::fprintf(stderr, "tenantry serve: cannot start the tenant directory: %s\n", started.error().message.c_str());
    return 1;
  }

  // Metering: usage events counted into the meters, once each.
  auto configured_usage = usage_model_options(*config);
  if (!configured_usage) {
    std::fprintf(stderr, "tenantry serve: %s\n", configured_usage.error().c_str());
    return 2;
  }
  clock::TimeZones zones;
  projections::UsageModelOptions usage_options = std::move(*configured_usage);
  usage_options.utc_offset = [&contexts, &zones](const std::string& tenant_id, int64_t time_us) {
    auto context = contexts.get(tenant_id);
    return context && *context ? gateway::tenant_utc_offset(zones, context->get(), time_us) : 0;
  };
  usage_options.partitions = (*log)->partition_count("tenantry.usage").value_or(0);
  projections::UsageModel usage_model(usage_options);
  projections::UsageQueries usage_queries(**store, usage_model);
  projections::RunnerOptions usage_runner_options;
  usage_runner_options.topic = "tenantry.usage";
  usage_runner_options.kind = log::TopicKind::fenced;
  usage_runner_options.idle_wait = std::chrono::milliseconds(50);
  usage_runner_options.max_batch_events = 10000;  // more events per write, fewer writes of shared aggregates
  auto usage_runner = std::make_unique<projections::ProjectionRunner>(**log, **store, usage_model, usage_runner_options);
  if (auto started = usage_runner->start(); !started) {
    std::fprintf(stderr, "tenantry serve: cannot start the metering projection: %s\n", started.error().message.c_str());
    return 1;
  }

  // Storage used per tenant, as a meter.
  projections::StorageModel storage_model;
  auto storage_runner = std::make_unique<projections::ProjectionRunner>(**log, **store, storage_model);
  if (auto started = storage_runner->start(); !started) {
    std::fprintf(stderr, "tenantry serve: cannot start the storage projection: %s\n", started.error().message.c_str());
    return 1;
  }
  auto storage_publisher = std::make_unique<projections::StoragePublisher>(
      **log, **store, [&clock] { return clock.now_us(); }, std::chrono::seconds(config->integer("storage-meter-interval-s")));
  storage_publisher->start();

  // Billing: the read model the saga and the API work from, and who charges invoices.
  projections::BillingModel billing_model;
  projections::BillingQueries billing_queries(**store);
  auto billing_runner = std::make_unique<projections::ProjectionRunner>(**log, **store, billing_model);
  if (auto started = billing_runner->start(); !started) {
    std::fprintf(stderr, "tenantry serve: cannot start the billing projection: %s\n", started.error().message.c_str());
    return 1;
  }
  // Each billing step a person should hear of, on tenantry.alerts for the webhooks.
  sagas::BillingNotices billing_notices(**log);
  auto notices_runner = std::make_unique<projections::ProjectionRunner>(**log, **store, billing_notices);
  if (auto started = notices_runner->start(); !started) {
    std::fprintf(stderr, "tenantry serve: cannot start the billing notices: %s\n", started.error().message.c_str());
    return 1;
  }
  std::unique_ptr<payments::PaymentProvider> payment_provider;
  if (config->text("payment-provider") == "http") {
    auto opened = payments::HttpPaymentProvider::open(
        {config->text("payment-provider-url"), config->text("payment-provider-secret")}, clock);
    if (!opened) {
      std::fprintf(stderr, "tenantry serve: option --payment-provider-url: %s\n", opened.error().c_str());
      return 2;
    }
    payment_provider = std::move(*opened);
  } else {
    payment_provider = std::make_unique<payments::TestPaymentProvider>(**store);
  }
  // A period's usage per meter a plan prices, and the transactions of those that keep them.
  sagas::UsageSource billing_usage = sagas::metered_usage(usage_queries, usage_model);

  // Quota alerts out as signed webhooks.
  webhooks::WebhookOptions webhook_options;
  webhook_options.url = config->text("alerts-webhook-url");
  webhook_options.secret = config->text("alerts-webhook-secret");
  webhook_options.max_attempts = static_cast<int>(config->integer("alerts-webhook-max-attempts"));
  webhook_options.base_delay = std::chrono::milliseconds(config->integer("alerts-webhook-base-delay-ms"));
  if (!webhook_options.url.empty()) {
    if (auto problem = http::outbound_url_problem(webhook_options.url); !problem.empty()) {
      std::fprintf(stderr, "tenantry serve: option --alerts-webhook-url: %s\n", problem.c_str());
      return 2;
    }
    if (webhook_options.secret.size() < 16) {
      std::fprintf(stderr, "tenantry serve: option --alerts-webhook-secret: at least 16 bytes are required with "
                           "--alerts-webhook-url\n");
      return 2;
    }
  }
  auto alert_webhooks = std::make_unique<webhooks::AlertWebhooks>(**log, **store, [&clock] { return clock.now_us(); },
                                                                  webhook_options);
  alert_webhooks->start();

  // The auditor's side: each partition's Merkle tree, and checkpoints signed over it.
  audit::MerkleTreeModel merkle_model;
  audit::MerkleTrees merkle_trees(**store);
  auto merkle_runner = std::make_unique<projections::ProjectionRunner>(**log, **store, merkle_model);
  if (auto started = merkle_runner->start(); !started) {
    std::fprintf(stderr, "tenantry serve: cannot start the Merkle tree projection: %s\n", started.error().message.c_str());
    return 1;
  }
  // Who did what: command outcomes from the replies, access decisions from the audit topic.
  audit::ActivityModel activity_model;
  audit::ActivityLog activity_log(**store);
  std::vector<std::unique_ptr<projections::ProjectionRunner>> activity_runners;
  for (const auto& topic : {activity_model.replies_topic(), activity_model.audit_topic()}) {
    projections::RunnerOptions options;
    options.topic = topic;
    options.kind = log::TopicKind::fenced;
    activity_runners.push_back(std::make_unique<projections::ProjectionRunner>(**log, **store, activity_model, options));
    if (auto started = activity_runners.back()->start(); !started) {
      std::fprintf(stderr, "tenantry serve: cannot start the activity projection on %s: %s\n", topic.c_str(),
                   started.error().message.c_str());
      return 1;
    }
  }
  auto signing_key = load_or_create_signing_key(*config);
  if (!signing_key) {
    std::fprintf(stderr, "tenantry serve: %s\n", signing_key.error().message.c_str());
    return signing_key.error().configured ? 2 : 1;
  }
  if (signing_key->created) {
    std::printf("tenantry serve: created the checkpoint signing key %s\n", signing_key->path.c_str());
  }
  audit::CheckpointOptions checkpoint_options;
  checkpoint_options.key_name = config->text("audit-key-name");
  checkpoint_options.interval = std::chrono::seconds(config->integer("checkpoint-interval-s"));
  // A name the signed-note format cannot carry is refused now, not at the first checkpoint.
  if (auto checked = audit::sign_checkpoint({checkpoint_options.events_topic, 0, 0, {}, 0}, signing_key->key,
                                            checkpoint_options.key_name);
      !checked) {
    std::fprintf(stderr, "tenantry serve: option --audit-key-name: %s\n", checked.error().message.c_str());
    return 2;
  }
  auto checkpoints = std::make_unique<audit::CheckpointPublisher>(
      **log, **store, merkle_trees, std::move(signing_key->key), [&clock] { return clock.now_us(); },
      checkpoint_options);
  checkpoints->start();

  auto order = gateway::parse_resolution_order(config->text("tenant-resolution"));
  if (!order) {
    std::fprintf(stderr, "tenantry serve: option --tenant-resolution: %s\n", order.error().c_str());
    return 2;
  }

  // The /v1 API, only with a way to authenticate callers.
  std::unique_ptr<http::auth::JwtVerifier> jwt;
  std::unique_ptr<commands::CommandClient> client;
  std::unique_ptr<gateway::LogAccessAudit> audit;
  std::unique_ptr<gateway::GatewayDeps> api;
  // API keys: records on the log (every node sees every key), replayed before the API
  // answers. The /v1 API is on when any credential exists: a JWT key, or API keys
  // (already issued, or the bootstrap key issued now).
  auto opened_key_store = http::auth::LogApiKeyStore::open(**log);
  if (!opened_key_store) {
    std::fprintf(stderr, "tenantry serve: cannot open the API key store: %s\n", opened_key_store.error().message.c_str());
    return 1;
  }
  std::unique_ptr<http::auth::LogApiKeyStore> api_key_store = std::move(*opened_key_store);
  http::auth::ApiKeyRegistry api_keys(*api_key_store);
  if (const std::string path = config->text("bootstrap-admin-key-file"); !path.empty()) {
    auto bootstrapped = http::auth::bootstrap_admin_key(api_keys, path, clock.now_us());
    if (!bootstrapped) {
      std::fprintf(stderr, "tenantry serve: option --bootstrap-admin-key-file: %s\n", bootstrapped.error().message.c_str());
      return bootstrapped.error().code == http::auth::AuthErrorCode::invalid_configuration ? 2 : 1;
    }
    if (bootstrapped->issued) {
      std::printf("tenantry serve: issued platform_admin API key %s into %s; move it to a secret store\n",
                  bootstrapped->key_id.c_str(), path.c_str());
    }
  }
  const bool jwt_configured = !config->text("jwt-hs256-secret").empty() || !config->text("jwt-jwks-file").empty() ||
                              !config->text("jwt-jwks-url").empty();
  if (jwt_configured || api_key_store->record_count() > 0) {
    http::auth::JwtOptions jwt_options;
    jwt_options.hs256_secret = config->text("jwt-hs256-secret");
    jwt_options.jwks_path = config->text("jwt-jwks-file");
    jwt_options.jwks_url = config->text("jwt-jwks-url");
    jwt_options.jwks_refresh_s = config->integer("jwt-jwks-refresh-s");
    jwt_options.on_jwks_refresh_failure = [](const std::string& reason) {
      std::fprintf(stderr, "tenantry serve: JWKS refresh failed, keeping the last good keys: %s\n", reason.c_str());
    };
    jwt_options.issuer = config->text("jwt-issuer");
    jwt_options.audience = config->text("jwt-audience");
    auto verifier = jwt_configured ? http::auth::JwtVerifier::create(jwt_options)
                                   : http::auth::AuthResult<std::unique_ptr<http::auth::JwtVerifier>>(
                                         http::auth::JwtVerifier::refusing_all());
    if (!verifier) {
      std::fprintf(stderr, "tenantry serve: option --jwt-hs256-secret / --jwt-jwks-file / --jwt-jwks-url: %s\n",
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
    auto opened_audit = gateway::LogAccessAudit::open(**log, static_cast<int32_t>(config->integer("partitions")));
    if (!opened_audit) {
      std::fprintf(stderr, "tenantry serve: cannot open the audit topic: %s\n", opened_audit.error().message.c_str());
      return 1;
    }
    audit = std::move(*opened_audit);
    api = std::make_unique<gateway::GatewayDeps>(gateway::GatewayDeps{
        *client, directory, *jwt, [&clock] { return clock.now_us(); },
        std::chrono::milliseconds(config->integer("command-timeout-ms")),
        gateway::ResolutionOptions{*order, config->text("base-domain")}});
    api->contexts = &contexts;
    api->audit = audit.get();
    api->api_keys = &api_keys;
  }

  // The sagas: deletion completes once a grace period ends.
  if (!client) {
    auto started = commands::CommandClient::start(**log);
    if (!started) {
      std::fprintf(stderr, "tenantry serve: cannot start the command client: %s\n", started.error().message.c_str());
      return 1;
    }
    client = std::move(*started);
  }
  sagas::DeletionSagaOptions deletion_options;
  deletion_options.interval = std::chrono::milliseconds(config->integer("saga-interval-ms"));
  auto deletion_saga = std::make_unique<sagas::TenantDeletionSaga>(directory, *client, clock, deletion_options);
  deletion_saga->start();
  sagas::BillingSagaOptions billing_options;
  billing_options.interval = std::chrono::milliseconds(config->integer("saga-interval-ms"));
  auto billing_saga = std::make_unique<sagas::BillingSaga>(billing_queries, *client, *payment_provider, clock,
                                                           billing_usage, billing_options);
  billing_saga->start();

  std::vector<http::Route> routes = {
      {"GET", "/healthz", [](const http::HttpRequest&) { return json(200, R"({"status":"ok"})"); }},
      {"GET", "/readyz",
       [&processor, &directory_runner, &merkle_runner, &activity_runners, &usage_runner, &storage_runner,
        &billing_runner, &notices_runner](const http::HttpRequest&) {
         bool failed = processor->failure() || directory_runner->failure() || merkle_runner->failure() ||
                       usage_runner->failure() || storage_runner->failure() || billing_runner->failure() ||
                       notices_runner->failure();
         for (const auto& runner : activity_runners) failed = failed || runner->failure();
         if (failed) {
           return json(503, R"({"status":"not_ready","reason":"a worker stopped; see the log"})");
         }
         if (!directory_runner->caught_up()) return json(503, R"({"status":"not_ready","reason":"catching up"})");
         return json(200, R"({"status":"ready"})");
       }},
  };
  std::unique_ptr<gateway::AuditApiDeps> audit_api;
  std::unique_ptr<gateway::UsageApiDeps> usage_api;
  std::unique_ptr<gateway::RequestGuard> guard;
  std::unique_ptr<gateway::WebhooksApiDeps> webhooks_api;
  std::unique_ptr<gateway::BillingApiDeps> billing_api;
  if (api) {
    for (auto& route : gateway::tenant_routes(*api)) routes.push_back(std::move(route));
    for (auto& route : gateway::api_key_routes(*api)) routes.push_back(std::move(route));
    audit_api = std::make_unique<gateway::AuditApiDeps>(gateway::AuditApiDeps{*api, **log, merkle_trees, *checkpoints, &activity_log});
    for (auto& route : gateway::audit_routes(*audit_api)) routes.push_back(std::move(route));
    usage_api = std::make_unique<gateway::UsageApiDeps>(gateway::UsageApiDeps{
        *api, **log, usage_model, usage_queries, zones, [&usage_runner, &usage_model] {
          gateway::UsageLag lag;
          for (const auto& partition : usage_runner->lag()) lag.records += partition.end_offset - partition.applied_offset;
          lag.newest_counted_us = usage_model.last_ingested_us();
          return lag;
        }});
    for (auto& route : gateway::usage_routes(*usage_api)) routes.push_back(std::move(route));
    webhooks_api = std::make_unique<gateway::WebhooksApiDeps>(gateway::WebhooksApiDeps{*api, *alert_webhooks});
    for (auto& route : gateway::webhook_routes(*webhooks_api)) routes.push_back(std::move(route));
    billing_api = std::make_unique<gateway::BillingApiDeps>(gateway::BillingApiDeps{
        *api, billing_queries, billing_saga.get(), billing_usage,
        [&store](const std::string& tenant_id) {
          std::map<std::string, int64_t> used;
          if (auto bytes = projections::stored_bytes(**store, tenant_id)) used["storage_bytes"] = *bytes;
          return used;
        },
        config->text("payment-webhook-secret")});
    for (auto& route : gateway::billing_routes(*billing_api)) routes.push_back(std::move(route));
    // Every request of a tenant's own principal passes its quotas first.
    gateway::GuardOptions guard_options;
    guard_options.worker_threads = static_cast<int>(config->integer("http-threads"));
    guard_options.meter_flush_interval = std::chrono::milliseconds(config->integer("meter-flush-ms"));
    guard = std::make_unique<gateway::RequestGuard>(
        *api, **log, zones,
        gateway::projection_usage_reader(usage_queries),
        [&log](const gateway::QuotaAlert& alert) {
          v1::QuotaAlert record;
          record.set_alert_id(alert.alert_id);
          record.set_tenant_id(alert.tenant_id);
          record.set_quota(alert.quota);
          record.set_threshold_percent(alert.threshold_percent);
          record.set_limit(alert.limit);
          record.set_used(alert.used);
          record.set_window_start_us(alert.window_start_us);
          record.set_raised_at_us(alert.at_us);
          log::AppendRequest request;
          request.records.push_back({"tenantry.alerts", alert.tenant_id, record.SerializeAsString(), {}, std::nullopt});
          (*log)->append_async(std::move(request), [](log::Result<log::AppendResult> appended) {
            if (!appended) std::fprintf(stderr, "tenantry serve: a quota alert was not recorded: %s\n",
                                        appended.error().message.c_str());
          });
        },
        guard_options);
    guard->set_storage_reader([&store](const std::string& tenant_id) {
      auto bytes = projections::stored_bytes(**store, tenant_id);
      return bytes ? *bytes : int64_t{0};
    });
    guard->set_plan_features_reader([&billing_queries](const std::string& tenant_id) {
      std::map<std::string, std::string> features;
      auto state = billing_queries.state(tenant_id);
      if (state && *state && (*state)->status() != v1::SUBSCRIPTION_STATUS_CANCELED) {
        features.insert((*state)->plan().features().begin(), (*state)->plan().features().end());
      }
      return features;
    });
    guard->set_billing_reader([&billing_queries](const std::string& tenant_id) -> std::string {
      auto state = billing_queries.state(tenant_id);
      if (!state || !*state || domain::billing::writes_allowed((*state)->status())) return "";
      return "the subscription is degraded for non-payment: reads work, writes wait for the open invoice to be paid";
    });
    for (auto& route : routes) {
      if (route.path.starts_with("/v1/") || route.path.starts_with("/t/")) route.handler = guard->wrap(route.handler);
    }
    guard->start();
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
    std::printf("tenantry serve: no JWT key configured (--jwt-hs256-secret, --jwt-jwks-file or --jwt-jwks-url) and no "
                "API key (--bootstrap-admin-key-file): the /v1 API is off\n");
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
  guard.reset();      // its last metering is written
  alert_webhooks.reset();
  deletion_saga.reset();
  billing_saga.reset();
  checkpoints.reset();
  client.reset();
  processor.reset();
  names->reset();  // the batch in hand is appended or not at all; leaves the group
  directory_runner.reset();
  billing_runner.reset();
  notices_runner.reset();
  merkle_runner.reset();
  storage_publisher.reset();
  storage_runner.reset();
  usage_runner.reset();
  activity_runners.clear();
  api_key_store.reset();  // its reader tails the log
  log->reset();       // drains the commit queue: everything acknowledged is durable
  std::printf("tenantry serve: stopped\n");
  return 0;
}

}  // namespace tenantry::app
