#include <cstdio>
#include <cstdlib>

#include "app/commands.h"
#include "app/config.h"
#include "app/local_state.h"
#include "app/log_options.h"
#include "audit/activity.h"
#include "audit/merkle_store.h"
#include "app/meters_config.h"
#include "connectors/clock/time_zones.h"
#include "gateway/tenant_context.h"
#include "gateway/usage_api.h"
#include "projections/billing/billing_model.h"
#include "projections/projection_runner.h"
#include "projections/usage/storage_meter.h"
#include "projections/usage/usage_model.h"
#include "projections/tenant_directory/tenant_directory.h"

namespace tenantry::app {

namespace {

constexpr const char* kUsage =
    "Usage: tenantry projections rebuild NAME [options]\n\n"
    "  rebuild NAME   erase the read model NAME and replay its topics from offset 0\n\n"
    "Read models: tenant_directory, audit_merkle (the events' Merkle trees), audit_activity\n"
    "(who did what, from the replies and audit topics), usage (the meters, from the usage\n"
    "topic; pass the --meters-file serve uses), tenant_storage (stored bytes per tenant),\n"
    "billing (subscriptions, invoices, due indexes, plan versions)\n"
    "Run it with `tenantry serve` stopped: they share the data directory.\n";

constexpr const char* kModels = "tenant_directory, audit_merkle, audit_activity, usage, tenant_storage, billing";

}  // namespace

int run_projections(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string action = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  std::string name;
  if (action == "rebuild") {
    if (rest.empty() || rest[0].starts_with("--")) {
      std::fprintf(stderr, "tenantry projections rebuild: name the read model (%s)\n", kModels);
      return 2;
    }
    name = rest[0];
    rest.erase(rest.begin());
    if (name != "tenant_directory" && name != "audit_merkle" && name != "audit_activity" && name != "usage" &&
        name != "tenant_storage" && name != "billing") {
      std::fprintf(stderr, "tenantry projections rebuild: unknown read model '%s' (%s)\n", name.c_str(), kModels);
      return 2;
    }
  } else {
    std::fprintf(stderr, "tenantry projections: unknown action '%s'\n\n%s", action.c_str(), kUsage);
    return 2;
  }
  auto specs = log_option_specs();
  // For usage: the options serve counts usage with, so the rebuild counts the same.
  for (auto& spec : usage_option_specs()) specs.push_back(std::move(spec));
  auto config = load_config(specs, rest, [](const char* env) { return std::getenv(env); });
  if (!config) {
    std::fprintf(stderr, "tenantry projections: %s\n", config.error().describe().c_str());
    return 2;
  }
  if (config->help_requested()) {
    std::fputs(render_help("tenantry projections rebuild NAME [options]",
                           "Rebuilds a read model from the events topic (with serve stopped).", specs)
                   .c_str(),
               stdout);
    return 0;
  }
  auto log = open_configured_log(*config);
  if (!log) {
    std::fprintf(stderr, "tenantry projections: cannot open the event log: %s\n", log.error().message.c_str());
    return 1;
  }
  auto store = open_local_state(*config);
  if (!store) {
    std::fprintf(stderr, "tenantry projections: cannot open local state (is serve running?): %s\n",
                 store.error().message.c_str());
    return 1;
  }
  // A model and the topics it reads; a model fed from several topics has a runner per
  // topic, all rebuilt (each erases the model's keys and its own offsets) before any
  // catches up again.
  projections::TenantDirectoryModel directory;
  audit::MerkleTreeModel merkle;
  audit::ActivityModel activity;
  projections::StorageModel storage;
  projections::BillingModel billing;
  projections::TenantDirectory tenants(**store);
  clock::TimeZones zones;
  std::unique_ptr<projections::UsageModel> usage;
  if (name == "usage") {
    auto configured = usage_model_options(*config);
    if (!configured) {
      std::fprintf(stderr, "tenantry projections rebuild: %s\n", configured.error().c_str());
      return 2;
    }
    projections::UsageModelOptions usage_options = std::move(*configured);
    // Day and month windows in each tenant's zone, as the directory has it now.
    usage_options.utc_offset = [&tenants, &zones](const std::string& tenant_id, int64_t time_us) {
      auto context = gateway::load_tenant_context(tenants, tenant_id);
      return context && *context ? gateway::tenant_utc_offset(zones, context->get(), time_us) : 0;
    };
    usage_options.partitions = (*log)->partition_count("tenantry.usage").value_or(0);
    usage = std::make_unique<projections::UsageModel>(usage_options);
  }
  std::vector<std::unique_ptr<projections::ProjectionRunner>> runners;
  auto add = [&](projections::ReadModel& model, const std::string& topic, log::TopicKind kind) {
    projections::RunnerOptions options;
    options.topic = topic;
    options.kind = kind;
    runners.push_back(std::make_unique<projections::ProjectionRunner>(**log, **store, model, options));
  };
  if (name == "tenant_directory") add(directory, "tenantry.events", log::TopicKind::events);
  if (name == "audit_merkle") add(merkle, "tenantry.events", log::TopicKind::events);
  if (name == "usage") add(*usage, "tenantry.usage", log::TopicKind::fenced);
  if (name == "tenant_storage") add(storage, "tenantry.events", log::TopicKind::events);
  if (name == "billing") add(billing, "tenantry.events", log::TopicKind::events);
  if (name == "audit_activity") {
    add(activity, activity.replies_topic(), log::TopicKind::fenced);
    add(activity, activity.audit_topic(), log::TopicKind::fenced);
  }
  for (auto& runner : runners) {
    if (auto rebuilt = runner->rebuild(); !rebuilt) {
      std::fprintf(stderr, "tenantry projections rebuild: %s\n", rebuilt.error().message.c_str());
      return 1;
    }
  }
  int64_t applied_total = 0;
  size_t violations = 0;
  for (auto& runner : runners) {
    auto applied = runner->catch_up();
    if (!applied) {
      std::fprintf(stderr, "tenantry projections rebuild: %s\n", applied.error().message.c_str());
      return 1;
    }
    applied_total += *applied;
    violations += runner->violations().size();
  }
  std::printf("rebuilt %s: %lld records applied, %zu violations passed over\n", name.c_str(),
              static_cast<long long>(applied_total), violations);
  for (auto& runner : runners) {
    for (const auto& violation : runner->violations()) std::printf("  violation: %s\n", violation.describe().c_str());
  }
  return 0;
}

}  // namespace tenantry::app
