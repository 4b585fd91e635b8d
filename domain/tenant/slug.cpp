#include "domain/tenant/slug.h"

#include <algorithm>
#include <array>

namespace tenantry::domain::tenant {
namespace {

// Slugs become subdomains of the platform's own domain; these name the platform's
// own hosts and must never be a tenant's. Bounded: a short, fixed list.
constexpr std::array<std::string_view, 10> kReservedSlugs = {
    "www", "api", "app", "admin", "auth", "mail", "status", "support", "docs", "tenantry"};

bool is_lower_letter(char c) { return c >= 'a' && c <= 'z'; }
bool is_upper_letter(char c) { return c >= 'A' && c <= 'Z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_label_char(char c) { return is_lower_letter(c) || is_digit(c) || c == '-'; }

bool has_upper(std::string_view text) { return std::ranges::any_of(text, is_upper_letter); }

std::unexpected<SlugError> slug_error(SlugProblem problem, std::string message) {
  return std::unexpected(SlugError{problem, std::move(message)});
}

std::unexpected<DomainNameError> name_error(DomainNameProblem problem, std::string message) {
  return std::unexpected(DomainNameError{problem, std::move(message)});
}

std::expected<void, DomainNameError> check_label(std::string_view label) {
  if (label.empty()) {
    return name_error(DomainNameProblem::empty_label, "has an empty label (two dots in a row)");
  }
  if (label.size() > kDomainLabelMaxChars) {
    return name_error(DomainNameProblem::label_too_long,
                      "has a label longer than 63 characters: " + std::string(label));
  }
  if (!std::ranges::all_of(label, is_label_char)) {
    return name_error(DomainNameProblem::invalid_character,
                      "may contain only lowercase letters, digits, hyphens and dots");
  }
  if (label.front() == '-' || label.back() == '-') {
    return name_error(DomainNameProblem::label_hyphen_edge,
                      "has a label that starts or ends with a hyphen: " + std::string(label));
  }
  return {};
}

}  // namespace

std::expected<void, SlugError> check_slug(std::string_view slug) {
  if (slug.size() < kSlugMinChars) {
    return slug_error(SlugProblem::too_short, "must be at least 3 characters");
  }
  if (slug.size() > kSlugMaxChars) {
    return slug_error(SlugProblem::too_long, "must be at most 63 characters");
  }
  // Uppercase gets its own message: it is the commonest mistake and the fix is obvious.
  if (has_upper(slug)) {
    return slug_error(SlugProblem::uppercase, "must be lowercase");
  }
  if (!std::ranges::all_of(slug, is_label_char)) {
    return slug_error(SlugProblem::invalid_character,
                      "may contain only lowercase letters, digits and hyphens");
  }
  if (slug.front() == '-') {
    return slug_error(SlugProblem::leading_hyphen, "must not start with a hyphen");
  }
  if (slug.back() == '-') {
    return slug_error(SlugProblem::trailing_hyphen, "must not end with a hyphen");
  }
  if (std::ranges::find(kReservedSlugs, slug) != kReservedSlugs.end()) {
    return slug_error(SlugProblem::reserved, "is reserved for the platform");
  }
  return {};
}

std::expected<void, DomainNameError> check_domain_name(std::string_view name) {
  if (name.empty()) {
    return name_error(DomainNameProblem::empty, "is required");
  }
  if (name.size() > kDomainNameMaxChars) {
    return name_error(DomainNameProblem::too_long, "must be at most 253 characters");
  }
  if (has_upper(name)) {
    return name_error(DomainNameProblem::uppercase, "must be lowercase");
  }
  if (name.front() == '[' || name.find(':') != std::string_view::npos) {
    return name_error(DomainNameProblem::ip_literal, "must be a name, not an IP address");
  }
  if (name.back() == '.') {
    return name_error(DomainNameProblem::trailing_dot, "must be given without the trailing dot");
  }
  std::size_t labels = 0;
  std::string_view last_label;
  for (std::size_t start = 0;;) {
    const std::size_t dot = name.find('.', start);
    const std::string_view label =
        name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (auto checked = check_label(label); !checked) return checked;
    ++labels;
    last_label = label;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (std::ranges::all_of(last_label, is_digit)) {
    return name_error(DomainNameProblem::ip_literal, "must be a name, not an IP address");
  }
  if (labels < 2) {
    return name_error(DomainNameProblem::single_label,
                      "must be fully qualified (at least two labels, e.g. app.example.com)");
  }
  return {};
}

}  // namespace tenantry::domain::tenant
