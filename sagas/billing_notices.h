// Billing notices: every step of a subscription's billing a person should hear of (an
// invoice issued, a payment failed or received, each move along the dunning path) as a
// record on tenantry.alerts, which the alert webhooks deliver signed, with retries and
// dead letters. Fed by the projection runner over the events topic; each notice's id is
// the event's tenant and sequence, so a notice appended again after a crash (before
// the runner stored its offset) is delivered once all the same.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "connectors/log/event_log.h"
#include "projections/read_model.h"

namespace tenantry::sagas {

inline constexpr const char* kBillingNoticesFamily = "billing_notices";

class BillingNotices : public projections::ReadModel {
 public:
  explicit BillingNotices(log::EventLog& log, std::string topic = "tenantry.alerts")
      : log_(log), topic_(std::move(topic)) {}
  std::string name() const override { return kBillingNoticesFamily; }
  log::Result<void> apply(const log::AcceptedRecord& event, store::StoreBatch& batch) override;
  void begin_batch(int32_t partition) override;
  // Appends the batch's notices (durably) before the runner stores its offset.
  log::Result<void> finish_batch(int32_t partition, store::StoreBatch& batch) override;

 private:
  std::vector<log::Record>& pending(int32_t partition);

  log::EventLog& log_;
  std::string topic_;
  std::mutex mutex_;  // guards the map, not a partition's entry (its thread's own)
  std::map<int32_t, std::vector<log::Record>> pending_;
};

}  // namespace tenantry::sagas
