// Names a tenant is known by on the network: its slug (a DNS label, so it can be a
// subdomain) and the custom domains it brings.
#pragma once

#include <cstddef>
#include <expected>
#include <string>
#include <string_view>

namespace tenantry::domain::tenant {

inline constexpr std::size_t kSlugMinChars = 3;
inline constexpr std::size_t kSlugMaxChars = 63;
// RFC 1035: a label is at most 63 octets, a name at most 253 in text form.
inline constexpr std::size_t kDomainLabelMaxChars = 63;
inline constexpr std::size_t kDomainNameMaxChars = 253;

enum class SlugProblem {
  too_short,
  too_long,
  uppercase,
  invalid_character,
  leading_hyphen,
  trailing_hyphen,
  reserved,
};

struct SlugError {
  SlugProblem problem;
  std::string message;
};

// Valid: 3-63 characters of [a-z0-9-], no leading or trailing hyphen, not reserved.
// Inner double hyphens are allowed (DNS allows them; "xn--" labels need them).
std::expected<void, SlugError> check_slug(std::string_view slug);

enum class DomainNameProblem {
  empty,
  too_long,
  uppercase,
  invalid_character,
  trailing_dot,
  empty_label,
  label_too_long,
  label_hyphen_edge,
  single_label,
  ip_literal,
};

struct DomainNameError {
  DomainNameProblem problem;
  std::string message;
};

// Valid: a lowercase fully qualified name without the root dot, at least two labels
// of 1-63 characters of [a-z0-9-] with no hyphen at either end, 253 characters in
// all, and not an IP address (an all-digit last label is never a real TLD).
std::expected<void, DomainNameError> check_domain_name(std::string_view name);

}  // namespace tenantry::domain::tenant
