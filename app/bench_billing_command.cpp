// `tenantry bench billing`: its options, and its figures as JSON with the target
// evaluated from this run's own numbers.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include "app/bench/billing_bench.h"
#include "app/commands.h"
#include "app/config.h"

namespace tenantry::app {

int run_bench_billing(const std::vector<std::string>& args) {
  const std::vector<OptionSpec> specs = {
      {"tenants", "tenants with a subscription and a period to close", "10000", OptionKind::integer, {}, 1, 1000000},
      {"partitions", "partitions of the topics", "8", OptionKind::integer, {}, 1, 1024},
      {"processors", "command processors in one group sharing the partitions (serve runs one)", "1", OptionKind::integer, {}, 1, 64},
      {"dir", "scratch directory", "var/bench-billing"},
  };
  auto config = load_config(specs, args, [](const char* name) { return std::getenv(name); });
  if (!config) {
    std::fprintf(stderr, "tenantry bench billing: %s\n", config.error().describe().c_str());
    return 2;
  }
  if (config->help_requested()) {
    std::fputs(render_help("tenantry bench billing [options]",
                           "A period close for every tenant (usage frozen, invoice drafted and finalised) and the\n"
                           "settling of every invoice with the test provider, beside the raw log appending the\n"
                           "same records, as JSON.",
                           specs)
                   .c_str(),
               stdout);
    return 0;
  }
  bench::BillingBenchOptions options;
  options.dir = config->text("dir");
  options.tenants = static_cast<int>(config->integer("tenants"));
  options.partitions = static_cast<int>(config->integer("partitions"));
  options.processors = static_cast<int>(config->integer("processors"));
  std::string error;
  const auto f = bench::bench_billing(options, &error);
  std::error_code ignored;
  std::filesystem::remove_all(options.dir, ignored);
  if (!error.empty()) {
    std::fprintf(stderr, "tenantry bench billing: %s\n", error.c_str());
    return 1;
  }
  auto round_to = [](double value, double unit) { return std::round(value / unit) * unit; };
  Poco::JSON::Object result;
  result.set("benchmark", "billing");
  result.set("engine", "embedded");
  result.set("cores", static_cast<int>(std::thread::hardware_concurrency()));
  result.set("tenants", options.tenants);
  result.set("processors", options.processors);
  Poco::JSON::Object::Ptr run = new Poco::JSON::Object;
  run->set("invoices", f.invoices);
  run->set("seconds", round_to(f.close_seconds, 0.001));
  run->set("seconds_to_last_reply", round_to(f.replied_seconds, 0.001));
  run->set("invoices_per_second", static_cast<int64_t>(f.invoices_per_second));
  run->set("records_appended", f.close_records);
  run->set("records_per_second", static_cast<int64_t>(f.close_records_per_second));
  run->set("path", "billing saga -> CloseBillingPeriod commands -> processor (decide, one fsynced append per batch: "
                   "BillingPeriodClosed, InvoiceDrafted, InvoiceFinalized, reply) -> billing read model");
  result.set("invoice_run", run);
  Poco::JSON::Object::Ptr settle = new Poco::JSON::Object;
  settle->set("seconds", round_to(f.settle_seconds, 0.001));
  settle->set("invoices_per_second", static_cast<int64_t>(f.settled_per_second));
  settle->set("charges", f.charges);
  settle->set("billed_minor", f.billed_minor);
  settle->set("collected_minor", f.collected_minor);
  result.set("settle_with_test_provider", settle);
  Poco::JSON::Object::Ptr raw = new Poco::JSON::Object;
  raw->set("records", f.close_records);
  raw->set("records_per_second", static_cast<int64_t>(f.raw_append_records_per_second));
  result.set("raw_log_append_same_records", raw);
  Poco::JSON::Array::Ptr targets = new Poco::JSON::Array;
  auto target = [&](const std::string& name, double value, double limit) {
    Poco::JSON::Object::Ptr one = new Poco::JSON::Object;
    one->set("name", name);
    one->set("value", round_to(value, 0.001));
    one->set("at_least", limit);
    one->set("met", value >= limit);
    targets->add(one);
  };
  target("invoice run records/s / raw append of the same records",
         f.close_records_per_second / f.raw_append_records_per_second, 0.25);
  target("charges / invoices (each invoice charged once)",
         f.invoices == 0 ? 0 : static_cast<double>(f.charges) / static_cast<double>(f.invoices), 1);
  result.set("targets", targets);
  result.stringify(std::cout, 2);
  std::cout << std::endl;
  return 0;
}

}  // namespace tenantry::app
