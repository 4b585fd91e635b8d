// How the command processor talks to a decider in domain/: commands and events in
// wire form (type name + payload bytes), state as cached bytes. One adapter per
// aggregate; the processor knows nothing of any aggregate's types.
#pragma once

#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tenantry/v1/command.pb.h"
#include "tenantry/v1/envelope.pb.h"
#include "tenantry/v1/names.pb.h"

namespace tenantry::commands {

// An event as the aggregate decided it, before its wire form. The processor hands it
// back to the state it was decided on (LoadedState::evolve_decided), which then
// evolves without parsing the payload it was just serialised to.
class DecidedEvent {
 public:
  virtual ~DecidedEvent() = default;
};

struct EventOut {
  std::string event_type;  // fully qualified, e.g. "tenantry.v1.TenantRegistered"
  std::string payload;
  std::unique_ptr<DecidedEvent> decided;  // optional: null evolves from the payload
};

struct Rejection {
  std::string error_type;  // domain/errors.h names, or the processor's own
  std::string message;
  std::vector<v1::FieldError> fields;
};

struct DecideContext {
  int64_t now_us = 0;
  std::string verification_token;  // fresh random text, for commands that need one
};

using Outcome = std::expected<std::vector<EventOut>, Rejection>;

// A tenant's state in the aggregate's own decoded form, so the processor can keep it
// between commands (in a bounded cache) instead of parsing and serialising the state
// bytes for every command. encode() is exactly what the bytes path would hold.
class LoadedState {
 public:
  virtual ~LoadedState() = default;
  virtual uint64_t version() const = 0;
  virtual void evolve(const v1::EventEnvelope& event) = 0;
  // The same as evolve(event), given the object decide_loaded made the event from:
  // the resulting state equals what evolve(event) gives (encode() may order protobuf
  // map entries differently, as it may after any parse). The default ignores the
  // object.
  virtual void evolve_decided(const v1::EventEnvelope& event, const DecidedEvent& decided) { evolve(event); }
  virtual std::string encode() const = 0;
  virtual std::unique_ptr<LoadedState> clone() const = 0;
  // Heap and object bytes held, roughly: what a cache of these counts against its budget.
  virtual size_t memory_bytes() const = 0;
};

// A platform-wide name (slug, custom domain) a command takes or an event gives back.
struct NameUse {
  v1::NameKind kind = v1::NAME_KIND_UNSPECIFIED;
  std::string name;
  std::string field;  // the command field naming it, for a refusal
};

class Aggregate {
 public:
  virtual ~Aggregate() = default;
  virtual bool handles(std::string_view command_type) const = 0;
  // `state` is what evolve() last returned for this tenant (empty: no events yet).
  virtual Outcome decide(const v1::CommandEnvelope& command, std::string_view state,
                         const DecideContext& context) const = 0;
  // The state after one accepted event. Events of other aggregates or of unknown
  // types still advance the version (they hold a sequence number).
  virtual std::string evolve(std::string_view state, const v1::EventEnvelope& event) const = 0;
  // The tenant's version (last applied sequence) in `state`.
  virtual uint64_t version(std::string_view state) const = 0;

  // The decoded path, equivalent to the three above. The defaults keep the bytes and
  // call them; an aggregate overrides both to skip the parse and the serialisation.
  virtual std::unique_ptr<LoadedState> load(std::string_view state) const;
  virtual Outcome decide_loaded(const v1::CommandEnvelope& command, const LoadedState& state,
                                const DecideContext& context) const;

  // Names unique across the platform: those the command takes if accepted (the
  // processor claims them before deciding), and those an event gives back given the
  // state before it (released once the event is durable). None by default.
  virtual std::vector<NameUse> names_claimed(const v1::CommandEnvelope& command) const { return {}; }
  virtual std::vector<NameUse> names_released(const LoadedState& before, const v1::EventEnvelope& event) const {
    return {};
  }
};

}  // namespace tenantry::commands
