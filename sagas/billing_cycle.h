// The billing saga: closes each subscription's period once it has ended and asks the
// payment provider for what each open invoice is due, first at once and then on the
// dunning schedule (the retry times are in the PaymentFailed events), recording every
// outcome as a command so the account decider moves the subscription along.
//
// Its timers are the billing read model's due indexes (rebuilt from the log), so a
// restart finds whatever fell due meanwhile. Every step is idempotent end to end:
//   close    command id billing-close:<tenant>:<period end>
//   charge   idempotency key <tenant>:<invoice>:<attempt> (the provider answers a
//            repeated key with its first answer and never charges twice)
//   record   command id billing-payment:<tenant>:<invoice>:<attempt>
// so a crash between any two steps repeats the step and changes nothing twice.
//
// Tenants on a test clock are driven to their clock's time, one due item at a time in
// time order, waiting for the read model to see each outcome before the next
// (run_tenant: advancing a test clock through the API calls it, so a year of billing
// runs in one request). Other tenants are driven to the clock's now, many at once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "commands/command_client.h"
#include "sagas/periodic.h"
#include "connectors/clock/clock.h"
#include "connectors/payments/payment_provider.h"
#include "domain/billing/periods.h"
#include "projections/billing/billing_model.h"

namespace tenantry::sagas {

struct BillingSagaOptions {
  std::chrono::milliseconds interval{1000};            // between passes
  std::chrono::milliseconds reply_timeout{30000};      // for the replies a pass waits for
  std::chrono::milliseconds projection_timeout{10000}; // for the read model to see an outcome
  size_t batch = 1000;                                 // due items taken at once
  size_t steps_max = 100000;                           // per run_tenant
};

// A period's usage per meter the plan prices, from the metering read model.
using UsageSource = std::function<log::Result<std::map<std::string, v1::MeterUsage>>(
    const std::string& tenant_id, const std::vector<std::string>& meters, const domain::billing::Period& period)>;

struct BillingPass {
  int64_t closed = 0;     // periods closed (accepted now or by a repeated id)
  int64_t charged = 0;    // charges that succeeded
  int64_t declined = 0;   // charges declined (or refused by the provider)
  int64_t pending = 0;    // provider answered pending: its webhook records the outcome
  int64_t unavailable = 0;  // provider unreachable: retried at the next pass
  int64_t refused = 0;    // commands the decider refused
};

class BillingSaga {
 public:
  BillingSaga(projections::BillingQueries& queries, commands::CommandClient& client,
              payments::PaymentProvider& provider, const clock::Clock& clock, UsageSource usage,
              BillingSagaOptions options = {});
  ~BillingSaga();

  // Everything due: real-time tenants up to now, each test-clock tenant up to its clock.
  log::Result<BillingPass> run_once();
  // One tenant, everything due by its billing time, in time order.
  log::Result<BillingPass> run_tenant(const std::string& tenant_id);
  // The two halves of a pass over real-time tenants, for tools and benchmarks: every
  // period ended by `now_us` closed (replies awaited), every payment due charged and
  // recorded. Tenants on a test clock are left to run_tenant.
  log::Result<BillingPass> close_due(int64_t now_us);
  log::Result<BillingPass> charge_due(int64_t now_us);
  void start();
  void stop();

  static std::string close_command_id(const std::string& tenant_id, int64_t period_end_us);
  static std::string payment_command_id(const std::string& tenant_id, const std::string& invoice_id, uint32_t attempt);

 private:
  log::Result<BillingPass> run_realtime();
  log::Result<v1::CommandEnvelope> close_command(const projections::CloseDue& due,
                                                 const v1::BillingStateSnapshot& state);
  // Charges the invoice's next attempt; the command recording the outcome, if any.
  log::Result<std::optional<v1::CommandEnvelope>> charge(const projections::PaymentDue& due,
                                                         const v1::BillingStateSnapshot& state, BillingPass& pass);
  log::Result<void> settle(std::vector<std::future<log::Result<v1::CommandReply>>>& replies, BillingPass& pass,
                           int64_t& accepted_counter);
  log::Result<void> wait_applied(const std::string& tenant_id, uint64_t sequence);

  projections::BillingQueries& queries_;
  commands::CommandClient& client_;
  payments::PaymentProvider& provider_;
  const clock::Clock& clock_;
  UsageSource usage_;
  BillingSagaOptions options_;
  std::mutex run_mutex_;  // one pass at a time (the thread and API-driven test clocks)
  Periodic periodic_;
};

}  // namespace tenantry::sagas
