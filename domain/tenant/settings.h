// The tenant settings schema. Settings are stored as a map of strings (only what was
// set); every value is checked against this table when written and the defaults are
// filled in when read, so adding a setting is one row here and needs no migration.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "domain/errors.h"

namespace tenantry::domain::tenant {

using Settings = std::map<std::string, std::string>;

enum class SettingKind {
  // IANA time zone name: "UTC", "Europe/Paris", "America/Argentina/Buenos_Aires".
  timezone,
  // BCP 47 language tag in canonical case: "en", "en-GB", "zh-Hant-TW", "es-419".
  locale,
  // ISO 4217 code from kCurrencies.
  currency,
  // "#rrggbb".
  colour,
  // An https URL whose host is a domain name (see check_domain_name).
  https_url,
  // "true" or "false".
  boolean,
  // One of SettingSpec::choices.
  choice,
  // Free text without control characters, at most SettingSpec::text_max_bytes.
  text,
  // A non-negative count (at most 15 digits) or "unlimited".
  count,
  // Ascending percents: "80,100".
  percents,
  // Custom quota rules on meters: "tokens/day<=100000:block;users/month<=50:alert".
  quota_rules,
};

struct SettingSpec {
  std::string_view key;
  SettingKind kind;
  // Absent: the setting has no value until one is set (e.g. a logo URL).
  std::optional<std::string_view> default_value;
  // For SettingKind::choice only.
  std::span<const std::string_view> choices = {};
  // For SettingKind::text only.
  std::size_t text_max_bytes = 0;
};

// Custom fields: "custom.<name>", name of [a-z0-9_], 1-40 characters.
inline constexpr std::string_view kCustomFieldPrefix = "custom.";
inline constexpr std::size_t kCustomFieldNameMaxChars = 40;
inline constexpr std::size_t kCustomFieldValueMaxBytes = 256;
inline constexpr std::size_t kCustomFieldsMax = 50;
// Quota settings live under "quota."; only the platform sets them (the gateway refuses
// them from a tenant's own principals).
inline constexpr std::string_view kQuotaPrefix = "quota.";
// Secret settings live under "secret."; they are never copied by a clone.
inline constexpr std::string_view kSecretPrefix = "secret.";
// Bounds one command's settings changes (every known key plus every custom field,
// with room to spare).
inline constexpr std::size_t kSettingsChangesMax = 100;
// Setting values are short; URLs are the longest kind.
inline constexpr std::size_t kUrlMaxBytes = 2048;

// Every known setting, in key order.
std::span<const SettingSpec> setting_specs();
const SettingSpec* find_setting_spec(std::string_view key);

bool is_custom_field_key(std::string_view key);
bool is_secret_setting(std::string_view key);

// Checks keys and values of settings about to be written: unknown keys, malformed
// values and malformed custom field names are reported, one FieldError per key, field
// "settings.<key>". Empty values are refused: to clear a setting, unset it.
std::vector<FieldError> validate_settings(const Settings& changes);

// Checks bounds on the settings as they would be stored after a write (the count of
// custom fields); field "settings".
std::vector<FieldError> check_settings_bounds(const Settings& stored);

// The settings as readers see them: what is stored, plus the default of every known
// setting that is not. Keys the schema no longer knows are kept, not dropped.
Settings with_defaults(const Settings& stored);

// The settings a clone may inherit: known or custom, never secret.
Settings without_secrets(const Settings& settings);

}  // namespace tenantry::domain::tenant
