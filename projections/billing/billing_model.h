// The billing read model: each tenant's billing state (the account decider's own
// evolve, so read and write sides agree), its invoices as documents, and the due
// indexes the billing saga works from. Revenue figures (MRR, ARR, churn) are read
// from it.
//
// Keys (store family "billing"):
//   's' tenant                          -> BillingStateSnapshot
//   'v' tenant                          -> the tenant's last sequence seen, any event (8 bytes)
//   'i' tenant 0x00 invoice id          -> InvoiceDocument
//   'c' end (8, sortable) tenant        -> ""   open periods by their end: closes due
//   'p' at (8, sortable) tenant 0x00 id -> ""   payments due (first attempt or retry)
//   't' tenant                          -> ""   tenants on a test clock
//   'x' month "YYYY-MM" tenant          -> ""   cancellations per month (churn)
//   'P' plan id                         -> PlanSpec, the catalog's latest version
//   'H' plan id 0x00 version (4)        -> PlanSpec, every published version
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <string>
#include <vector>

#include "connectors/store/rocks_store.h"
#include "projections/read_model.h"
#include "tenantry/v1/billing.pb.h"

namespace tenantry::projections {

inline constexpr const char* kBillingFamily = "billing";

// A batch keeps each tenant's state and each invoice document it touches decoded, and
// writes them once at its end (a period's close is several events of one tenant).
class BillingModel : public ReadModel {
 public:
  std::string name() const override { return kBillingFamily; }
  log::Result<void> apply(const log::AcceptedRecord& event, store::StoreBatch& batch) override;
  // It reads a tenant's state and an invoice document once per batch, before any
  // write of it (kept decoded in Pending, written at finish_batch), and reads no
  // other key: the store alone answers those reads.
  bool reads_own_writes() const override { return false; }
  void begin_batch(int32_t partition) override;
  log::Result<void> finish_batch(int32_t partition, store::StoreBatch& batch) override;

 private:
  struct Pending {
    std::unordered_map<std::string, v1::BillingStateSnapshot> states;  // by tenant
    std::unordered_map<std::string, v1::InvoiceDocument> invoices;     // by store key
  };
  Pending& pending(int32_t partition);

  std::mutex pending_mutex_;  // guards the map, not a partition's entry (its thread's own)
  std::map<int32_t, Pending> pending_;
};

struct PaymentDue {
  int64_t at_us = 0;
  std::string tenant_id;
  std::string invoice_id;
};

struct CloseDue {
  int64_t end_us = 0;
  std::string tenant_id;
};

struct Revenue {
  std::string currency;
  int64_t mrr_minor = 0;  // monthly recurring: base fees of live subscriptions, a year's fee / 12
  int64_t arr_minor = 0;  // 12 x MRR
  int64_t subscriptions = 0;
};

struct Churn {
  std::string month;  // "2024-08"
  int64_t canceled = 0;
};

class BillingQueries {
 public:
  explicit BillingQueries(store::RocksStore& store) : store_(store) {}

  log::Result<std::optional<v1::BillingStateSnapshot>> state(const std::string& tenant_id);
  log::Result<uint64_t> sequence(const std::string& tenant_id);
  log::Result<std::optional<v1::InvoiceDocument>> invoice(const std::string& tenant_id, const std::string& invoice_id);
  // A tenant's invoices in number order, from after `after_id` ("" from the first).
  log::Result<std::vector<v1::InvoiceDocument>> invoices(const std::string& tenant_id, const std::string& after_id,
                                                         size_t limit);
  // Every tenant's invoices, by tenant then number, from after the opaque `cursor`
  // ("" from the first); `status` 0 for all. Looks at no more than 10,000 documents per
  // call; the cursor to go on with is returned ("" at the end).
  struct InvoicePage {
    std::vector<v1::InvoiceDocument> invoices;
    std::string next_cursor;
  };
  log::Result<InvoicePage> all_invoices(const std::string& cursor, size_t limit, v1::InvoiceStatus status);
  // Due at or before `until_us`, earliest first; `tenant_id` "" for every tenant.
  log::Result<std::vector<CloseDue>> closes_due(int64_t until_us, size_t limit, const std::string& tenant_id = "");
  log::Result<std::vector<PaymentDue>> payments_due(int64_t until_us, size_t limit, const std::string& tenant_id = "");
  log::Result<std::vector<std::string>> test_clock_tenants(size_t limit);
  // Published plan versions (built-in plans are not here until one is published).
  log::Result<std::optional<v1::PlanSpec>> latest_plan(const std::string& plan_id);
  log::Result<std::optional<v1::PlanSpec>> plan_version(const std::string& plan_id, uint32_t version);
  log::Result<std::vector<v1::PlanSpec>> published_plans();
  log::Result<std::vector<Revenue>> revenue();
  log::Result<std::vector<Churn>> churn();

 private:
  store::RocksStore& store_;
};

}  // namespace tenantry::projections
