#include "domain/tenant/settings.h"

#include <algorithm>
#include <array>

#include "domain/tenant/slug.h"
#include "domain/usage/quotas.h"

namespace tenantry::domain::tenant {
namespace {

constexpr std::array<std::string_view, 3> kThemeModes = {"light", "dark", "system"};
constexpr std::array<std::string_view, 3> kDigestFrequencies = {"off", "daily", "weekly"};
constexpr std::array<std::string_view, 2> kRateLimitModes = {"hard", "soft"};
constexpr std::array<std::string_view, 3> kDateFormats = {"iso", "day_month_year",
                                                          "month_day_year"};

// The table itself, in key order. A new setting is a new row; a default may change
// (readers see the new default for tenants that never set it).
constexpr std::array<SettingSpec, 28> kSpecs = {{
    {"branding.accent_colour", SettingKind::colour, "#8250df"},
    {"branding.company_name", SettingKind::text, std::nullopt, {}, 100},
    {"branding.logo_url", SettingKind::https_url, std::nullopt},
    {"branding.primary_colour", SettingKind::colour, "#1f6feb"},
    {"general.currency", SettingKind::currency, "USD"},
    {"general.date_format", SettingKind::choice, "iso", kDateFormats},
    {"general.language", SettingKind::locale, "en"},
    {"general.locale", SettingKind::locale, "en-US"},
    {"general.timezone", SettingKind::timezone, "UTC"},
    {"notifications.digest", SettingKind::choice, "daily", kDigestFrequencies},
    {"notifications.email_enabled", SettingKind::boolean, "true"},
    {"notifications.security_alerts", SettingKind::boolean, "true"},
    {"notifications.webhook_url", SettingKind::https_url, std::nullopt},
    // Unset quota.* settings: the plan's value (domain/usage/quotas.h).
    {"quota.alert_thresholds", SettingKind::percents, "80,100"},
    {"quota.api_calls_per_day", SettingKind::count, std::nullopt},
    {"quota.api_calls_per_month", SettingKind::count, std::nullopt},
    {"quota.burst", SettingKind::count, std::nullopt},
    {"quota.concurrent_requests", SettingKind::count, std::nullopt},
    {"quota.key_requests_per_minute", SettingKind::count, std::nullopt},
    {"quota.rate_limit_mode", SettingKind::choice, "hard", kRateLimitModes},
    {"quota.requests_per_minute", SettingKind::count, std::nullopt},
    {"quota.rules", SettingKind::quota_rules, std::nullopt},
    {"quota.storage_bytes", SettingKind::count, std::nullopt},
    {"quota.worker_share_percent", SettingKind::count, std::nullopt},
    {"secret.smtp_password", SettingKind::text, std::nullopt, {}, 128},
    {"secret.webhook_signing_key", SettingKind::text, std::nullopt, {}, 128},
    {"theme.font_family", SettingKind::text, "system-ui", {}, 64},
    {"theme.mode", SettingKind::choice, "system", kThemeModes},
}};

// Common ISO 4217 codes. A fixed list rather than the full standard: billing supports
// these, and a typo such as "USS" is caught instead of stored.
constexpr std::array<std::string_view, 32> kCurrencies = {
    "AED", "AUD", "BRL", "CAD", "CHF", "CLP", "CNY", "COP", "CZK", "DKK", "EUR",
    "GBP", "HKD", "HUF", "IDR", "ILS", "INR", "JPY", "KRW", "MXN", "MYR", "NOK",
    "NZD", "PHP", "PLN", "SAR", "SEK", "SGD", "THB", "TRY", "USD", "ZAR"};

constexpr std::size_t kTimezoneMaxBytes = 64;
constexpr std::size_t kTimezoneSegmentMaxBytes = 30;
constexpr std::size_t kTimezoneSegmentsMax = 3;
constexpr std::size_t kLocaleMaxBytes = 35;

bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_letter(char c) { return is_lower(c) || is_upper(c); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

template <typename Predicate>
bool all_of(std::string_view text, Predicate predicate) {
  return std::ranges::all_of(text, predicate);
}

// Splits on `separator`; at most `max_parts` parts are returned, and more yields an
// empty result so the caller refuses the value.
std::vector<std::string_view> split(std::string_view text, char separator, std::size_t max_parts) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    if (parts.size() == max_parts) return {};
    const std::size_t at = text.find(separator, start);
    parts.push_back(text.substr(start, at == std::string_view::npos ? std::string_view::npos
                                                                      : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

// Area/Location segments, each starting with an uppercase letter, as IANA spells
// them; "Etc/GMT+5" and "EST5EDT" pass. Whether the zone exists is for the reader's
// time zone database: the schema only keeps garbage out.
std::optional<std::string> check_timezone(std::string_view value) {
  const std::string_view rule =
      "must be an IANA time zone name such as \"UTC\" or \"Europe/Paris\"";
  if (value.size() > kTimezoneMaxBytes) return std::string(rule);
  const auto segments = split(value, '/', kTimezoneSegmentsMax);
  if (segments.empty()) return std::string(rule);
  for (const std::string_view segment : segments) {
    if (segment.empty() || segment.size() > kTimezoneSegmentMaxBytes || !is_upper(segment[0]) ||
        !all_of(segment, [](char c) {
          return is_letter(c) || is_digit(c) || c == '_' || c == '-' || c == '+';
        })) {
      return std::string(rule);
    }
  }
  return std::nullopt;
}

// language[-Script][-REGION], in canonical case so equal tags compare equal.
std::optional<std::string> check_locale(std::string_view value) {
  const std::string_view rule =
      "must be a language tag such as \"en\", \"en-GB\", \"zh-Hant-TW\" or \"es-419\"";
  if (value.size() > kLocaleMaxBytes) return std::string(rule);
  const auto subtags = split(value, '-', 3);
  if (subtags.empty()) return std::string(rule);
  const std::string_view language = subtags[0];
  if (language.size() < 2 || language.size() > 3 || !all_of(language, is_lower)) {
    return std::string(rule);
  }
  std::size_t next = 1;
  if (next < subtags.size() && subtags[next].size() == 4) {
    const std::string_view script = subtags[next];
    if (!is_upper(script[0]) || !all_of(script.substr(1), is_lower)) return std::string(rule);
    ++next;
  }
  if (next < subtags.size()) {
    const std::string_view region = subtags[next];
    const bool alpha_region = region.size() == 2 && all_of(region, is_upper);
    const bool numeric_region = region.size() == 3 && all_of(region, is_digit);
    if (!alpha_region && !numeric_region) return std::string(rule);
    ++next;
  }
  if (next != subtags.size()) return std::string(rule);
  return std::nullopt;
}

std::optional<std::string> check_currency(std::string_view value) {
  if (std::ranges::find(kCurrencies, value) == kCurrencies.end()) {
    return "must be a supported ISO 4217 currency code such as \"USD\" or \"EUR\"";
  }
  return std::nullopt;
}

std::optional<std::string> check_colour(std::string_view value) {
  if (value.size() != 7 || value[0] != '#' || !all_of(value.substr(1), is_hex)) {
    return "must be a colour as #rrggbb, e.g. \"#1f6feb\"";
  }
  return std::nullopt;
}

bool is_port(std::string_view text) {
  if (text.empty() || text.size() > 5 || !all_of(text, is_digit)) return false;
  unsigned port = 0;
  for (const char c : text) port = port * 10 + static_cast<unsigned>(c - '0');
  return port >= 1 && port <= 65535;
}

// https only: a logo or webhook over plain http leaks or can be tampered with. The
// host must be a name; IP literals and credentials in the URL are refused.
std::optional<std::string> check_https_url(std::string_view value) {
  constexpr std::string_view scheme = "https://";
  if (value.size() > kUrlMaxBytes) return "must be at most 2048 bytes";
  if (!value.starts_with(scheme)) return "must be an https:// URL";
  if (std::ranges::any_of(value, [](char c) { return is_control(c) || c == ' '; })) {
    return "must not contain spaces or control characters";
  }
  const std::string_view rest = value.substr(scheme.size());
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty()) return "must name a host";
  if (authority.find('@') != std::string_view::npos) {
    return "must not carry credentials";
  }
  std::string_view host = authority;
  if (const std::size_t colon = authority.find(':');
      colon != std::string_view::npos && authority.front() != '[') {
    if (!is_port(authority.substr(colon + 1))) return "has an invalid port";
    host = authority.substr(0, colon);
  }
  if (auto checked = check_domain_name(host); !checked) {
    return "host " + checked.error().message;
  }
  return std::nullopt;
}

std::optional<std::string> check_boolean(std::string_view value) {
  if (value != "true" && value != "false") return "must be \"true\" or \"false\"";
  return std::nullopt;
}

std::optional<std::string> check_choice(std::string_view value,
                                        std::span<const std::string_view> choices) {
  if (std::ranges::find(choices, value) != choices.end()) return std::nullopt;
  std::string message = "must be one of:";
  for (const std::string_view choice : choices) {
    message += " ";
    message += choice;
  }
  return message;
}

std::optional<std::string> check_text(std::string_view value, std::size_t max_bytes) {
  if (value.size() > max_bytes) return "must be at most " + std::to_string(max_bytes) + " bytes";
  if (std::ranges::any_of(value, is_control)) return "must not contain control characters";
  return std::nullopt;
}

std::optional<std::string> check_value(const SettingSpec& spec, std::string_view value) {
  switch (spec.kind) {
    case SettingKind::timezone: return check_timezone(value);
    case SettingKind::locale: return check_locale(value);
    case SettingKind::currency: return check_currency(value);
    case SettingKind::colour: return check_colour(value);
    case SettingKind::https_url: return check_https_url(value);
    case SettingKind::boolean: return check_boolean(value);
    case SettingKind::choice: return check_choice(value, spec.choices);
    case SettingKind::text: return check_text(value, spec.text_max_bytes);
    case SettingKind::count:
      if (!usage::parse_count(value)) return std::string("must be a count (digits) or \"unlimited\"");
      if (spec.key == "quota.worker_share_percent" && (value == "unlimited" || value == "0" || value.size() > 3 ||
                                                       *usage::parse_count(value) > 100)) {
        return std::string("must be a percent from 1 to 100");
      }
      return std::nullopt;
    case SettingKind::percents:
      if (!usage::parse_thresholds(value)) return std::string("must be 1 to 8 ascending percents such as \"80,100\"");
      return std::nullopt;
    case SettingKind::quota_rules: {
      if (value.size() > 1024) return std::string("must be at most 1024 bytes");
      auto rules = usage::parse_rules(value);
      if (!rules) return rules.error();
      return std::nullopt;
    }
  }
  return "has an unknown kind";
}

std::optional<std::string> check_custom_field(std::string_view key, std::string_view value) {
  const std::string_view name = key.substr(kCustomFieldPrefix.size());
  if (name.empty() || name.size() > kCustomFieldNameMaxChars ||
      !all_of(name, [](char c) { return is_lower(c) || is_digit(c) || c == '_'; })) {
    return "custom field names are 1-40 characters of a-z, 0-9 and _";
  }
  return check_text(value, kCustomFieldValueMaxBytes);
}

std::optional<std::string> check_setting(std::string_view key, std::string_view value) {
  if (value.empty()) return "must not be empty (unset the setting to clear it)";
  if (is_custom_field_key(key)) return check_custom_field(key, value);
  const SettingSpec* spec = find_setting_spec(key);
  if (spec == nullptr) return "is not a known setting (custom fields go under \"custom.\")";
  return check_value(*spec, value);
}

}  // namespace

std::span<const SettingSpec> setting_specs() { return kSpecs; }

const SettingSpec* find_setting_spec(std::string_view key) {
  const auto found = std::ranges::find(kSpecs, key, &SettingSpec::key);
  return found == kSpecs.end() ? nullptr : &*found;
}

bool is_custom_field_key(std::string_view key) { return key.starts_with(kCustomFieldPrefix); }

bool is_secret_setting(std::string_view key) { return key.starts_with(kSecretPrefix); }

std::vector<FieldError> validate_settings(const Settings& changes) {
  if (changes.size() > kSettingsChangesMax) {
    return {{"settings", "at most " + std::to_string(kSettingsChangesMax) +
                             " settings may change in one command"}};
  }
  std::vector<FieldError> errors;
  for (const auto& [key, value] : changes) {
    if (auto problem = check_setting(key, value)) {
      errors.push_back({"settings." + key, std::move(*problem)});
    }
  }
  return errors;
}

std::vector<FieldError> check_settings_bounds(const Settings& stored) {
  const auto custom_fields = std::ranges::count_if(
      stored, [](const auto& entry) { return is_custom_field_key(entry.first); });
  if (static_cast<std::size_t>(custom_fields) > kCustomFieldsMax) {
    return {{"settings", "a tenant has at most " + std::to_string(kCustomFieldsMax) +
                             " custom fields"}};
  }
  return {};
}

Settings with_defaults(const Settings& stored) {
  Settings settings = stored;
  for (const SettingSpec& spec : kSpecs) {
    if (spec.default_value) settings.try_emplace(std::string(spec.key), *spec.default_value);
  }
  return settings;
}

Settings without_secrets(const Settings& settings) {
  Settings inheritable;
  for (const auto& [key, value] : settings) {
    if (is_secret_setting(key)) continue;
    // Unknown keys are dropped too: a key this schema does not know may be a secret
    // of a newer schema, and a clone must never carry one by accident.
    if (!is_custom_field_key(key) && find_setting_spec(key) == nullptr) continue;
    inheritable.emplace(key, value);
  }
  return inheritable;
}

}  // namespace tenantry::domain::tenant
