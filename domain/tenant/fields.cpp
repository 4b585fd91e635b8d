#include "domain/tenant/fields.h"

#include <algorithm>

#include "domain/tenant/slug.h"

namespace tenantry::domain::tenant {
namespace {

bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }
bool is_blank(std::string_view text) {
  return std::ranges::all_of(text, [](char c) { return c == ' ' || c == '\t'; });
}

// Printable text of bounded size: the shape of every human-written field.
std::optional<std::string> check_human_text(std::string_view text, std::size_t max_bytes) {
  if (is_blank(text)) return "is required";
  if (text.size() > max_bytes) return "must be at most " + std::to_string(max_bytes) + " bytes";
  if (std::ranges::any_of(text, is_control)) return "must not contain control characters";
  return std::nullopt;
}

// An identifier: a lowercase letter, then lowercase letters, digits and `extra`.
bool is_identifier(std::string_view text, std::size_t max_chars, std::string_view extra) {
  return !text.empty() && text.size() <= max_chars && is_lower(text[0]) &&
         std::ranges::all_of(text, [extra](char c) {
           return is_lower(c) || is_digit(c) || extra.find(c) != std::string_view::npos;
         });
}

bool is_email_local_char(char c) {
  constexpr std::string_view specials = "!#$%&'*+/=?^_`{|}~-.";
  return is_lower(c) || (c >= 'A' && c <= 'Z') || is_digit(c) ||
         specials.find(c) != std::string_view::npos;
}

// Mailbox shape only (dot-atom local part, a real domain name); whether it receives
// mail is for the notification service to find out.
std::optional<std::string> check_email(std::string_view email) {
  if (email.empty()) return "is required";
  if (email.size() > kEmailMaxBytes) return "must be at most 254 bytes";
  const std::size_t at = email.find('@');
  if (at == std::string_view::npos || email.find('@', at + 1) != std::string_view::npos) {
    return "must be an email address such as ops@example.com";
  }
  const std::string_view local = email.substr(0, at);
  if (local.empty() || local.size() > kEmailLocalMaxBytes ||
      !std::ranges::all_of(local, is_email_local_char) || local.front() == '.' ||
      local.back() == '.' || local.find("..") != std::string_view::npos) {
    return "must be an email address such as ops@example.com";
  }
  // Mail domains are case-insensitive and people type them capitalised; the check
  // is on the lowercase form, the address is kept as given.
  std::string domain(email.substr(at + 1));
  std::ranges::transform(domain, domain.begin(),
                         [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; });
  if (auto checked = check_domain_name(domain); !checked) {
    return "domain " + checked.error().message;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> check_display_name(std::string_view name) {
  return check_human_text(name, kDisplayNameMaxBytes);
}

std::optional<std::string> check_plan(std::string_view plan) {
  if (plan.empty()) return "is required";
  if (!is_identifier(plan, kPlanMaxChars, "_-")) {
    return "must be a lowercase letter then up to 39 of a-z, 0-9, _ and -";
  }
  return std::nullopt;
}

std::optional<std::string> check_region(std::string_view region) {
  if (region.empty()) return "is required";
  if (!is_identifier(region, kRegionMaxChars, "-") || region.back() == '-') {
    return "must be a region such as eu-west-1 (a-z, 0-9 and -, at most 32)";
  }
  return std::nullopt;
}

std::optional<std::string> check_isolation_tier(v1::IsolationTier tier) {
  switch (tier) {
    case v1::ISOLATION_TIER_SHARED:
    case v1::ISOLATION_TIER_SCHEMA:
    case v1::ISOLATION_TIER_DEDICATED: return std::nullopt;
    default: return "must be shared, schema or dedicated";
  }
}

std::vector<FieldError> check_admin_contact(const v1::AdminContact& contact,
                                            std::string_view prefix) {
  std::vector<FieldError> errors;
  if (auto problem = check_human_text(contact.name(), kContactNameMaxBytes)) {
    errors.push_back({std::string(prefix) + ".name", std::move(*problem)});
  }
  if (auto problem = check_email(contact.email())) {
    errors.push_back({std::string(prefix) + ".email", std::move(*problem)});
  }
  return errors;
}

std::optional<std::string> check_suspension_reason(std::string_view reason) {
  if (is_blank(reason)) return "is required";
  if (reason.size() > kSuspensionReasonMaxBytes) return "must be at most 500 bytes";
  return std::nullopt;
}

}  // namespace tenantry::domain::tenant
