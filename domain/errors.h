// Errors every aggregate returns as values: a machine-readable type, a sentence for
// people, and the fields at fault. They map one to one onto CommandReply's
// error_type, message and field_errors.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tenantry::domain {

struct FieldError {
  // Dotted path into the command, e.g. "admin_contact.email", "settings.theme.mode".
  std::string field;
  std::string message;

  bool operator==(const FieldError&) const = default;
};

struct DomainError {
  // One of the names in error_type below.
  std::string type;
  std::string message;
  std::vector<FieldError> fields;
};

// The error types, spelled once. Clients switch on these strings, so they never change.
namespace error_type {
// A field of the command is malformed or out of range; `fields` says which.
inline constexpr std::string_view validation_error = "validation_error";
// The aggregate (or a thing inside it the command names) does not exist.
inline constexpr std::string_view not_found = "not_found";
// The aggregate (or a thing inside it) exists already.
inline constexpr std::string_view already_exists = "already_exists";
// The command is not allowed in the aggregate's current status.
inline constexpr std::string_view invalid_transition = "invalid_transition";
// A stated bound (count of items) would be exceeded.
inline constexpr std::string_view limit_exceeded = "limit_exceeded";
// The caller did not supply what the decider needs (an id, a token): a bug upstream.
inline constexpr std::string_view invalid_context = "invalid_context";
}  // namespace error_type

inline DomainError make_error(std::string_view type, std::string message,
                              std::vector<FieldError> fields = {}) {
  return DomainError{std::string(type), std::move(message), std::move(fields)};
}

// A validation error naming every field at fault, so a client fixes all at once.
inline DomainError validation_failed(std::vector<FieldError> fields) {
  return make_error(error_type::validation_error, "the command has invalid fields",
                    std::move(fields));
}

}  // namespace tenantry::domain
