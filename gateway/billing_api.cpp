#include "gateway/billing_api.h"

#include <google/protobuf/util/json_util.h>

#include <sstream>
#include <thread>

#include "audit/json_writer.h"
#include "audit/render.h"
#include "connectors/payments/payment_webhooks.h"
#include "domain/billing/account.h"
#include "domain/billing/invoice.h"
#include "domain/billing/plans.h"
#include "domain/billing/wire.h"

namespace tenantry::gateway {

namespace {

using http::FieldDetail;
using http::HttpRequest;
using http::HttpResponse;
namespace billing = domain::billing;

const std::vector<http::auth::Role> kAnalysts = {http::auth::Role::platform_admin, http::auth::Role::operator_,
                                                 http::auth::Role::analyst};

std::string money(int64_t minor, const std::string& currency) {
  auto found = billing::find_currency(currency);
  return found ? billing::format_minor(minor, *found) : std::to_string(minor);
}

std::string proto_json(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

std::string period_json(const v1::Period& period) {
  audit::JsonObject out;
  out.text("start", billing::format_instant(period.start_us())).text("end", billing::format_instant(period.end_us()));
  return out.done();
}

std::string subscription_json(const v1::BillingStateSnapshot& state) {
  audit::JsonObject out;
  out.text("status", billing::status_name(state.status()));
  if (state.status() != v1::SUBSCRIPTION_STATUS_UNSPECIFIED) {
    const auto& plan = state.plan();
    audit::JsonObject p;
    p.text("id", plan.plan_id())
        .unsigned_number("version", plan.version())
        .text("name", plan.name())
        .text("currency", plan.currency())
        .text("baseFee", plan.base_fee())
        .text("interval", plan.interval());
    out.raw("plan", p.done());
    out.text("startedAt", billing::format_instant(state.started_at_us()))
        .text("trialEnd", billing::format_instant(state.trial_end_us()));
    if (state.period().end_us() != 0) out.raw("currentPeriod", period_json(state.period()));
    out.boolean("cancelAtPeriodEnd", state.cancel_at_period_end());
    if (state.has_scheduled_plan()) out.text("scheduledPlan", state.scheduled_plan().plan_id());
    out.text("proration", state.proration())
        .text("paymentMethod", state.payment_method())
        .number("taxRateBp", state.tax_rate_bp())
        .number("creditBalanceMinor", billing::credit_balance_minor(state, plan.currency()))
        .number("receivableMinor", billing::account_balance_minor(state, plan.currency(), "receivable"))
        .boolean("writesAllowed", billing::writes_allowed(state.status()));
  }
  out.unsigned_number("invoicesIssued", state.invoices_issued());
  if (state.test_clock_us() != 0) out.text("testClock", billing::format_instant(state.test_clock_us()));
  return out.done();
}

std::string invoice_json(const v1::InvoiceDocument& doc) {
  const auto& draft = doc.draft();
  audit::JsonObject out;
  out.text("id", draft.invoice_id())
      .unsigned_number("number", doc.finalized().number())
      .text("displayNumber", doc.finalized().display_number())
      .text("status", billing::invoice_status_name(doc.status()))
      .text("currency", draft.currency())
      .raw("period", period_json(draft.period()));
  std::string lines = "[";
  for (int i = 0; i < draft.lines_size(); ++i) {
    const auto& line = draft.lines(i);
    audit::JsonObject l;
    l.text("kind", line.kind()).text("description", line.description()).text("planId", line.plan_id());
    if (!line.meter().empty()) l.text("meter", line.meter()).text("model", line.model());
    l.number("quantity", line.quantity())
        .number("includedUnits", line.included_units())
        .text("unitAmount", line.unit_amount())
        .text("share", std::to_string(line.share_numerator()) + "/" + std::to_string(line.share_denominator()))
        .text("exactAmount", line.exact_amount())
        .number("amountMinor", line.amount_minor())
        .text("amount", money(line.amount_minor(), draft.currency()));
    lines += (i == 0 ? "" : ",") + l.done();
  }
  lines += "]";
  out.raw("lines", lines)
      .number("subtotalMinor", draft.subtotal_minor())
      .number("taxRateBp", draft.tax_rate_bp())
      .number("taxMinor", draft.tax_minor())
      .number("creditsAppliedMinor", draft.credits_applied_minor())
      .number("totalMinor", draft.total_minor())
      .text("total", money(draft.total_minor(), draft.currency()))
      .number("paidMinor", doc.paid_minor())
      .number("creditedMinor", doc.credited_minor())
      .number("attempts", doc.payments_size() + doc.failures_size());
  std::string payments = "[";
  for (int i = 0; i < doc.payments_size(); ++i) {
    const auto& p = doc.payments(i);
    audit::JsonObject one;
    one.text("paymentId", p.payment_id())
        .unsigned_number("attempt", p.attempt())
        .number("amountMinor", p.amount_minor())
        .text("at", billing::format_instant(p.at_us()));
    payments += (i == 0 ? "" : ",") + one.done();
  }
  out.raw("payments", payments + "]");
  std::string failures = "[";
  for (int i = 0; i < doc.failures_size(); ++i) {
    const auto& f = doc.failures(i);
    audit::JsonObject one;
    one.unsigned_number("attempt", f.attempt())
        .text("failureCode", f.failure_code())
        .text("failureMessage", f.failure_message())
        .text("at", billing::format_instant(f.at_us()));
    failures += (i == 0 ? "" : ",") + one.done();
  }
  out.raw("failures", failures + "]");
  if (doc.next_attempt_at_us() != 0) out.text("nextAttemptAt", billing::format_instant(doc.next_attempt_at_us()));
  if (!doc.status_reason().empty()) out.text("statusReason", doc.status_reason());
  return out.done();
}

void html_escape(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
}

std::string escaped(std::string_view text) {
  std::string out;
  html_escape(out, text);
  return out;
}

// A plan id's latest version: the catalog's published one, else the built-in one.
std::expected<std::optional<v1::PlanSpec>, std::string> catalog_plan(BillingApiDeps& deps, const std::string& id) {
  auto published = deps.billing.latest_plan(id);
  if (!published) return std::unexpected(published.error().message);
  if (*published) return *published;
  if (auto builtin = billing::builtin_plan(id)) return std::optional<v1::PlanSpec>(billing::plan_to_wire(*builtin));
  return std::optional<v1::PlanSpec>();
}

// The plan a request names: a catalog plan id (its latest version), or (platform
// roles) a full custom plan.
std::expected<v1::PlanSpec, FieldDetail> requested_plan(BillingApiDeps& deps, const Poco::JSON::Object::Ptr& body,
                                                        const http::auth::Principal& principal) {
  if (body->has("customPlan")) {
    if (!principal.is_platform()) return std::unexpected(FieldDetail{"customPlan", "only platform roles set custom plans"});
    v1::PlanSpec spec;
    std::string text;
    try {
      std::ostringstream json;
      body->getObject("customPlan")->stringify(json);
      text = json.str();
    } catch (const Poco::Exception&) {
      return std::unexpected(FieldDetail{"customPlan", "must be a plan object"});
    }
    if (!google::protobuf::util::JsonStringToMessage(text, &spec).ok()) {
      return std::unexpected(FieldDetail{"customPlan", "not a plan: see the PlanSpec schema (planId, currency, baseFee, ...)"});
    }
    if (spec.version() == 0) spec.set_version(1);
    return spec;
  }
  if (!body->has("plan") || !body->get("plan").isString()) {
    return std::unexpected(FieldDetail{"plan", "is required: free, basic, pro or enterprise"});
  }
  const std::string id = body->getValue<std::string>("plan");
  auto plan = catalog_plan(deps, id);
  if (!plan) return std::unexpected(FieldDetail{"plan", "the catalog cannot be read: " + plan.error()});
  if (!*plan) return std::unexpected(FieldDetail{"plan", "unknown plan \"" + id.substr(0, 64) + "\": see GET /v1/plans"});
  return **plan;
}

std::optional<int64_t> integer(const Poco::JSON::Object::Ptr& body, const std::string& name,
                               std::vector<FieldDetail>& errors) {
  if (!body->has(name)) return std::nullopt;
  const auto value = body->get(name);
  if (!value.isInteger()) {
    errors.push_back({name, "must be an integer"});
    return std::nullopt;
  }
  return value.convert<int64_t>();
}

std::optional<bool> flag(const Poco::JSON::Object::Ptr& body, const std::string& name, std::vector<FieldDetail>& errors) {
  if (!body->has(name)) return std::nullopt;
  const auto value = body->get(name);
  if (!value.isBoolean()) {
    errors.push_back({name, "must be true or false"});
    return std::nullopt;
  }
  return value.convert<bool>();
}

std::optional<int64_t> instant(const Poco::JSON::Object::Ptr& body, const std::string& name,
                               std::vector<FieldDetail>& errors) {
  auto value = text(body, name, name, errors);
  if (!value) return std::nullopt;
  auto parsed = audit::parse_time_us(*value);
  if (!parsed) errors.push_back({name, "an instant such as 2025-01-31T00:00:00Z"});
  return parsed;
}

HttpResponse bad_request(const HttpRequest& request, std::vector<FieldDetail> errors) {
  return http::error_response(request, 400, "validation_error", "the body has invalid fields", std::move(errors));
}

// A money movement's body: {"amountMinor": n, "currency": "USD" (when asked), "reason": "..."}.
struct AmountBody {
  int64_t amount_minor = 0;
  std::string currency;
  std::string reason;
};
std::expected<AmountBody, HttpResponse> amount_body(const HttpRequest& request, bool with_currency) {
  auto body = with_currency ? json_body(request, {"amountMinor", "currency", "reason"})
                            : json_body(request, {"amountMinor", "reason"});
  if (!body) return std::unexpected(body.error());
  std::vector<FieldDetail> errors;
  AmountBody out;
  if (auto amount = integer(*body, "amountMinor", errors)) out.amount_minor = *amount;
  else if (errors.empty()) errors.push_back({"amountMinor", "is required"});
  if (with_currency) {
    if (auto currency = text(*body, "currency", "currency", errors)) out.currency = *currency;
    else if (errors.empty()) errors.push_back({"currency", "is required"});
  }
  if (auto reason = text(*body, "reason", "reason", errors)) out.reason = *reason;
  if (!errors.empty()) return std::unexpected(bad_request(request, std::move(errors)));
  return out;
}

// ---- subscription ----

HttpResponse get_subscription(BillingApiDeps& deps, const HttpRequest& request) {
  auto access = access_tenant(deps.gateway, request, kPlatformReaders, OwnTenant::admin_or_member);
  if (!access) return access.error();
  auto state = deps.billing.state(access->tenant_id);
  if (!state) return http::error_response(request, 503, "unavailable", state.error().message);
  return http::ok_response(request, 200, "the tenant's subscription",
                           subscription_json(state->value_or(v1::BillingStateSnapshot{})));
}

HttpResponse start_subscription(BillingApiDeps& deps, const HttpRequest& request) {
  auto access = access_tenant(deps.gateway, request, kPlatformWriters, OwnTenant::admin);
  if (!access) return access.error();
  auto body = json_body(request, {"plan", "customPlan", "trial", "proration", "anchorDay", "paymentMethod", "taxRateBp"});
  if (!body) return body.error();
  std::vector<FieldDetail> errors;
  v1::StartSubscription start;
  if (auto plan = requested_plan(deps, *body, access->principal)) *start.mutable_plan() = *plan;
  else errors.push_back(plan.error());
  if (auto trial = flag(*body, "trial", errors)) start.set_skip_trial(!*trial);
  if (auto proration = text(*body, "proration", "proration", errors)) start.set_proration(*proration);
  if (auto day = integer(*body, "anchorDay", errors)) {
    if (*day < 1 || *day > 31) errors.push_back({"anchorDay", "must be 1 to 31"});
    else start.set_anchor_day(static_cast<uint32_t>(*day));
  }
  if (auto method = text(*body, "paymentMethod", "paymentMethod", errors)) start.set_payment_method(*method);
  if (auto rate = integer(*body, "taxRateBp", errors)) {
    if (!access->principal.is_platform()) errors.push_back({"taxRateBp", "only platform roles set the tax rate"});
    else if (*rate < 0 || *rate > billing::kTaxRateMaxBp) errors.push_back({"taxRateBp", "must be 0 to 10000"});
    else start.set_tax_rate_bp(static_cast<int32_t>(*rate));
  }
  if (!errors.empty()) return bad_request(request, std::move(errors));
  return run_command(deps.gateway, request, command_for(access->tenant_id, start), access->principal, 201,
                     "subscription started");
}

HttpResponse change_subscription(BillingApiDeps& deps, const HttpRequest& request) {
  auto access = access_tenant(deps.gateway, request, kPlatformWriters, OwnTenant::admin);
  if (!access) return access.error();
  auto body = json_body(request, {"plan", "customPlan", "atOnce"});
  if (!body) return body.error();
  std::vector<FieldDetail> errors;
  v1::ChangeSubscriptionPlan change;
  if (auto plan = requested_plan(deps, *body, access->principal)) *change.mutable_plan() = *plan;
  else errors.push_back(plan.error());
  if (auto at_once = flag(*body, "atOnce", errors)) change.set_at_once(*at_once);
  if (!errors.empty()) return bad_request(request, std::move(errors));
  if (deps.current_usage) {
    for (const auto& [name, used] : deps.current_usage(access->tenant_id)) (*change.mutable_current_usage())[name] = used;
  }
  return run_command(deps.gateway, request, command_for(access->tenant_id, change), access->principal, 200,
                     "plan changed (an upgrade at once; a downgrade at the period's end unless atOnce)");
}

HttpResponse cancel_subscription(BillingApiDeps& deps, const HttpRequest& request) {
  auto access = access_tenant(deps.gateway, request, kPlatformWriters, OwnTenant::admin);
  if (!access) return access.error();
  std::vector<FieldDetail> errors;
  v1::CancelSubscription cancel;
  for (const auto& [name, value] : query_pairs(request.query, errors)) {
    if (name == "atOnce" && (value == "true" || value == "false")) cancel.set_at_once(value == "true");
    else if (name == "reason" && value.size() <= billing::kReasonMax) cancel.set_reason(value);
    else errors.push_back({name, name == "atOnce" ? "true or false" : "unknown parameter (atOnce, reason)"});
  }
  if (!errors.empty()) return http::error_response(request, 400, "validation_error", "invalid parameters", errors);
  return run_command(deps.gateway, request, command_for(access->tenant_id, cancel), access->principal, 200,
                     cancel.at_once() ? "subscription canceled" : "subscription canceled at the period's end");
}

HttpResponse resume_subscription(BillingApiDeps& deps, const HttpRequest& request) {
  auto access = access_tenant(deps.gateway, request, kPlatformWriters, OwnTenant::admin);
  if (!access) return access.error();
  return run_command(deps.gateway, request, command_for(access->tenant_id, v1::ResumeSubscription{}),
                     access->principal, 200, "the cancellation at the period's end is undone");
}

HttpResponse set_payment_method(BillingApiDeps& deps, const HttpRequest& request) {
  auto access = access_tenant(deps.gateway, request, kPlatformWriters, OwnTenant::admin);
  if (!access) return access.error();
  auto body = json_body(request, {"paymentMethod"});
  if (!body) return body.error();
  std::vector<FieldDetail> errors;
  v1::SetPaymentMethod set;
  if (auto method = text(*body, "paymentMethod", "paymentMethod", errors)) set.set_payment_method(*method);
  else if (errors.empty()) errors.push_back({"paymentMethod", "is required"});
  if (!errors.empty()) return bad_request(request, std::move(errors));
  return run_command(deps.gateway, request, command_for(access->tenant_id, set), access->principal, 200,
                     "payment method set (open invoices are retried with it at their next attempt)");
}

// ---- invoices ----

HttpResponse list_invoices(BillingApiDeps& deps, const HttpRequest& request) {
  auto access = access_tenant(deps.gateway, request, kPlatformReaders, OwnTenant::admin_or_member);
  if (!access) return access.error();
  std::vector<FieldDetail> errors;
  std::string after;
  size_t limit = 100;
  for (const auto& [name, value] : query_pairs(request.query, errors)) {
    if (name == "after") after = value;
    else if (name == "limit" && !value.empty() && value.size() <= 4 &&
             value.find_first_not_of("0123456789") == std::string::npos && std::stoul(value) >= 1 &&
             std::stoul(value) <= 500) {
      limit = std::stoul(value);
    } else {
      errors.push_back({name, name == "limit" ? "1 to 500" : "unknown parameter (after, limit)"});
    }
  }
  if (!errors.empty()) return http::error_response(request, 400, "validation_error", "invalid parameters", errors);
  auto invoices = deps.billing.invoices(access->tenant_id, after, limit);
  if (!invoices) return http::error_response(request, 503, "unavailable", invoices.error().message);
  std::string data = "{\"invoices\":[";
  for (size_t i = 0; i < invoices->size(); ++i) data += (i == 0 ? "" : ",") + invoice_json((*invoices)[i]);
  data += "],\"nextAfter\":";
  if (invoices->size() == limit) audit::append_json_string(data, invoices->back().draft().invoice_id());
  else data += "null";
  data += "}";
  return http::ok_response(request, 200, "the tenant's invoices, oldest first", data);
}

HttpResponse get_invoice(BillingApiDeps& deps, const HttpRequest& request) {
  auto access = access_tenant(deps.gateway, request, kPlatformReaders, OwnTenant::admin_or_member);
  if (!access) return access.error();
  const std::string id = request.path_params.at("invoice");
  auto invoice = deps.billing.invoice(access->tenant_id, id);
  if (!invoice) return http::error_response(request, 503, "unavailable", invoice.error().message);
  if (!*invoice) {
    return http::error_response(request, 404, "not_found", "no invoice " + id.substr(0, 64), {{"invoice", "unknown"}});
  }
  const auto accept = request.headers.find("accept");
  const bool html = request.query == "format=html" ||
                    (accept != request.headers.end() && accept->second.find("text/html") != std::string::npos);
  if (html) {
    HttpResponse response;
    response.status = 200;
    response.content_type = "text/html; charset=utf-8";
    response.body = invoice_html(**invoice, access->context ? access->context->slug : access->tenant_id);
    return response;
  }
  return http::ok_response(request, 200, "the invoice", invoice_json(**invoice));
}

HttpResponse preview_invoice(BillingApiDeps& deps, const HttpRequest& request) {
  auto access = access_tenant(deps.gateway, request, kPlatformReaders, OwnTenant::admin_or_member);
  if (!access) return access.error();
  auto found = deps.billing.state(access->tenant_id);
  if (!found) return http::error_response(request, 503, "unavailable", found.error().message);
  if (!*found || (*found)->period().end_us() == 0) {
    return http::error_response(request, 409, "invalid_transition", "the tenant has no open billing period");
  }
  const auto& state = **found;
  std::vector<FieldDetail> errors;
  std::optional<billing::PlanVersion> proposed;
  for (const auto& [name, value] : query_pairs(request.query, errors)) {
    if (name == "plan" && (proposed = billing::builtin_plan(value))) continue;
    errors.push_back({name, name == "plan" ? "unknown plan" : "unknown parameter (plan)"});
  }
  if (!errors.empty()) return http::error_response(request, 400, "validation_error", "invalid parameters", errors);
  billing::PreviewInput input;
  auto period_plan = billing::plan_from_wire(billing::period_plan(state), "");
  if (!period_plan) return http::error_response(request, 500, "internal", "the stored plan cannot be read");
  input.plan = *period_plan;
  input.anchor = billing::anchor_from_wire(state.anchor());
  input.now_us = billing::billing_now(state, deps.gateway.now_us());
  if (input.now_us >= state.period().end_us()) input.now_us = state.period().end_us() - 1;
  const int64_t active = std::max(state.started_at_us(), state.trial_end_us());
  if (active > state.period().start_us()) input.active_from_us = active;
  for (const auto& change : state.changes()) {
    if (auto to = billing::plan_from_wire(change.plan(), "")) input.changes.push_back({change.at_us(), *to});
  }
  if (proposed) {
    if (proposed->currency != input.plan.currency || proposed->interval != input.plan.interval) {
      return http::error_response(request, 400, "validation_error", "another currency or interval is a new subscription",
                                  {{"plan", "another currency or interval"}});
    }
    input.changes.push_back({input.now_us, *proposed});
  }
  input.proration = billing::proration_unit_from(state.proration()).value_or(billing::ProrationUnit::second);
  input.tax_rate_bp = state.tax_rate_bp();
  input.credit_balance_minor = billing::credit_balance_minor(state, input.plan.currency);
  if (deps.usage) {
    std::vector<std::string> meters;
    for (const auto& [meter, price] : input.plan.charges) meters.push_back(meter);
    auto usage = deps.usage(access->tenant_id, meters, billing::period_from_wire(state.period()));
    if (usage) {
      for (const auto& [meter, u] : *usage) {
        billing::Usage value;
        value.units = u.units();
        value.transactions_minor.assign(u.transactions_minor().begin(), u.transactions_minor().end());
        input.usage_to_date[meter] = std::move(value);
      }
    }
  }
  auto preview = billing::preview_invoice(input);
  if (!preview) {
    std::vector<FieldDetail> details;
    for (const auto& f : preview.error().fields) details.push_back({f.field, f.message});
    return http::error_response(request, 422, preview.error().type, preview.error().message, details);
  }
  v1::InvoiceDocument doc;
  billing::invoice_to_wire(*preview, *doc.mutable_draft());
  doc.mutable_draft()->set_invoice_id("preview");
  doc.set_status(v1::INVOICE_STATUS_DRAFT);
  return http::ok_response(request, 200, proposed ? "the period's invoice if the plan changed now" : "the period's invoice so far",
                           invoice_json(doc));
}

HttpResponse void_invoice(BillingApiDeps& deps, const HttpRequest& request) {
  auto access = access_tenant(deps.gateway, request, kPlatformWriters, OwnTenant::none);
  if (!access) return access.error();
  auto body = json_body(request, {"reason"});
  if (!body) return body.error();
  std::vector<FieldDetail> errors;
  v1::VoidInvoice command;
  command.set_invoice_id(request.path_params.at("invoice"));
  if (auto reason = text(*body, "reason", "reason", errors)) command.set_reason(*reason);
  if (!errors.empty()) return bad_request(request, std::move(errors));
  return run_command(deps.gateway, request, command_for(access->tenant_id, command), access->principal, 200,
                     "invoice voided");
}

HttpResponse grant_credit(BillingApiDeps& deps, const HttpRequest& request) {
  auto access = access_tenant(deps.gateway, request, kPlatformWriters, OwnTenant::none);
  if (!access) return access.error();
  auto amount = amount_body(request, true);
  if (!amount) return amount.error();
  v1::GrantCredit command;
  command.set_amount_minor(amount->amount_minor);
  command.set_currency(amount->currency);
  command.set_reason(amount->reason);
  return run_command(deps.gateway, request, command_for(access->tenant_id, command), access->principal, 201,
                     "credit granted");
}

HttpResponse credit_note(BillingApiDeps& deps, const HttpRequest& request) {
  auto access = access_tenant(deps.gateway, request, kPlatformWriters, OwnTenant::none);
  if (!access) return access.error();
  auto amount = amount_body(request, false);
  if (!amount) return amount.error();
  v1::IssueCreditNote command;
  command.set_invoice_id(request.path_params.at("invoice"));
  command.set_amount_minor(amount->amount_minor);
  command.set_reason(amount->reason);
  return run_command(deps.gateway, request, command_for(access->tenant_id, command), access->principal, 201,
                     "credit note issued");
}

HttpResponse refund(BillingApiDeps& deps, const HttpRequest& request) {
  auto access = access_tenant(deps.gateway, request, kPlatformWriters, OwnTenant::none);
  if (!access) return access.error();
  auto amount = amount_body(request, true);
  if (!amount) return amount.error();
  v1::RefundCredit command;
  command.set_amount_minor(amount->amount_minor);
  command.set_currency(amount->currency);
  command.set_reason(amount->reason);
  return run_command(deps.gateway, request, command_for(access->tenant_id, command), access->principal, 201,
                     "credit balance refunded");
}

// The tenant's ledger balances, per currency and account.
HttpResponse ledger(BillingApiDeps& deps, const HttpRequest& request) {
  auto access = access_tenant(deps.gateway, request, kPlatformReaders, OwnTenant::admin);
  if (!access) return access.error();
  auto state = deps.billing.state(access->tenant_id);
  if (!state) return http::error_response(request, 503, "unavailable", state.error().message);
  std::string data = "{\"accounts\":[";
  bool first = true;
  if (*state) {
    for (const auto& [key, totals] : std::map<std::string, v1::AccountTotalsState>((*state)->ledger().begin(),
                                                                                   (*state)->ledger().end())) {
      const auto slash = key.find('/');
      audit::JsonObject one;
      one.text("currency", key.substr(0, slash))
          .text("account", key.substr(slash + 1))
          .number("debitsMinor", totals.debits_minor())
          .number("creditsMinor", totals.credits_minor())
          .number("balanceMinor", totals.debits_minor() - totals.credits_minor());
      data += (first ? "" : ",") + one.done();
      first = false;
    }
  }
  data += "]}";
  return http::ok_response(request, 200, "the tenant's ledger: every balance the sum of its entries (debits positive)",
                           data);
}

// ---- test clocks ----

HttpResponse attach_clock(BillingApiDeps& deps, const HttpRequest& request) {
  auto access = access_tenant(deps.gateway, request, kPlatformWriters, OwnTenant::admin);
  if (!access) return access.error();
  auto body = json_body(request, {"now"});
  if (!body) return body.error();
  std::vector<FieldDetail> errors;
  v1::AttachTestClock command;
  if (auto now = instant(*body, "now", errors)) command.set_now_us(*now);
  else if (errors.empty()) errors.push_back({"now", "is required"});
  if (!errors.empty()) return bad_request(request, std::move(errors));
  return run_command(deps.gateway, request, command_for(access->tenant_id, command), access->principal, 201,
                     "test clock attached: the tenant's billing runs on it from now on");
}

HttpResponse advance_clock(BillingApiDeps& deps, const HttpRequest& request) {
  auto access = access_tenant(deps.gateway, request, kPlatformWriters, OwnTenant::admin);
  if (!access) return access.error();
  auto body = json_body(request, {"to"});
  if (!body) return body.error();
  std::vector<FieldDetail> errors;
  v1::AdvanceTestClock command;
  if (auto to = instant(*body, "to", errors)) command.set_to_us(*to);
  else if (errors.empty()) errors.push_back({"to", "is required"});
  if (!errors.empty()) return bad_request(request, std::move(errors));
  auto response = run_command(deps.gateway, request, command_for(access->tenant_id, command), access->principal, 200,
                              "test clock advanced");
  if (response.status != 200 || deps.saga == nullptr) return response;
  // Everything that fell due, in order, before answering.
  const auto deadline = std::chrono::steady_clock::now() + deps.gateway.command_timeout;
  while (true) {
    auto seen = deps.billing.state(access->tenant_id);
    if (seen && *seen && (*seen)->test_clock_us() >= command.to_us()) break;
    if (std::chrono::steady_clock::now() > deadline) {
      return http::error_response(request, 504, "projection_timeout", "the billing read model did not catch up in time");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  auto ran = deps.saga->run_tenant(access->tenant_id);
  if (!ran) return http::error_response(request, 503, "billing_step_failed", ran.error().message);
  auto state = deps.billing.state(access->tenant_id);
  if (!state || !*state) return http::error_response(request, 503, "unavailable", "the billing read model is unavailable");
  audit::JsonObject out;
  out.number("periodsClosed", ran->closed)
      .number("paymentsSucceeded", ran->charged)
      .number("paymentsDeclined", ran->declined)
      .number("paymentsPending", ran->pending)
      .raw("subscription", subscription_json(**state));
  return http::ok_response(request, 200, "test clock advanced; everything due has run", out.done());
}

// ---- platform ----

HttpResponse list_plans(BillingApiDeps& deps, const HttpRequest& request) {
  auto principal = authenticate(deps.gateway, request);
  if (!principal) return principal.error();
  auto published = deps.billing.published_plans();
  if (!published) return http::error_response(request, 503, "unavailable", published.error().message);
  std::map<std::string, v1::PlanSpec> latest;
  for (const auto& plan : billing::builtin_plans()) latest[plan.plan_id] = billing::plan_to_wire(plan);
  for (auto& spec : *published) latest[spec.plan_id()] = std::move(spec);
  std::string data = "{\"plans\":[";
  bool first = true;
  for (const auto& [id, spec] : latest) {
    data += (first ? "" : ",") + proto_json(spec);
    first = false;
  }
  data += "]}";
  return http::ok_response(request, 200, "the plan catalog: each plan's latest version", data);
}

HttpResponse get_plan(BillingApiDeps& deps, const HttpRequest& request) {
  auto principal = authenticate(deps.gateway, request);
  if (!principal) return principal.error();
  const std::string id = request.path_params.at("plan");
  std::vector<FieldDetail> errors;
  std::optional<uint32_t> version;
  for (const auto& [name, value] : query_pairs(request.query, errors)) {
    if (name == "version" && !value.empty() && value.size() <= 9 &&
        value.find_first_not_of("0123456789") == std::string::npos && std::stoul(value) >= 1) {
      version = static_cast<uint32_t>(std::stoul(value));
    } else {
      errors.push_back({name, name == "version" ? "a version, 1 or more" : "unknown parameter (version)"});
    }
  }
  if (!errors.empty()) return http::error_response(request, 400, "validation_error", "invalid parameters", errors);
  std::optional<v1::PlanSpec> found;
  if (version) {
    auto stored = deps.billing.plan_version(id, *version);
    if (!stored) return http::error_response(request, 503, "unavailable", stored.error().message);
    found = *stored;
    if (!found && *version == 1) {
      if (auto builtin = billing::builtin_plan(id)) found = billing::plan_to_wire(*builtin);
    }
  } else {
    auto latest = catalog_plan(deps, id);
    if (!latest) return http::error_response(request, 503, "unavailable", latest.error());
    found = *latest;
  }
  if (!found) return http::error_response(request, 404, "not_found", "no such plan or version", {{"plan", "unknown"}});
  return http::ok_response(request, 200, "the plan", proto_json(*found));
}

// A new plan, or the next version of one: subscriptions started or moved from now on
// get it; existing ones keep the version they have.
HttpResponse publish_plan(BillingApiDeps& deps, const HttpRequest& request) {
  auto principal = authenticate(deps.gateway, request);
  if (!principal) return principal.error();
  if (auto denied = authorize(request, *principal, kPlatformWriters, "", false)) return *denied;
  if (!principal->is_platform()) return http::error_response(request, 403, "forbidden", "for platform roles only");
  v1::PlanSpec spec;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  if (auto parsed = google::protobuf::util::JsonStringToMessage(request.body, &spec, options); !parsed.ok()) {
    return http::error_response(request, 400, "validation_error",
                                "the body is not a plan: " + std::string(parsed.message().substr(0, 200)),
                                {{"body", "a plan: planId, name, currency, baseFee, interval, trialDays, charges, features"}});
  }
  v1::PublishPlanVersion publish;
  *publish.mutable_plan() = spec;
  return run_command(deps.gateway, request, command_for(billing::kCatalogStream, publish), *principal, 201,
                     "plan version published");
}

HttpResponse revenue(BillingApiDeps& deps, const HttpRequest& request) {
  auto principal = authenticate(deps.gateway, request);
  if (!principal) return principal.error();
  if (auto denied = authorize(request, *principal, kAnalysts, "", false)) return *denied;
  if (!principal->is_platform()) return http::error_response(request, 403, "forbidden", "for platform roles only");
  auto revenue = deps.billing.revenue();
  if (!revenue) return http::error_response(request, 503, "unavailable", revenue.error().message);
  auto churn = deps.billing.churn();
  if (!churn) return http::error_response(request, 503, "unavailable", churn.error().message);
  std::string data = "{\"revenue\":[";
  for (size_t i = 0; i < revenue->size(); ++i) {
    const auto& r = (*revenue)[i];
    audit::JsonObject out;
    out.text("currency", r.currency)
        .number("mrrMinor", r.mrr_minor)
        .text("mrr", money(r.mrr_minor, r.currency))
        .number("arrMinor", r.arr_minor)
        .text("arr", money(r.arr_minor, r.currency))
        .number("subscriptions", r.subscriptions);
    data += (i == 0 ? "" : ",") + out.done();
  }
  data += "],\"churn\":[";
  for (size_t i = 0; i < churn->size(); ++i) {
    audit::JsonObject out;
    out.text("month", (*churn)[i].month).number("canceled", (*churn)[i].canceled);
    data += (i == 0 ? "" : ",") + out.done();
  }
  data += "]}";
  return http::ok_response(request, 200, "recurring revenue and churn", data);
}

std::string invoice_csv_row(const v1::InvoiceDocument& doc) {
  const auto& d = doc.draft();
  std::string row;
  for (const std::string& cell :
       {doc.tenant_id(), d.invoice_id(), std::to_string(doc.finalized().number()), doc.finalized().display_number(),
        std::string(billing::invoice_status_name(doc.status())), d.currency(),
        billing::format_instant(d.period().start_us()), billing::format_instant(d.period().end_us()),
        std::to_string(d.subtotal_minor()), std::to_string(d.tax_minor()), std::to_string(d.total_minor()),
        std::to_string(doc.paid_minor())}) {
    row += (row.empty() ? "" : ",") + audit::csv_cell(cell);
  }
  return row + "\r\n";
}

// Every tenant's invoices for analysts: pages of JSON, or the whole set streamed as CSV
// or NDJSON.
HttpResponse all_invoices(BillingApiDeps& deps, const HttpRequest& request) {
  auto principal = authenticate(deps.gateway, request);
  if (!principal) return principal.error();
  if (auto denied = authorize(request, *principal, kAnalysts, "", false)) return *denied;
  if (!principal->is_platform()) return http::error_response(request, 403, "forbidden", "for platform roles only");
  std::vector<FieldDetail> errors;
  std::string cursor, format;
  size_t limit = 100;
  v1::InvoiceStatus status = v1::INVOICE_STATUS_UNSPECIFIED;
  for (const auto& [name, value] : query_pairs(request.query, errors)) {
    if (name == "after") {
      cursor = value;
    } else if (name == "format" && (value == "csv" || value == "ndjson")) {
      format = value;
    } else if (name == "status") {
      bool known = false;
      for (auto candidate : {v1::INVOICE_STATUS_DRAFT, v1::INVOICE_STATUS_OPEN, v1::INVOICE_STATUS_PAID,
                             v1::INVOICE_STATUS_VOID, v1::INVOICE_STATUS_UNCOLLECTIBLE}) {
        if (value == billing::invoice_status_name(candidate)) {
          status = candidate;
          known = true;
        }
      }
      if (!known) errors.push_back({"status", "draft, open, paid, void or uncollectible"});
    } else if (name == "limit" && !value.empty() && value.size() <= 3 &&
               value.find_first_not_of("0123456789") == std::string::npos && std::stoul(value) >= 1 &&
               std::stoul(value) <= 500) {
      limit = std::stoul(value);
    } else {
      errors.push_back({name, name == "limit"    ? "1 to 500"
                              : name == "format" ? "csv or ndjson"
                                                 : "unknown parameter (status, after, limit, format)"});
    }
  }
  if (!errors.empty()) return http::error_response(request, 400, "validation_error", "invalid parameters", errors);
  if (!format.empty()) {
    HttpResponse response;
    response.status = 200;
    response.content_type = format == "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson";
    response.headers["X-Request-ID"] = request.request_id;
    response.headers["Content-Disposition"] = "attachment; filename=\"invoices." + format + "\"";
    auto& billing_queries = deps.billing;
    response.stream = [&billing_queries, status, csv = format == "csv"](const http::BodyWriter& write) {
      if (csv && !write("tenant_id,invoice_id,number,display_number,status,currency,period_start,period_end,"
                        "subtotal_minor,tax_minor,total_minor,paid_minor\r\n")) {
        return false;
      }
      std::string cursor;
      do {
        auto page = billing_queries.all_invoices(cursor, 500, status);
        if (!page) return false;
        std::string chunk;
        for (const auto& doc : page->invoices) chunk += csv ? invoice_csv_row(doc) : invoice_json(doc) + "\n";
        if (!chunk.empty() && !write(chunk)) return false;
        cursor = page->next_cursor;
      } while (!cursor.empty());
      return true;
    };
    return response;
  }
  auto page = deps.billing.all_invoices(cursor, limit, status);
  if (!page) return http::error_response(request, 503, "unavailable", page.error().message);
  std::string data = "{\"invoices\":[";
  for (size_t i = 0; i < page->invoices.size(); ++i) {
    audit::JsonObject one;
    one.text("tenantId", page->invoices[i].tenant_id()).raw("invoice", invoice_json(page->invoices[i]));
    data += (i == 0 ? "" : ",") + one.done();
  }
  data += "],\"nextAfter\":";
  if (page->next_cursor.empty()) data += "null";
  else audit::append_json_string(data, page->next_cursor);
  data += "}";
  return http::ok_response(request, 200, "every tenant's invoices, by tenant and number", data);
}

// The provider's result webhook, into RecordPayment (a repeated event id is the same
// command id: the processor answers it with its first reply, so nothing happens twice).
HttpResponse payment_webhook(BillingApiDeps& deps, const HttpRequest& request) {
  auto header = request.headers.find("tenantry-signature");
  if (header == request.headers.end()) {
    return http::error_response(request, 401, "invalid_signature", "the Tenantry-Signature header is missing",
                                {{"Tenantry-Signature", "required"}});
  }
  if (deps.payment_webhook_secret.empty()) {
    return http::error_response(request, 503, "not_configured", "payment webhooks are not configured");
  }
  auto webhook = payments::verify_payment_webhook(header->second, request.body,
                                                  deps.payment_webhook_secret, deps.gateway.now_us() / 1'000'000);
  if (!webhook) {
    const int status = webhook.error().type == "malformed_webhook" ? 400 : 401;
    std::vector<FieldDetail> details;
    if (!webhook.error().field.empty()) details.push_back({webhook.error().field, webhook.error().message});
    return http::error_response(request, status, webhook.error().type, webhook.error().message, details);
  }
  // The attempt is the idempotency key's last part: <tenant>:<invoice>:<attempt>.
  uint32_t attempt = 0;
  const auto colon = webhook->idempotency_key.rfind(':');
  if (colon != std::string::npos) {
    try {
      attempt = static_cast<uint32_t>(std::stoul(webhook->idempotency_key.substr(colon + 1)));
    } catch (const std::exception&) {
      attempt = 0;
    }
  }
  if (attempt == 0 || !well_formed_id(webhook->tenant_id) || !well_formed_id(webhook->event_id)) {
    return http::error_response(request, 400, "malformed_webhook", "the webhook names no charge of Tenantry's",
                                {{"idempotencyKey", "<tenant>:<invoice>:<attempt>"}});
  }
  v1::RecordPayment record;
  record.set_invoice_id(webhook->invoice_id);
  record.set_attempt(attempt);
  record.set_succeeded(webhook->type == "payment.succeeded");
  record.set_payment_id(webhook->payment_id);
  record.set_amount_minor(record.succeeded() ? webhook->amount_minor : 0);
  record.set_failure_code(webhook->failure_code);
  record.set_failure_message(webhook->failure_message.substr(0, billing::kReasonMax));
  auto command = command_for(webhook->tenant_id, record);
  command.set_command_id("payment-webhook:" + webhook->event_id);
  command.set_issued_at_us(deps.gateway.now_us());
  command.mutable_actor()->set_kind("provider");
  command.mutable_actor()->set_id("payment-webhook");
  auto reply = deps.gateway.client.execute(command, deps.gateway.command_timeout);
  if (!reply) return http::error_response(request, 503, "unavailable", reply.error().message);
  if (reply->status() == v1::CommandReply::STATUS_ACCEPTED) {
    return http::ok_response(request, 200, "payment recorded", "null");
  }
  std::vector<FieldDetail> details;
  for (const auto& f : reply->field_errors()) details.push_back({f.field(), f.message()});
  const int status = reply->error_type() == "not_found" ? 404 : reply->status() == v1::CommandReply::STATUS_REJECTED ? 422 : 409;
  return http::error_response(request, status, reply->error_type(), reply->message(), details);
}

}  // namespace

std::string invoice_html(const v1::InvoiceDocument& doc, const std::string& tenant_name) {
  const auto& draft = doc.draft();
  const std::string& currency = draft.currency();
  std::string out =
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Invoice ";
  html_escape(out, doc.finalized().display_number());
  out += "</title><style>body{font-family:sans-serif;max-width:48rem;margin:2rem auto}table{width:100%;"
         "border-collapse:collapse}td,th{padding:.3rem;border-bottom:1px solid #ddd;text-align:left}"
         "td.n,th.n{text-align:right}</style></head><body>";
  out += "<h1>Invoice " + escaped(doc.finalized().display_number()) + "</h1>";
  out += "<p>Billed to: " + escaped(tenant_name) + "<br>Status: " + billing::invoice_status_name(doc.status()) +
         "<br>Period: " + escaped(billing::format_date(draft.period().start_us())) + " to " +
         escaped(billing::format_date(draft.period().end_us())) + "<br>Currency: " + escaped(currency) + "</p>";
  out += "<table><thead><tr><th>Description</th><th class=\"n\">Quantity</th><th class=\"n\">Amount</th></tr></thead><tbody>";
  for (const auto& line : draft.lines()) {
    out += "<tr><td>" + escaped(line.description()) + "</td><td class=\"n\">" + std::to_string(line.quantity()) +
           "</td><td class=\"n\">" + escaped(money(line.amount_minor(), currency)) + "</td></tr>";
  }
  out += "</tbody></table><table>";
  auto row = [&](const char* label, int64_t minor) {
    out += std::string("<tr><th>") + label + "</th><td class=\"n\">" + escaped(money(minor, currency)) + "</td></tr>";
  };
  row("Subtotal", draft.subtotal_minor());
  row(("Tax (" + std::to_string(draft.tax_rate_bp() / 100) + "." +
       (draft.tax_rate_bp() % 100 < 10 ? "0" : "") + std::to_string(draft.tax_rate_bp() % 100) + "%)").c_str(),
      draft.tax_minor());
  if (draft.credits_applied_minor() != 0) row("Credits applied", -draft.credits_applied_minor());
  row("Total", draft.total_minor());
  row("Paid", doc.paid_minor());
  out += "</table></body></html>";
  return out;
}

std::vector<http::Route> billing_routes(BillingApiDeps& deps) {
  using Handler = HttpResponse (*)(BillingApiDeps&, const HttpRequest&);
  auto bind = [&deps](Handler handler) { return [&deps, handler](const HttpRequest& r) { return handler(deps, r); }; };
  const std::vector<std::string> readers = {"platform_admin", "operator", "analyst", "auditor", "tenant_admin",
                                            "tenant_member"};
  const std::vector<std::string> admins = {"platform_admin", "operator", "tenant_admin"};
  const std::vector<std::string> finance = {"platform_admin", "operator", "analyst", "auditor", "tenant_admin"};
  const std::vector<std::string> platform = {"platform_admin", "operator"};
  std::vector<http::Route> routes = {
      {"GET", "/v1/plans", bind(list_plans), "The plan catalog: each plan's latest version", readers},
      {"POST", "/v1/plans", bind(publish_plan),
       "Publish a plan, or its next version (a price change reaches new and moved subscriptions only)", platform},
      {"GET", "/v1/plans/{plan}", bind(get_plan), "A plan's latest version, or ?version=N", readers},
      {"GET", "/v1/billing/revenue", bind(revenue), "MRR and ARR per currency, cancellations per month",
       {"platform_admin", "operator", "analyst"}},
      {"GET", "/v1/billing/invoices", bind(all_invoices),
       "Every tenant's invoices (status, after, limit); format=csv|ndjson exports them all",
       {"platform_admin", "operator", "analyst"}},
      {"POST", "/v1/billing/webhooks/payments", bind(payment_webhook),
       "The payment provider's signed result webhook: the caller is proven by its Tenantry-Signature",
       {"payment_provider"}},
  };
  struct Scoped {
    const char* method;
    const char* suffix;
    Handler handler;
    const char* summary;
    const std::vector<std::string>* roles;
  };
  const Scoped scoped[] = {
      {"GET", "/subscription", get_subscription, "The tenant's subscription", &readers},
      {"POST", "/subscription", start_subscription,
       "Start a subscription (plan or customPlan, trial, proration, anchorDay, paymentMethod, taxRateBp)", &admins},
      {"PATCH", "/subscription", change_subscription, "Change plan (atOnce: a downgrade now, with a credit)", &admins},
      {"DELETE", "/subscription", cancel_subscription, "Cancel (atOnce=true now; else at the period's end)", &admins},
      {"POST", "/subscription/resume", resume_subscription, "Undo a cancellation at the period's end", &admins},
      {"PUT", "/payment-method", set_payment_method, "Set the payment method token", &admins},
      {"GET", "/invoices", list_invoices, "The tenant's invoices (after, limit)", &readers},
      {"GET", "/invoices/preview", preview_invoice,
       "The current period's invoice so far; ?plan= prices a change before making it", &readers},
      {"GET", "/invoices/{invoice}", get_invoice, "An invoice (JSON; HTML with ?format=html or Accept: text/html)",
       &readers},
      {"POST", "/invoices/{invoice}/void", void_invoice, "Void an unpaid invoice (its entries reversed)", &platform},
      {"POST", "/credits", grant_credit, "Grant credit (amountMinor, currency, reason)", &platform},
      {"POST", "/invoices/{invoice}/credit-notes", credit_note,
       "Issue a credit note (amountMinor with tax, reason): off what is owed, or to the credit balance once paid",
       &platform},
      {"POST", "/refunds", refund, "Pay credit balance back out (amountMinor, currency, reason)", &platform},
      {"GET", "/ledger", ledger, "The ledger's balances per currency and account", &finance},
      {"POST", "/test-clock", attach_clock, "Attach a test clock (before the first subscription)", &admins},
      {"POST", "/test-clock/advance", advance_clock, "Advance the test clock and run everything that fell due",
       &admins},
  };
  for (const auto& route : scoped) {
    for (const char* prefix : {"/v1/tenants/{id}", "/v1/tenant", "/t/{slug}/v1/tenant"}) {
      routes.push_back({route.method, std::string(prefix) + route.suffix, bind(route.handler), route.summary,
                        *route.roles});
    }
  }
  return routes;
}

}  // namespace tenantry::gateway
