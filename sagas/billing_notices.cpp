#include "sagas/billing_notices.h"

#include "domain/billing/account.h"
#include "domain/billing/wire.h"
#include "tenantry/v1/usage.pb.h"

namespace tenantry::sagas {

namespace {

// The notice an event makes, if any: its type and why.
bool notice_of(const v1::BillingEvent& event, v1::QuotaAlert& notice) {
  switch (event.event_case()) {
    case v1::BillingEvent::kInvoiceFinalized: {
      const auto& e = event.invoice_finalized();
      notice.set_quota("billing.invoice.issued");
      notice.set_invoice_id(e.invoice_id());
      notice.set_reason(e.paid() ? "nothing due" : "payment due");
      return true;
    }
    case v1::BillingEvent::kPaymentSucceeded:
      notice.set_quota("billing.payment.succeeded");
      notice.set_invoice_id(event.payment_succeeded().invoice_id());
      notice.set_used(event.payment_succeeded().amount_minor());
      return true;
    case v1::BillingEvent::kPaymentFailed: {
      const auto& e = event.payment_failed();
      notice.set_quota("billing.payment.failed");
      notice.set_invoice_id(e.invoice_id());
      notice.set_reason(e.failure_code() + (e.failure_message().empty() ? "" : ": " + e.failure_message()));
      notice.set_window_start_us(e.next_retry_at_us());  // when it is tried again (0: never)
      return true;
    }
    case v1::BillingEvent::kSubscriptionStatusChanged: {
      const auto& e = event.subscription_status_changed();
      notice.set_quota(std::string("billing.subscription.") + domain::billing::status_name(e.to()));
      notice.set_invoice_id(e.invoice_id());
      notice.set_reason(e.reason());
      return true;
    }
    default: return false;
  }
}

}  // namespace

std::vector<log::Record>& BillingNotices::pending(int32_t partition) {
  std::lock_guard lock(mutex_);
  return pending_[partition];
}

void BillingNotices::begin_batch(int32_t partition) { pending(partition).clear(); }

log::Result<void> BillingNotices::apply(const log::AcceptedRecord& record, store::StoreBatch&) {
  const auto& envelope = record.envelope;
  if (!domain::billing::is_billing_event(envelope.event_type())) return {};
  v1::BillingEvent event;
  if (domain::billing::billing_event_from_wire(envelope.event_type(), envelope.payload(), event) !=
      domain::WireRead::ok) {
    return {};
  }
  v1::QuotaAlert notice;
  if (!notice_of(event, notice)) return {};
  // Zero-padded, so that a tenant's notices sort (and are delivered) in stream order.
  std::string sequence = std::to_string(envelope.sequence());
  sequence.insert(0, sequence.size() < 12 ? 12 - sequence.size() : 0, '0');
  notice.set_alert_id("billing-" + sequence);
  notice.set_tenant_id(envelope.tenant_id());
  notice.set_raised_at_us(envelope.occurred_at_us());
  pending(record.record.partition)
      .push_back(log::Record{topic_, envelope.tenant_id(), notice.SerializeAsString(), {}, std::nullopt});
  return {};
}

log::Result<void> BillingNotices::finish_batch(int32_t partition, store::StoreBatch&) {
  auto& records = pending(partition);
  if (records.empty()) return {};
  log::AppendRequest request;
  request.records = std::move(records);
  records.clear();
  auto appended = log_.append(std::move(request));
  if (!appended) return std::unexpected(appended.error());
  return {};
}

}  // namespace tenantry::sagas
