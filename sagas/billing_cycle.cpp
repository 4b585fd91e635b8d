#include "sagas/billing_cycle.h"

#include <algorithm>

#include "domain/billing/account.h"
#include "domain/billing/wire.h"

namespace tenantry::sagas {

namespace {

v1::CommandEnvelope billing_command(const std::string& tenant_id, std::string command_id,
                                    const google::protobuf::Message& payload, int64_t now_us) {
  v1::CommandEnvelope command;
  command.set_tenant_id(tenant_id);
  command.set_command_id(std::move(command_id));
  command.set_command_type(payload.GetDescriptor()->full_name());
  command.set_schema_version(1);
  command.set_issued_at_us(now_us);
  command.mutable_actor()->set_kind("saga");
  command.mutable_actor()->set_id("billing");
  command.set_payload(payload.SerializeAsString());
  return command;
}

}  // namespace

BillingSaga::BillingSaga(projections::BillingQueries& queries, commands::CommandClient& client,
                         payments::PaymentProvider& provider, const clock::Clock& clock, UsageSource usage,
                         BillingSagaOptions options)
    : queries_(queries), client_(client), provider_(provider), clock_(clock), usage_(std::move(usage)),
      options_(options) {}

BillingSaga::~BillingSaga() { stop(); }

std::string BillingSaga::close_command_id(const std::string& tenant_id, int64_t period_end_us) {
  return "billing-close:" + tenant_id + ":" + std::to_string(period_end_us);
}

std::string BillingSaga::payment_command_id(const std::string& tenant_id, const std::string& invoice_id,
                                            uint32_t attempt) {
  return "billing-payment:" + tenant_id + ":" + invoice_id + ":" + std::to_string(attempt);
}

log::Result<v1::CommandEnvelope> BillingSaga::close_command(const projections::CloseDue& due,
                                                            const v1::BillingStateSnapshot& state) {
  v1::CloseBillingPeriod close;
  *close.mutable_period() = state.period();
  close.set_at_us(due.end_us);
  std::vector<std::string> meters;
  for (const auto& [meter, price] : state.plan().charges()) meters.push_back(meter);
  if (!meters.empty() && usage_) {
    auto usage = usage_(due.tenant_id, meters, domain::billing::period_from_wire(state.period()));
    if (!usage) return std::unexpected(usage.error());
    for (auto& [meter, value] : *usage) (*close.mutable_usage())[meter] = std::move(value);
  }
  return billing_command(due.tenant_id, close_command_id(due.tenant_id, due.end_us), close, clock_.now_us());
}

log::Result<std::optional<v1::CommandEnvelope>> BillingSaga::charge(const projections::PaymentDue& due,
                                                                    const v1::BillingStateSnapshot& state,
                                                                    BillingPass& pass) {
  auto found = queries_.invoice(due.tenant_id, due.invoice_id);
  if (!found) return std::unexpected(found.error());
  if (!*found || (*found)->next_attempt() == 0) return std::optional<v1::CommandEnvelope>();
  const v1::InvoiceDocument& doc = **found;
  const uint32_t attempt = doc.next_attempt();
  const int64_t due_minor = doc.draft().total_minor() - doc.paid_minor() - doc.credited_minor();
  v1::RecordPayment record;
  record.set_invoice_id(due.invoice_id);
  record.set_attempt(attempt);
  record.set_at_us(due.at_us);
  if (due_minor <= 0) {
    record.set_succeeded(true);  // nothing left to collect
  } else {
    payments::ChargeRequest request;
    request.idempotency_key = due.tenant_id + ":" + due.invoice_id + ":" + std::to_string(attempt);
    request.tenant_id = due.tenant_id;
    request.invoice_id = due.invoice_id;
    request.amount_minor = due_minor;
    request.currency = doc.draft().currency();
    request.payment_method = state.payment_method();
    request.attempt = static_cast<int>(attempt);
    if (request.payment_method.empty()) {
      ++pass.declined;
      record.set_succeeded(false);
      record.set_failure_code("no_payment_method");
      record.set_failure_message("the tenant has no payment method");
    } else {
      auto outcome = provider_.charge(request);
      if (!outcome) {
        if (outcome.error().retryable) {
          ++pass.unavailable;
          return std::optional<v1::CommandEnvelope>();  // the same key again next pass
        }
        ++pass.declined;
        record.set_succeeded(false);
        record.set_failure_code(outcome.error().type);
        record.set_failure_message(outcome.error().message.substr(0, domain::billing::kReasonMax));
      } else if (outcome->status == payments::ChargeStatus::pending) {
        ++pass.pending;
        return std::optional<v1::CommandEnvelope>();
      } else {
        const bool succeeded = outcome->status == payments::ChargeStatus::succeeded;
        ++(succeeded ? pass.charged : pass.declined);
        record.set_succeeded(succeeded);
        record.set_payment_id(outcome->payment_id);
        record.set_amount_minor(succeeded ? due_minor : 0);
        record.set_failure_code(outcome->failure_code);
        record.set_failure_message(outcome->failure_message.substr(0, domain::billing::kReasonMax));
      }
    }
  }
  return std::optional<v1::CommandEnvelope>(billing_command(
      due.tenant_id, payment_command_id(due.tenant_id, due.invoice_id, attempt), record, clock_.now_us()));
}

log::Result<void> BillingSaga::settle(std::vector<std::future<log::Result<v1::CommandReply>>>& replies,
                                      BillingPass& pass, int64_t& accepted_counter) {
  const auto deadline = std::chrono::steady_clock::now() + options_.reply_timeout;
  for (auto& reply : replies) {
    if (reply.wait_until(deadline) != std::future_status::ready) {
      return log::fail(log::ErrorCode::timeout, "no reply to a billing command in time; the next pass retries");
    }
    auto outcome = reply.get();
    if (!outcome) return std::unexpected(outcome.error());
    if (outcome->status() == v1::CommandReply::STATUS_ACCEPTED) ++accepted_counter;
    else ++pass.refused;
  }
  replies.clear();
  return {};
}

log::Result<BillingPass> BillingSaga::run_once() {
  auto pass = run_realtime();
  if (!pass) return pass;
  auto clocked = queries_.test_clock_tenants(options_.batch);
  if (!clocked) return std::unexpected(clocked.error());
  for (const auto& tenant : *clocked) {
    auto driven = run_tenant(tenant);
    if (!driven) return std::unexpected(driven.error());
    pass->closed += driven->closed;
    pass->charged += driven->charged;
    pass->declined += driven->declined;
    pass->pending += driven->pending;
    pass->unavailable += driven->unavailable;
    pass->refused += driven->refused;
  }
  return pass;
}

log::Result<BillingPass> BillingSaga::run_realtime() {
  std::lock_guard run(run_mutex_);
  const int64_t now = clock_.now_us();
  // Periods that have ended, then the payments due. An invoice a close drafts now is
  // charged by the next pass, once the read model has it.
  auto pass = close_due(now);
  if (!pass) return pass;
  auto charged = charge_due(now);
  if (!charged) return charged;
  charged->closed = pass->closed;
  charged->refused += pass->refused;
  return charged;
}

log::Result<BillingPass> BillingSaga::close_due(int64_t now_us) {
  BillingPass pass;
  std::vector<std::future<log::Result<v1::CommandReply>>> replies;
  auto closes = queries_.closes_due(now_us, options_.batch);
  if (!closes) return std::unexpected(closes.error());
  for (const auto& due : *closes) {
    auto state = queries_.state(due.tenant_id);
    if (!state) return std::unexpected(state.error());
    if (!*state || (*state)->test_clock_us() != 0) continue;
    auto command = close_command(due, **state);
    if (!command) return std::unexpected(command.error());
    replies.push_back(client_.submit(*command));
  }
  if (auto settled = settle(replies, pass, pass.closed); !settled) return std::unexpected(settled.error());
  return pass;
}

log::Result<BillingPass> BillingSaga::charge_due(int64_t now_us) {
  BillingPass pass;
  std::vector<std::future<log::Result<v1::CommandReply>>> replies;
  auto payments = queries_.payments_due(now_us, options_.batch);
  if (!payments) return std::unexpected(payments.error());
  int64_t recorded = 0;
  for (const auto& due : *payments) {
    auto state = queries_.state(due.tenant_id);
    if (!state) return std::unexpected(state.error());
    if (!*state || (*state)->test_clock_us() != 0) continue;
    auto command = charge(due, **state, pass);
    if (!command) return std::unexpected(command.error());
    if (*command) replies.push_back(client_.submit(**command));
  }
  if (auto settled = settle(replies, pass, recorded); !settled) return std::unexpected(settled.error());
  return pass;
}

log::Result<BillingPass> BillingSaga::run_tenant(const std::string& tenant_id) {
  std::lock_guard run(run_mutex_);
  BillingPass pass;
  for (size_t step = 0; step < options_.steps_max; ++step) {
    auto state = queries_.state(tenant_id);
    if (!state) return std::unexpected(state.error());
    if (!*state) return pass;
    const int64_t now = domain::billing::billing_now(**state, clock_.now_us());
    auto closes = queries_.closes_due(now, 1, tenant_id);
    if (!closes) return std::unexpected(closes.error());
    auto payments = queries_.payments_due(now, 1, tenant_id);
    if (!payments) return std::unexpected(payments.error());
    std::optional<v1::CommandEnvelope> command;
    // The earliest due item first; at the same instant the close (its invoice follows).
    const bool closing =
        !closes->empty() && (payments->empty() || closes->front().end_us <= payments->front().at_us);
    if (closing) {
      auto close = close_command(closes->front(), **state);
      if (!close) return std::unexpected(close.error());
      command = std::move(*close);
    } else if (!payments->empty()) {
      auto charged = charge(payments->front(), **state, pass);
      if (!charged) return std::unexpected(charged.error());
      if (!*charged) return pass;  // pending or unavailable: nothing more to do now
      command = std::move(**charged);
    } else {
      return pass;
    }
    auto reply = client_.execute(*command, options_.reply_timeout);
    if (!reply) return std::unexpected(reply.error());
    if (reply->status() != v1::CommandReply::STATUS_ACCEPTED) {
      ++pass.refused;
      // A refused step would be found due again: stop rather than loop.
      return log::fail(log::ErrorCode::invalid_argument,
                       "billing step refused for " + tenant_id + ": " + reply->error_type() + ": " + reply->message());
    }
    if (closing) ++pass.closed;
    if (auto applied = wait_applied(tenant_id, reply->resulting_sequence()); !applied) {
      return std::unexpected(applied.error());
    }
  }
  return pass;
}

log::Result<void> BillingSaga::wait_applied(const std::string& tenant_id, uint64_t sequence) {
  const auto deadline = std::chrono::steady_clock::now() + options_.projection_timeout;
  while (true) {
    auto applied = queries_.sequence(tenant_id);
    if (!applied) return std::unexpected(applied.error());
    if (*applied >= sequence) return {};
    if (std::chrono::steady_clock::now() > deadline) {
      return log::fail(log::ErrorCode::timeout, "the billing read model did not catch up in time");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void BillingSaga::start() {
  periodic_.start(options_.interval, [this] { (void)run_once(); });  // a failed pass is retried
}

void BillingSaga::stop() { periodic_.stop(); }

}  // namespace tenantry::sagas
