// `tenantry bench billing`: a period close for many tenants on the embedded engine.
// Every tenant has a pro subscription and a period's usage; the billing saga closes
// every period (usage frozen, invoice drafted and finalised: one command each, through
// the command processor and the billing read model), then settles every invoice with
// the test payment provider. Beside it, in the same run: the raw log appending the
// very records the invoice run appended (events and replies), pipelined in batches.
#pragma once

#include <cstdint>
#include <string>

namespace tenantry::bench {

struct BillingBenchOptions {
  std::string dir;  // scratch directory (removed afterwards)
  int tenants = 10000;
  int partitions = 8;
  int processors = 1;  // command processors in one group (serve runs one)
};

struct BillingFigures {
  int64_t invoices = 0;
  double close_seconds = 0;           // first close sent -> every invoice in the read model
  double replied_seconds = 0;         // first close sent -> every close's reply (the write side alone)
  double invoices_per_second = 0;
  int64_t close_records = 0;          // events and replies the invoice run appended
  double close_records_per_second = 0;
  double settle_seconds = 0;          // first charge -> every invoice paid in the read model
  double settled_per_second = 0;
  int64_t charges = 0;                // the test provider's count: one per invoice, none twice
  int64_t billed_minor = 0;           // the invoices' totals
  int64_t collected_minor = 0;        // cash in the tenants' ledgers after settling
  double raw_append_records_per_second = 0;  // the same records, raw
};

BillingFigures bench_billing(const BillingBenchOptions& options, std::string* error);

}  // namespace tenantry::bench
