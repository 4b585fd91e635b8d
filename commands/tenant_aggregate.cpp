#include "commands/tenant_aggregate.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "domain/billing/account.h"
#include "domain/billing/wire.h"
#include "domain/tenant/names.h"
#include "domain/tenant/wire.h"
#include "tenantry/v1/state.pb.h"

namespace tenantry::commands {

namespace {
using domain::tenant::TenantState;
using domain::tenant::WireRead;

// A lifecycle or billing event as the deciders returned it.
struct DecidedTenantEvent final : DecidedEvent {
  explicit DecidedTenantEvent(domain::billing::AccountEvent decided) : event(std::move(decided)) {}
  domain::billing::AccountEvent event;
};

// The deciders' own states, kept decoded between commands. Billing's part is held
// only by a tenant that has one: the empty message alone is ~400 bytes, more than half
// of an idle tenant's whole entry in the processor's cache.
class LoadedTenant final : public LoadedState {
 public:
  LoadedTenant(TenantState state, v1::BillingStateSnapshot billing) : state_(std::move(state)) {
    if (billing.ByteSizeLong() > 0) billing_ = std::make_unique<v1::BillingStateSnapshot>(std::move(billing));
  }
  LoadedTenant(const LoadedTenant& other)
      : state_(other.state_),
        billing_(other.billing_ ? std::make_unique<v1::BillingStateSnapshot>(*other.billing_) : nullptr) {}
  uint64_t version() const override { return state_.version; }
  void evolve(const v1::EventEnvelope& envelope) override {
    with_billing([&](v1::BillingStateSnapshot& billing) { TenantAggregate::evolve_parts(state_, billing, envelope); });
  }
  void evolve_decided(const v1::EventEnvelope& envelope, const DecidedEvent& decided) override {
    // Only this aggregate's decide_loaded makes the objects handed back to its states.
    with_billing([&](v1::BillingStateSnapshot& billing) {
      TenantAggregate::evolve_parts(state_, billing, static_cast<const DecidedTenantEvent&>(decided).event);
    });
  }
  std::string encode() const override { return TenantAggregate::encode_state(state_, billing()); }
  std::unique_ptr<LoadedState> clone() const override { return std::make_unique<LoadedTenant>(*this); }
  size_t memory_bytes() const override {
    // Strings beyond the small-string buffer and map nodes live on the heap.
    auto heap = [](const std::string& text) { return text.capacity() > 15 ? text.capacity() + 1 : 0; };
    size_t bytes = sizeof(*this);
    for (const std::string* text : {&state_.tenant_id, &state_.slug, &state_.display_name, &state_.plan,
                                    &state_.region, &state_.admin_contact.name, &state_.admin_contact.email,
                                    &state_.suspension_reason, &state_.cloned_from.tenant_id,
                                    &state_.cloned_from.template_name}) {
      bytes += heap(*text);
    }
    for (const auto& [key, value] : state_.settings) bytes += 64 + 2 * sizeof(std::string) + heap(key) + heap(value);
    for (const auto& [name, domain] : state_.custom_domains) {
      bytes += 64 + sizeof(std::string) + sizeof(domain) + heap(name) + heap(domain.verification_token);
    }
    // Decoded messages take roughly twice their encoded size (reflection's exact count
    // costs more than the rest of a command).
    if (billing_) bytes += sizeof(v1::BillingStateSnapshot) + 2 * billing_->ByteSizeLong();
    return bytes;
  }
  const TenantState& state() const { return state_; }
  const v1::BillingStateSnapshot& billing() const {
    return billing_ ? *billing_ : v1::BillingStateSnapshot::default_instance();
  }

 private:
  // Applies `apply` to the billing part, made only if it leaves something in it.
  template <typename Apply>
  void with_billing(Apply&& apply) {
    if (billing_) {
      apply(*billing_);
      return;
    }
    v1::BillingStateSnapshot fresh;
    apply(fresh);
    if (fresh.ByteSizeLong() > 0) billing_ = std::make_unique<v1::BillingStateSnapshot>(std::move(fresh));
  }

  TenantState state_;
  std::unique_ptr<v1::BillingStateSnapshot> billing_;  // null: no billing state
};

Outcome decide_on(const v1::CommandEnvelope& envelope, const TenantState& state,
                  const v1::BillingStateSnapshot& billing, const DecideContext& context);
}  // namespace

bool TenantAggregate::handles(std::string_view command_type) const {
  return domain::tenant::is_tenant_command(command_type) || domain::billing::is_billing_command(command_type);
}

void TenantAggregate::evolve_parts(TenantState& state, v1::BillingStateSnapshot& billing,
                                   const v1::EventEnvelope& envelope) {
  // The lifecycle decider counts every event into the version (it is the stream's);
  // billing's events change only billing.
  v1::TenantEvent event;
  domain::tenant::event_from_wire(envelope.event_type(), envelope.payload(), event);
  state = domain::tenant::evolve(std::move(state), event);
  if (event.event_case() == v1::TenantEvent::EVENT_NOT_SET) {
    v1::BillingEvent billing_event;
    if (domain::billing::billing_event_from_wire(envelope.event_type(), envelope.payload(), billing_event) ==
        domain::WireRead::ok) {
      domain::billing::evolve(billing, billing_event);
    }
  }
}

void TenantAggregate::evolve_parts(TenantState& state, v1::BillingStateSnapshot& billing,
                                   const domain::billing::AccountEvent& event) {
  // As the envelope's overload: a billing event is no lifecycle event, but counts.
  if (const auto* tenant_event = std::get_if<v1::TenantEvent>(&event)) {
    state = domain::tenant::evolve(std::move(state), *tenant_event);
    return;
  }
  static const v1::TenantEvent kNone;
  state = domain::tenant::evolve(std::move(state), kNone);
  domain::billing::evolve(billing, std::get<v1::BillingEvent>(event));
}

v1::BillingStateSnapshot TenantAggregate::decode_billing(std::string_view bytes) {
  v1::TenantStateSnapshot s;
  if (bytes.empty() || !s.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return {};
  return std::move(*s.mutable_billing());
}

domain::tenant::TenantState TenantAggregate::decode_state(std::string_view bytes) {
  TenantState state = domain::tenant::initial_state();
  if (bytes.empty()) return state;
  v1::TenantStateSnapshot s;
  if (!s.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return state;
  state.exists = s.exists();
  state.tenant_id = s.tenant_id();
  state.slug = s.slug();
  state.display_name = s.display_name();
  state.plan = s.plan();
  state.isolation_tier = s.isolation_tier();
  state.region = s.region();
  state.admin_contact = {s.admin_contact().name(), s.admin_contact().email()};
  state.status = s.status();
  state.suspension_reason = s.suspension_reason();
  state.deletion_due_at_us = s.deletion_due_at_us();
  state.settings = domain::tenant::Settings(s.settings().begin(), s.settings().end());
  for (const auto& [name, domain] : s.custom_domains()) {
    state.custom_domains[name] = {domain.verification_token(), domain.verified()};
  }
  state.version = s.version();
  state.created_at_us = s.created_at_us();
  if (s.cloned_from().has_tenant_id()) state.cloned_from.tenant_id = s.cloned_from().tenant_id();
  if (s.cloned_from().has_template_name()) state.cloned_from.template_name = s.cloned_from().template_name();
  return state;
}

std::string TenantAggregate::encode_state(const TenantState& state, const v1::BillingStateSnapshot& billing) {
  v1::TenantStateSnapshot s;
  s.set_exists(state.exists);
  s.set_tenant_id(state.tenant_id);
  s.set_slug(state.slug);
  s.set_display_name(state.display_name);
  s.set_plan(state.plan);
  s.set_isolation_tier(state.isolation_tier);
  s.set_region(state.region);
  s.mutable_admin_contact()->set_name(state.admin_contact.name);
  s.mutable_admin_contact()->set_email(state.admin_contact.email);
  s.set_status(state.status);
  s.set_suspension_reason(state.suspension_reason);
  s.set_deletion_due_at_us(state.deletion_due_at_us);
  for (const auto& [key, value] : state.settings) (*s.mutable_settings())[key] = value;
  for (const auto& [name, domain] : state.custom_domains) {
    auto& out = (*s.mutable_custom_domains())[name];
    out.set_verification_token(domain.verification_token);
    out.set_verified(domain.verified);
  }
  s.set_version(state.version);
  s.set_created_at_us(state.created_at_us);
  if (!state.cloned_from.tenant_id.empty()) s.mutable_cloned_from()->set_tenant_id(state.cloned_from.tenant_id);
  if (!state.cloned_from.template_name.empty()) {
    s.mutable_cloned_from()->set_template_name(state.cloned_from.template_name);
  }
  std::string out;
  s.SerializeToString(&out);
  // The billing part appended as field 17 (exactly what setting it would serialize),
  // without copying it into the snapshot first.
  if (const size_t size = billing.ByteSizeLong(); size > 0) {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.WriteTag((v1::TenantStateSnapshot::kBillingFieldNumber << 3) | 2);  // length-delimited
    coded.WriteVarint32(static_cast<uint32_t>(size));
    billing.SerializeWithCachedSizes(&coded);
  }
  return out;
}

namespace {
Rejection rejection_of(const domain::DomainError& error) {
  Rejection rejection{error.type, error.message, {}};
  for (const auto& f : error.fields) {
    v1::FieldError field;
    field.set_field(f.field);
    field.set_message(f.message);
    rejection.fields.push_back(std::move(field));
  }
  return rejection;
}

Rejection unreadable(const v1::CommandEnvelope& envelope) {
  v1::FieldError field;
  field.set_field("payload");
  field.set_message("not a " + envelope.command_type());
  return Rejection{"validation_error", "the command payload cannot be read", {field}};
}

Outcome decide_billing(const v1::CommandEnvelope& envelope, const TenantState& state,
                       const v1::BillingStateSnapshot& billing, const DecideContext& context) {
  v1::BillingCommand command;
  if (domain::billing::billing_command_from_wire(envelope.command_type(), envelope.payload(), command) !=
      WireRead::ok) {
    return std::unexpected(unreadable(envelope));
  }
  const domain::billing::TenantView tenant{state.exists, state.status, state.plan, state.slug};
  auto decided =
      domain::billing::decide(command, billing, tenant, domain::billing::Context{context.now_us, envelope.tenant_id()});
  if (!decided) return std::unexpected(rejection_of(decided.error()));
  std::vector<EventOut> events;
  events.reserve(decided->size());
  for (auto& event : *decided) {
    auto wire = std::holds_alternative<v1::BillingEvent>(event)
                    ? domain::billing::billing_event_to_wire(std::get<v1::BillingEvent>(event))
                    : domain::tenant::event_to_wire(std::get<v1::TenantEvent>(event));
    if (wire) {
      events.push_back(EventOut{std::move(wire->type), std::move(wire->payload),
                                std::make_unique<DecidedTenantEvent>(std::move(event))});
    }
  }
  return events;
}

Outcome decide_on(const v1::CommandEnvelope& envelope, const TenantState& state,
                  const v1::BillingStateSnapshot& billing, const DecideContext& context) {
  if (domain::billing::is_billing_command(envelope.command_type())) {
    return decide_billing(envelope, state, billing, context);
  }
  v1::TenantCommand command;
  switch (domain::tenant::command_from_wire(envelope.command_type(), envelope.payload(), command)) {
    case WireRead::ok: break;
    case WireRead::unknown_type:
      return std::unexpected(Rejection{"unknown_command", "unknown command type " + envelope.command_type(), {}});
    case WireRead::unreadable: return std::unexpected(unreadable(envelope));
  }
  domain::tenant::Context ctx{context.now_us, envelope.tenant_id(), context.verification_token};
  auto decided = domain::tenant::decide(command, state, ctx);
  if (!decided) return std::unexpected(rejection_of(decided.error()));
  std::vector<EventOut> events;
  events.reserve(decided->size());
  for (auto& event : *decided) {
    // The decider never returns an empty event; an empty one would carry nothing.
    if (auto wire = domain::tenant::event_to_wire(event)) {
      events.push_back(EventOut{std::move(wire->type), std::move(wire->payload),
                                std::make_unique<DecidedTenantEvent>(std::move(event))});
    }
  }
  return events;
}
}  // namespace

Outcome TenantAggregate::decide(const v1::CommandEnvelope& envelope, std::string_view state_bytes,
                                const DecideContext& context) const {
  return decide_on(envelope, decode_state(state_bytes), decode_billing(state_bytes), context);
}

std::unique_ptr<LoadedState> TenantAggregate::load(std::string_view state) const {
  return std::make_unique<LoadedTenant>(decode_state(state), decode_billing(state));
}

Outcome TenantAggregate::decide_loaded(const v1::CommandEnvelope& envelope, const LoadedState& state,
                                       const DecideContext& context) const {
  // Only this aggregate's load() makes the states the processor hands back to it.
  const auto& loaded = static_cast<const LoadedTenant&>(state);
  return decide_on(envelope, loaded.state(), loaded.billing(), context);
}

std::vector<NameUse> TenantAggregate::names_claimed(const v1::CommandEnvelope& envelope) const {
  const std::string& type = envelope.command_type();
  if (type != v1::RegisterTenant::descriptor()->full_name() && type != v1::CloneTenant::descriptor()->full_name() &&
      type != v1::AddCustomDomain::descriptor()->full_name()) {
    return {};
  }
  v1::TenantCommand command;
  if (domain::tenant::command_from_wire(type, envelope.payload(), command) != WireRead::ok) return {};
  std::vector<NameUse> names;
  for (auto& use : domain::tenant::names_claimed_by(command)) names.push_back({use.kind, std::move(use.name), use.field});
  return names;
}

std::vector<NameUse> TenantAggregate::names_released(const LoadedState& before, const v1::EventEnvelope& envelope) const {
  const std::string& type = envelope.event_type();
  if (type != v1::CustomDomainRemoved::descriptor()->full_name() && type != v1::TenantDeleted::descriptor()->full_name()) {
    return {};
  }
  v1::TenantEvent event;
  if (domain::tenant::event_from_wire(type, envelope.payload(), event) != WireRead::ok) return {};
  std::vector<NameUse> names;
  for (auto& use : domain::tenant::names_released_by(static_cast<const LoadedTenant&>(before).state(), event)) {
    names.push_back({use.kind, std::move(use.name), use.field});
  }
  return names;
}

std::string TenantAggregate::evolve(std::string_view state_bytes, const v1::EventEnvelope& envelope) const {
  TenantState state = decode_state(state_bytes);
  v1::BillingStateSnapshot billing = decode_billing(state_bytes);
  evolve_parts(state, billing, envelope);
  return encode_state(state, billing);
}

uint64_t TenantAggregate::version(std::string_view state_bytes) const {
  if (state_bytes.empty()) return 0;
  v1::TenantStateSnapshot s;
  if (!s.ParseFromArray(state_bytes.data(), static_cast<int>(state_bytes.size()))) return 0;
  return s.version();
}

}  // namespace tenantry::commands
