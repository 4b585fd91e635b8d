#include "projections/billing/billing_model.h"

#include <cstdint>
#include <map>

#include "connectors/store/key_codec.h"
#include "domain/billing/account.h"
#include "domain/billing/money.h"
#include "domain/billing/wire.h"

namespace tenantry::projections {

namespace {

using store::put_be;

std::string state_key(const std::string& tenant) { return "s" + tenant; }
std::string sequence_key(const std::string& tenant) { return "v" + tenant; }
std::string invoice_key(const std::string& tenant, const std::string& id) {
  std::string key = "i" + tenant;
  key.push_back('\0');
  return key + id;
}
std::string close_key(int64_t end_us, const std::string& tenant) {
  std::string key = "c";
  put_be(key, store::sortable(end_us));
  return key + tenant;
}
std::string payment_key(int64_t at_us, const std::string& tenant, const std::string& id) {
  std::string key = "p";
  put_be(key, store::sortable(at_us));
  key += tenant;
  key.push_back('\0');
  return key + id;
}

template <typename Message>
log::Result<Message*> staged(store::StoreBatch& batch, std::unordered_map<std::string, Message>& cache,
                             const std::string& cache_key, const std::string& store_key) {
  auto it = cache.find(cache_key);
  if (it != cache.end()) return &it->second;
  auto stored = batch.get(kBillingFamily, store_key);
  if (!stored) return std::unexpected(stored.error());
  Message& message = cache[cache_key];
  if (*stored) message.ParseFromString(**stored);
  return &message;
}

// The invoice document after one event, and its payment-due key kept in step.
log::Result<void> update_invoice(store::StoreBatch& batch, std::unordered_map<std::string, v1::InvoiceDocument>& cache,
                                 const std::string& tenant, const v1::BillingEvent& event,
                                 const v1::BillingStateSnapshot& state) {
  std::string id;
  switch (event.event_case()) {
    case v1::BillingEvent::kInvoiceDrafted: id = event.invoice_drafted().invoice_id(); break;
    case v1::BillingEvent::kInvoiceFinalized: id = event.invoice_finalized().invoice_id(); break;
    case v1::BillingEvent::kPaymentSucceeded: id = event.payment_succeeded().invoice_id(); break;
    case v1::BillingEvent::kPaymentFailed: id = event.payment_failed().invoice_id(); break;
    case v1::BillingEvent::kInvoiceVoided: id = event.invoice_voided().invoice_id(); break;
    case v1::BillingEvent::kInvoiceMarkedUncollectible: id = event.invoice_marked_uncollectible().invoice_id(); break;
    case v1::BillingEvent::kCreditNoteIssued: id = event.credit_note_issued().invoice_id(); break;
    default: return {};
  }
  const std::string key = invoice_key(tenant, id);
  auto found = staged(batch, cache, key, key);
  if (!found) return std::unexpected(found.error());
  v1::InvoiceDocument& doc = **found;
  doc.set_tenant_id(tenant);
  if (doc.next_attempt_at_us() != 0) batch.erase(kBillingFamily, payment_key(doc.next_attempt_at_us(), tenant, id));
  doc.set_next_attempt_at_us(0);
  doc.set_next_attempt(0);
  switch (event.event_case()) {
    case v1::BillingEvent::kInvoiceDrafted: *doc.mutable_draft() = event.invoice_drafted(); break;
    case v1::BillingEvent::kInvoiceFinalized: {
      *doc.mutable_finalized() = event.invoice_finalized();
      doc.set_next_attempt_at_us(event.invoice_finalized().due_at_us());
      doc.set_next_attempt(1);
      break;
    }
    case v1::BillingEvent::kPaymentSucceeded: *doc.add_payments() = event.payment_succeeded(); break;
    case v1::BillingEvent::kPaymentFailed: {
      const auto& failed = event.payment_failed();
      *doc.add_failures() = failed;
      doc.set_next_attempt_at_us(failed.next_retry_at_us());
      doc.set_next_attempt(failed.next_retry_at_us() != 0 ? failed.attempt() + 1 : 0);
      break;
    }
    case v1::BillingEvent::kInvoiceVoided: doc.set_status_reason(event.invoice_voided().reason()); break;
    case v1::BillingEvent::kInvoiceMarkedUncollectible:
      doc.set_status_reason(event.invoice_marked_uncollectible().reason());
      break;
    default: break;
  }
  if (const auto* invoice = domain::billing::find_invoice(state, id)) {
    doc.set_status(invoice->status());
    doc.set_paid_minor(invoice->paid_minor());
    doc.set_credited_minor(invoice->credited_minor());
  }
  if (doc.status() != v1::INVOICE_STATUS_OPEN) {  // paid (also a 0 invoice), void, uncollectible
    doc.set_next_attempt_at_us(0);
    doc.set_next_attempt(0);
  }
  if (doc.next_attempt_at_us() != 0) batch.put(kBillingFamily, payment_key(doc.next_attempt_at_us(), tenant, id), "");
  return {};
}

std::string plan_history_key(const std::string& plan_id, uint32_t version) {
  std::string key = "H" + plan_id;
  key.push_back('\0');
  put_be(key, version, 4);
  return key;
}

std::string month_of(int64_t at_us) { return domain::billing::format_date(at_us).substr(0, 7); }

}  // namespace

BillingModel::Pending& BillingModel::pending(int32_t partition) {
  std::lock_guard lock(pending_mutex_);
  return pending_[partition];
}

void BillingModel::begin_batch(int32_t partition) {
  Pending& held = pending(partition);
  held.states.clear();
  held.invoices.clear();
}

log::Result<void> BillingModel::finish_batch(int32_t partition, store::StoreBatch& batch) {
  Pending& held = pending(partition);
  for (const auto& [tenant, state] : held.states) batch.put(kBillingFamily, state_key(tenant), state.SerializeAsString());
  for (const auto& [key, doc] : held.invoices) batch.put(kBillingFamily, key, doc.SerializeAsString());
  held.states.clear();
  held.invoices.clear();
  return {};
}

log::Result<void> BillingModel::apply(const log::AcceptedRecord& record, store::StoreBatch& batch) {
  const auto& envelope = record.envelope;
  const std::string& tenant = envelope.tenant_id();
  // Every event of the tenant moves the sequence the model has seen (a billing
  // decision can end with a lifecycle event), so a saga waiting for a command's
  // outcome knows when the model has it.
  std::string sequence;
  put_be(sequence, envelope.sequence());
  batch.put(kBillingFamily, sequence_key(tenant), sequence);
  v1::BillingEvent event;
  if (!domain::billing::is_billing_event(envelope.event_type()) ||
      domain::billing::billing_event_from_wire(envelope.event_type(), envelope.payload(), event) !=
          domain::WireRead::ok) {
    return {};
  }
  Pending& cache = pending(record.record.partition);
  auto found = staged(batch, cache.states, tenant, state_key(tenant));
  if (!found) return std::unexpected(found.error());
  v1::BillingStateSnapshot& state = **found;
  const int64_t old_end = state.period().end_us();
  domain::billing::evolve(state, event);
  if (state.period().end_us() != old_end) {
    if (old_end != 0) batch.erase(kBillingFamily, close_key(old_end, tenant));
    if (state.period().end_us() != 0) batch.put(kBillingFamily, close_key(state.period().end_us(), tenant), "");
  }
  if (event.has_test_clock_attached()) batch.put(kBillingFamily, "t" + tenant, "");
  if (event.has_plan_version_published()) {
    const auto& plan = event.plan_version_published().plan();
    const std::string spec = plan.SerializeAsString();
    batch.put(kBillingFamily, "P" + plan.plan_id(), spec);
    batch.put(kBillingFamily, plan_history_key(plan.plan_id(), plan.version()), spec);
  }
  if (event.has_subscription_canceled()) {
    batch.put(kBillingFamily, "x" + month_of(event.subscription_canceled().at_us()) + tenant, "");
  }
  return update_invoice(batch, cache.invoices, tenant, event, state);
}

log::Result<std::optional<v1::BillingStateSnapshot>> BillingQueries::state(const std::string& tenant_id) {
  auto stored = store_.get(kBillingFamily, state_key(tenant_id));
  if (!stored) return std::unexpected(stored.error());
  if (!*stored) return std::optional<v1::BillingStateSnapshot>();
  v1::BillingStateSnapshot state;
  state.ParseFromString(**stored);
  return std::optional<v1::BillingStateSnapshot>(std::move(state));
}

log::Result<uint64_t> BillingQueries::sequence(const std::string& tenant_id) {
  auto stored = store_.get(kBillingFamily, sequence_key(tenant_id));
  if (!stored) return std::unexpected(stored.error());
  if (!*stored || (*stored)->size() != 8) return uint64_t{0};
  return store::get_be(**stored, 0);
}

log::Result<std::optional<v1::InvoiceDocument>> BillingQueries::invoice(const std::string& tenant_id,
                                                                        const std::string& invoice_id) {
  auto stored = store_.get(kBillingFamily, invoice_key(tenant_id, invoice_id));
  if (!stored) return std::unexpected(stored.error());
  if (!*stored) return std::optional<v1::InvoiceDocument>();
  v1::InvoiceDocument doc;
  doc.ParseFromString(**stored);
  return std::optional<v1::InvoiceDocument>(std::move(doc));
}

log::Result<std::vector<v1::InvoiceDocument>> BillingQueries::invoices(const std::string& tenant_id,
                                                                       const std::string& after_id, size_t limit) {
  std::vector<v1::InvoiceDocument> out;
  const std::string prefix = invoice_key(tenant_id, "");
  std::string start = after_id.empty() ? "" : invoice_key(tenant_id, after_id) + std::string(1, '\0');
  auto scanned = store_.scan(kBillingFamily, prefix, start, limit, [&](std::string_view, std::string_view value) {
    v1::InvoiceDocument doc;
    doc.ParseFromArray(value.data(), static_cast<int>(value.size()));
    out.push_back(std::move(doc));
    return true;
  });
  if (!scanned) return std::unexpected(scanned.error());
  return out;
}

log::Result<BillingQueries::InvoicePage> BillingQueries::all_invoices(const std::string& cursor, size_t limit,
                                                                      v1::InvoiceStatus status) {
  InvoicePage page;
  std::string start;
  if (!cursor.empty()) start = "i" + cursor + std::string(1, '\0');  // just past the cursor's key
  std::string last;
  size_t looked = 0;
  auto scanned = store_.scan(kBillingFamily, "i", start, 10'000, [&](std::string_view key, std::string_view value) {
    ++looked;
    last.assign(key.substr(1));
    v1::InvoiceDocument doc;
    doc.ParseFromArray(value.data(), static_cast<int>(value.size()));
    if (status == v1::INVOICE_STATUS_UNSPECIFIED || doc.status() == status) page.invoices.push_back(std::move(doc));
    return page.invoices.size() < limit;
  });
  if (!scanned) return std::unexpected(scanned.error());
  // Stopped by the limit or the 10,000 looked at: more may follow.
  if (page.invoices.size() == limit || looked == 10'000) page.next_cursor = last;
  return page;
}

log::Result<std::vector<CloseDue>> BillingQueries::closes_due(int64_t until_us, size_t limit,
                                                               const std::string& tenant_id) {
  std::vector<CloseDue> out;
  auto scanned = store_.scan(kBillingFamily, "c", "", SIZE_MAX, [&](std::string_view key, std::string_view) {
    const int64_t end = store::unsortable(store::get_be(key, 1));
    if (end > until_us) return false;
    std::string tenant(key.substr(9));
    if (tenant_id.empty() || tenant == tenant_id) out.push_back({end, std::move(tenant)});
    return out.size() < limit;
  });
  if (!scanned) return std::unexpected(scanned.error());
  return out;
}

log::Result<std::vector<PaymentDue>> BillingQueries::payments_due(int64_t until_us, size_t limit,
                                                                   const std::string& tenant_id) {
  std::vector<PaymentDue> out;
  auto scanned = store_.scan(kBillingFamily, "p", "", SIZE_MAX, [&](std::string_view key, std::string_view) {
    const int64_t at = store::unsortable(store::get_be(key, 1));
    if (at > until_us) return false;
    std::string_view rest = key.substr(9);
    const size_t split = rest.find('\0');
    std::string tenant(rest.substr(0, split));
    if (tenant_id.empty() || tenant == tenant_id) out.push_back({at, std::move(tenant), std::string(rest.substr(split + 1))});
    return out.size() < limit;
  });
  if (!scanned) return std::unexpected(scanned.error());
  return out;
}

log::Result<std::vector<std::string>> BillingQueries::test_clock_tenants(size_t limit) {
  std::vector<std::string> out;
  auto scanned = store_.scan(kBillingFamily, "t", "", limit, [&](std::string_view key, std::string_view) {
    out.emplace_back(key.substr(1));
    return true;
  });
  if (!scanned) return std::unexpected(scanned.error());
  return out;
}

namespace {
log::Result<std::optional<v1::PlanSpec>> read_plan(store::RocksStore& store, const std::string& key) {
  auto stored = store.get(kBillingFamily, key);
  if (!stored) return std::unexpected(stored.error());
  if (!*stored) return std::optional<v1::PlanSpec>();
  v1::PlanSpec spec;
  spec.ParseFromString(**stored);
  return std::optional<v1::PlanSpec>(std::move(spec));
}
}  // namespace

log::Result<std::optional<v1::PlanSpec>> BillingQueries::latest_plan(const std::string& plan_id) {
  return read_plan(store_, "P" + plan_id);
}

log::Result<std::optional<v1::PlanSpec>> BillingQueries::plan_version(const std::string& plan_id, uint32_t version) {
  return read_plan(store_, plan_history_key(plan_id, version));
}

log::Result<std::vector<v1::PlanSpec>> BillingQueries::published_plans() {
  std::vector<v1::PlanSpec> out;
  auto scanned = store_.scan(kBillingFamily, "P", "", SIZE_MAX, [&](std::string_view, std::string_view value) {
    v1::PlanSpec spec;
    spec.ParseFromArray(value.data(), static_cast<int>(value.size()));
    out.push_back(std::move(spec));
    return true;
  });
  if (!scanned) return std::unexpected(scanned.error());
  return out;
}

log::Result<std::vector<Revenue>> BillingQueries::revenue() {
  std::map<std::string, Revenue> by_currency;
  auto scanned = store_.scan(kBillingFamily, "s", "", SIZE_MAX, [&](std::string_view, std::string_view value) {
    v1::BillingStateSnapshot state;
    state.ParseFromArray(value.data(), static_cast<int>(value.size()));
    const auto status = state.status();
    if (status != v1::SUBSCRIPTION_STATUS_ACTIVE && status != v1::SUBSCRIPTION_STATUS_PAST_DUE &&
        status != v1::SUBSCRIPTION_STATUS_DEGRADED) {
      return true;
    }
    auto plan = domain::billing::plan_from_wire(state.plan(), "");
    if (!plan) return true;
    auto currency = domain::billing::find_currency(plan->currency);
    if (!currency) return true;
    const domain::billing::Fraction share =
        plan->interval == domain::billing::Interval::year ? domain::billing::Fraction{1, 12} : domain::billing::Fraction{};
    const int64_t monthly =
        domain::billing::round_to_minor(domain::billing::Exact::of(plan->base_fee), *currency, share).value_or(0);
    auto& revenue = by_currency[plan->currency];
    revenue.currency = plan->currency;
    revenue.mrr_minor += monthly;
    revenue.subscriptions += 1;
    return true;
  });
  if (!scanned) return std::unexpected(scanned.error());
  std::vector<Revenue> out;
  for (auto& [currency, revenue] : by_currency) {
    revenue.arr_minor = revenue.mrr_minor * 12;
    out.push_back(revenue);
  }
  return out;
}

log::Result<std::vector<Churn>> BillingQueries::churn() {
  std::vector<Churn> out;
  auto scanned = store_.scan(kBillingFamily, "x", "", SIZE_MAX, [&](std::string_view key, std::string_view) {
    std::string month(key.substr(1, 7));
    if (out.empty() || out.back().month != month) out.push_back({month, 0});
    out.back().canceled += 1;
    return true;
  });
  if (!scanned) return std::unexpected(scanned.error());
  return out;
}

}  // namespace tenantry::projections
