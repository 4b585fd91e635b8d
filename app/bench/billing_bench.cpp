#include "app/bench/billing_bench.h"

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "app/bench/bench_support.h"
#include "app/log_options.h"
#include "commands/command_client.h"
#include "commands/command_processor.h"
#include "commands/processor_group.h"
#include "commands/tenant_aggregate.h"
#include "connectors/clock/clock.h"
#include "connectors/log/embedded/embedded_log.h"
#include "connectors/payments/test_provider.h"
#include "connectors/store/rocks_store.h"
#include "domain/billing/account.h"
#include "domain/billing/plans.h"
#include "domain/billing/wire.h"
#include "projections/billing/billing_model.h"
#include "projections/projection_runner.h"
#include "sagas/billing_cycle.h"

namespace tenantry::bench {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

bool caught_up(projections::ProjectionRunner& runner) {
  for (const auto& partition : runner.lag()) {
    if (partition.applied_offset < partition.end_offset) return false;
  }
  return true;
}

bool wait_caught_up(projections::ProjectionRunner& runner, std::string* error) {
  const auto deadline = Clock::now() + std::chrono::minutes(5);
  while (!caught_up(runner)) {
    if (Clock::now() > deadline) {
      *error = "the billing read model did not catch up within 5 minutes";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Submits the commands 1000 at a time and waits for every reply to be an acceptance.
bool run_all(commands::CommandClient& client, const std::vector<v1::CommandEnvelope>& commands, std::string* error) {
  for (size_t from = 0; from < commands.size(); from += 1000) {
    std::vector<std::future<log::Result<v1::CommandReply>>> replies;
    for (size_t i = from; i < std::min(commands.size(), from + 1000); ++i) replies.push_back(client.submit(commands[i]));
    for (auto& reply : replies) {
      if (reply.wait_for(std::chrono::seconds(120)) != std::future_status::ready) {
        *error = "a setup command had no reply in time";
        return false;
      }
      auto outcome = reply.get();
      if (!outcome || outcome->status() != v1::CommandReply::STATUS_ACCEPTED) {
        *error = "a setup command was refused: " + (outcome ? outcome->message() : outcome.error().message);
        return false;
      }
    }
  }
  return true;
}

std::map<std::pair<std::string, int32_t>, int64_t> end_offsets(log::EventLog& log, int partitions) {
  std::map<std::pair<std::string, int32_t>, int64_t> ends;
  for (const char* topic : {"tenantry.events", "tenantry.replies"}) {
    for (int32_t p = 0; p < partitions; ++p) ends[{topic, p}] = log.end_offset(topic, p).value_or(0);
  }
  return ends;
}

// The records appended between two sets of end offsets, as they were stored.
std::vector<log::Record> appended_between(log::EventLog& log, const std::map<std::pair<std::string, int32_t>, int64_t>& from,
                                          const std::map<std::pair<std::string, int32_t>, int64_t>& to,
                                          std::string* error) {
  std::vector<log::Record> records;
  for (const auto& [where, start] : from) {
    const int64_t end = to.at(where);
    if (end <= start) continue;
    auto reader = log.open_reader(where.first, where.second, start);
    if (!reader) {
      *error = reader.error().message;
      return {};
    }
    while ((*reader)->position() < end) {
      auto batch = (*reader)->read(10000, std::chrono::milliseconds(100));
      if (!batch) {
        *error = batch.error().message;
        return {};
      }
      for (auto& stored : *batch) {
        if (stored.offset >= end) break;
        records.push_back(log::Record{"bench.raw", stored.key, std::move(stored.value), std::move(stored.headers),
                                      std::nullopt});
      }
    }
  }
  return records;
}


}  // namespace

BillingFigures bench_billing(const BillingBenchOptions& options, std::string* error) {
  BillingFigures figures;
  const fs::path root = options.dir;
  fs::remove_all(root);
  fs::create_directories(root);
  const int tenants = std::max(options.tenants, 1);

  auto log = open_bench_log((root / "log").string(), options.partitions, error);
  if (!log) return figures;
  auto families = commands::CommandProcessor::store_families();
  for (const char* family : {projections::kBillingFamily, projections::kOffsetsFamily, payments::kTestProviderFamily}) {
    families.push_back(family);
  }
  auto store = store::RocksStore::open({(root / "state").string(), families});
  if (!store) {
    *error = store.error().message;
    return figures;
  }

  // Setup (not timed): every tenant registered and subscribed to pro from January 1.
  const int64_t start_us = domain::billing::utc_us(2025, 1, 1);
  const int64_t end_us = domain::billing::utc_us(2025, 2, 1);
  clock::ManualClock clock(end_us);
  commands::TenantAggregate aggregate;
  commands::ProcessorGroup processor(*log, **store, aggregate, clock, {}, options.processors);
  if (auto started = processor.start(); !started) {
    *error = started.error().message;
    return figures;
  }
  auto client = commands::CommandClient::start(*log);
  if (!client) {
    *error = client.error().message;
    return figures;
  }
  std::vector<v1::CommandEnvelope> setup;
  for (int i = 0; i < tenants; ++i) setup.push_back(registration(i, "pro"));
  if (!run_all(**client, setup, error)) return figures;
  setup.clear();
  v1::StartSubscription start;
  *start.mutable_plan() = domain::billing::plan_to_wire(*domain::billing::builtin_plan("pro"));
  start.set_skip_trial(true);
  start.set_payment_method("pm_ok");
  start.set_tax_rate_bp(2000);
  start.set_at_us(start_us);
  for (int i = 0; i < tenants; ++i) {
    v1::CommandEnvelope command;
    command.set_command_id("subscribe-" + std::to_string(i));
    command.set_tenant_id(tenant_id(i));
    command.set_command_type(v1::StartSubscription::descriptor()->full_name());
    command.set_payload(start.SerializeAsString());
    setup.push_back(std::move(command));
  }
  if (!run_all(**client, setup, error)) return figures;
  projections::BillingModel model;
  projections::ProjectionRunner runner(*log, **store, model);
  if (auto started = runner.start(); !started) {
    *error = started.error().message;
    return figures;
  }
  if (!wait_caught_up(runner, error)) return figures;

  // Each tenant's usage: past pro's million included calls by a different amount.
  sagas::UsageSource usage = [](const std::string& tenant, const std::vector<std::string>& meters,
                                const domain::billing::Period&) -> log::Result<std::map<std::string, v1::MeterUsage>> {
    std::map<std::string, v1::MeterUsage> out;
    const int64_t spread = static_cast<int64_t>(std::hash<std::string>{}(tenant) % 100);
    for (const auto& meter : meters) out[meter].set_units(meter == "api_calls" ? 1'000'000 + spread * 10'000 : spread);
    return out;
  };
  payments::TestProviderOptions provider_options;
  provider_options.sync_writes = false;  // the provider's own durability is not Tenantry's cost
  payments::TestPaymentProvider provider(**store, provider_options);
  projections::BillingQueries queries(**store);
  sagas::BillingSagaOptions saga_options;
  saga_options.batch = static_cast<size_t>(tenants);
  saga_options.reply_timeout = std::chrono::minutes(5);
  sagas::BillingSaga saga(queries, **client, provider, clock, usage, saga_options);

  // The invoice run: every period closed, every invoice in the read model.
  const auto before = end_offsets(*log, options.partitions);
  const auto close_start = Clock::now();
  auto closed = saga.close_due(end_us);
  if (!closed) {
    *error = closed.error().message;
    return figures;
  }
  figures.replied_seconds = seconds_since(close_start);
  if (!wait_caught_up(runner, error)) return figures;
  figures.close_seconds = seconds_since(close_start);
  figures.invoices = closed->closed;
  figures.invoices_per_second = static_cast<double>(figures.invoices) / figures.close_seconds;
  const auto after = end_offsets(*log, options.partitions);

  // Settling: charged with the test provider, recorded, seen paid.
  const auto settle_start = Clock::now();
  for (int round = 0; round < 100; ++round) {
    auto due = queries.payments_due(end_us, 1);
    if (!due) {
      *error = due.error().message;
      return figures;
    }
    if (due->empty()) break;
    auto charged = saga.charge_due(end_us);
    if (!charged) {
      *error = charged.error().message;
      return figures;
    }
    if (!wait_caught_up(runner, error)) return figures;
  }
  figures.settle_seconds = seconds_since(settle_start);
  figures.settled_per_second = static_cast<double>(figures.invoices) / figures.settle_seconds;
  figures.charges = provider.charges_count().value_or(-1);
  for (int i = 0; i < tenants; ++i) {
    auto state = queries.state(tenant_id(i));
    if (!state || !*state) continue;
    for (const auto& invoice : (*state)->invoices()) figures.billed_minor += invoice.total_minor();
    figures.collected_minor += domain::billing::account_balance_minor(**state, "USD", "cash");
  }
  runner.stop();
  processor.stop();

  // The raw log: the very records the invoice run appended.
  auto records = appended_between(*log, before, after, error);
  if (!error->empty()) return figures;
  figures.close_records = static_cast<int64_t>(records.size());
  figures.close_records_per_second = static_cast<double>(figures.close_records) / figures.close_seconds;
  if (auto created = log->create_topic({"bench.raw", options.partitions}); !created) {
    *error = created.error().message;
    return figures;
  }
  figures.raw_append_records_per_second = append_pipelined(*log, std::move(records), error);
  return figures;  // the caller removes the directory once everything here is closed
}

}  // namespace tenantry::bench
