// Commands and events in wire form: a fully qualified type name
// ("tenantry.v1.TenantRegistered") and the payload bytes of that message, as envelopes
// carry them. Each aggregate has a wrapper message whose oneof lists its commands (or
// events); these map a type name to the wrapper's member by reflection, so a new
// command or event in the schema needs no change here.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <google/protobuf/message.h>

namespace tenantry::domain {

enum class WireRead { ok, unknown_type, unreadable };

// Parses `payload` into the member of `wrapper` whose type is `type`.
WireRead member_from_wire(google::protobuf::Message& wrapper, std::string_view type, std::string_view payload);
// Whether `type` names a member of messages of `wrapper`.
bool names_member(const google::protobuf::Descriptor* wrapper, std::string_view type);

struct WireEvent {
  std::string type;
  std::string payload;
};
// The set member's type name and bytes; nullopt for an empty wrapper.
std::optional<WireEvent> member_to_wire(const google::protobuf::Message& wrapper);

}  // namespace tenantry::domain
