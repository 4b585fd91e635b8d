// The settings schema: validation on write (every kind), defaults on read, custom
// fields and their bounds, and what a clone may inherit.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "domain/tenant/settings.h"
#include "domain/tenant/templates.h"

using namespace tenantry::domain;
using namespace tenantry::domain::tenant;

namespace {

struct ValueCase {
  std::string key;
  std::string value;
  bool valid;
};

std::vector<FieldError> validate_one(const std::string& key, const std::string& value) {
  return validate_settings(Settings{{key, value}});
}

void run_value_cases(const std::vector<ValueCase>& cases) {
  for (const ValueCase& c : cases) {
    INFO(c.key << " = \"" << c.value << "\"");
    const auto errors = validate_one(c.key, c.value);
    if (c.valid) {
      CHECK(errors.empty());
      continue;
    }
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].field == "settings." + c.key);
    CHECK_FALSE(errors[0].message.empty());
  }
}

Settings custom_fields(std::size_t count) {
  Settings settings;
  // Names "custom.f_aa", "custom.f_ab", ...; built by push_back and emplace because
  // concatenating or assigning literals here trips a false -Wrestrict in GCC 12.
  for (std::size_t i = 0; i < count; ++i) {
    std::string key = "custom.f_";
    key.push_back(static_cast<char>('a' + i / 26 % 26));
    key.push_back(static_cast<char>('a' + i % 26));
    settings.emplace(std::move(key), std::string(1, 'x'));
  }
  return settings;
}

}  // namespace

TEST_CASE("settings: defaults are filled on read, stored values win", "[domain]") {
  const Settings empty = with_defaults({});
  CHECK(empty.at("general.timezone") == "UTC");
  CHECK(empty.at("general.locale") == "en-US");
  CHECK(empty.at("general.currency") == "USD");
  CHECK(empty.at("theme.mode") == "system");
  CHECK(empty.at("notifications.email_enabled") == "true");
  // No default: absent until set.
  CHECK_FALSE(empty.contains("branding.logo_url"));
  CHECK_FALSE(empty.contains("secret.webhook_signing_key"));

  const Settings stored = {{"general.timezone", "Europe/Paris"},
                           {"custom.cost_centre", "42"},
                           {"legacy.removed_setting", "kept"}};
  const Settings read = with_defaults(stored);
  CHECK(read.at("general.timezone") == "Europe/Paris");
  CHECK(read.at("general.currency") == "USD");
  CHECK(read.at("custom.cost_centre") == "42");
  // A key the schema no longer knows is kept, so no data is lost on read.
  CHECK(read.at("legacy.removed_setting") == "kept");
}

TEST_CASE("settings: every default passes its own rule", "[domain]") {
  for (const SettingSpec& spec : setting_specs()) {
    INFO(spec.key);
    if (spec.default_value) CHECK(validate_one(std::string(spec.key), std::string(*spec.default_value)).empty());
    // Secrets have no default: there is no sensible shared secret.
    if (is_secret_setting(spec.key)) CHECK_FALSE(spec.default_value.has_value());
  }
  const auto specs = setting_specs();
  CHECK(std::ranges::is_sorted(specs, {}, &SettingSpec::key));
  CHECK(std::ranges::adjacent_find(specs, {}, &SettingSpec::key) == specs.end());
}

TEST_CASE("settings: every template's settings are valid and not secret", "[domain]") {
  for (const TenantTemplate& t : tenant_templates()) {
    INFO(t.name);
    Settings settings;
    for (const auto& [key, value] : t.settings) {
      settings.emplace(key, value);
      CHECK_FALSE(is_secret_setting(key));
    }
    CHECK(validate_settings(settings).empty());
  }
}

TEST_CASE("settings: timezone", "[domain]") {
  run_value_cases({
      {"general.timezone", "UTC", true},
      {"general.timezone", "Europe/Paris", true},
      {"general.timezone", "America/Argentina/Buenos_Aires", true},
      {"general.timezone", "Etc/GMT+5", true},
      {"general.timezone", "EST5EDT", true},
      {"general.timezone", "europe/paris", false},
      {"general.timezone", "Europe//Paris", false},
      {"general.timezone", "Europe/Paris/", false},
      {"general.timezone", "A/B/C/D", false},
      {"general.timezone", "Europe/Paris ", false},
      {"general.timezone", "+02:00", false},
  });
}

TEST_CASE("settings: locale and language", "[domain]") {
  run_value_cases({
      {"general.locale", "en", true},
      {"general.locale", "en-GB", true},
      {"general.locale", "fil-PH", true},
      {"general.locale", "zh-Hant-TW", true},
      {"general.locale", "zh-Hant", true},
      {"general.locale", "es-419", true},
      {"general.language", "de", true},
      {"general.locale", "EN", false},
      {"general.locale", "en_GB", false},
      {"general.locale", "en-gb", false},
      {"general.locale", "e", false},
      {"general.locale", "zh-hant-TW", false},
      {"general.locale", "en-GB-x", false},
      {"general.locale", "en-", false},
      {"general.language", "english", false},
  });
}

TEST_CASE("settings: currency", "[domain]") {
  run_value_cases({
      {"general.currency", "USD", true},
      {"general.currency", "EUR", true},
      {"general.currency", "JPY", true},
      {"general.currency", "usd", false},
      {"general.currency", "USS", false},
      {"general.currency", "EURO", false},
  });
}

TEST_CASE("settings: colour", "[domain]") {
  run_value_cases({
      {"branding.primary_colour", "#1f6feb", true},
      {"branding.accent_colour", "#ABCDEF", true},
      {"branding.primary_colour", "1f6feb", false},
      {"branding.primary_colour", "#1f6fe", false},
      {"branding.primary_colour", "#1f6febb", false},
      {"branding.primary_colour", "#gggggg", false},
      {"branding.primary_colour", "red", false},
  });
}

TEST_CASE("settings: https URL", "[domain]") {
  run_value_cases({
      {"branding.logo_url", "https://cdn.example.com/logo.png", true},
      {"branding.logo_url", "https://cdn.example.com", true},
      {"notifications.webhook_url", "https://hooks.example.com:8443/t/1?x=y#z", true},
      {"branding.logo_url", "http://cdn.example.com/logo.png", false},
      {"branding.logo_url", "ftp://cdn.example.com/logo.png", false},
      {"branding.logo_url", "https://", false},
      {"branding.logo_url", "https:///logo.png", false},
      {"branding.logo_url", "https://127.0.0.1/logo.png", false},
      {"branding.logo_url", "https://[::1]/logo.png", false},
      {"branding.logo_url", "https://localhost/logo.png", false},
      {"branding.logo_url", "https://user:pw@cdn.example.com/", false},
      {"branding.logo_url", "https://cdn.example.com/my logo.png", false},
      {"branding.logo_url", "https://cdn.example.com:0/", false},
      {"branding.logo_url", "https://cdn.example.com:70000/", false},
      {"branding.logo_url", "https://cdn.example.com:/", false},
      {"branding.logo_url", "https://" + std::string(2040, 'a') + ".com", false},
  });
}

TEST_CASE("settings: boolean, choice and text", "[domain]") {
  run_value_cases({
      {"notifications.email_enabled", "true", true},
      {"notifications.email_enabled", "false", true},
      {"notifications.email_enabled", "True", false},
      {"notifications.email_enabled", "yes", false},
      {"notifications.email_enabled", "1", false},
      {"theme.mode", "dark", true},
      {"theme.mode", "blue", false},
      {"theme.mode", "Dark", false},
      {"notifications.digest", "weekly", true},
      {"notifications.digest", "hourly", false},
      {"branding.company_name", "Acme Corp \xe2\x84\xa2", true},
      {"branding.company_name", std::string(100, 'x'), true},
      {"branding.company_name", std::string(101, 'x'), false},
      {"branding.company_name", "Acme\nCorp", false},
      {"secret.webhook_signing_key", std::string(128, 'k'), true},
      {"secret.webhook_signing_key", std::string(129, 'k'), false},
  });
}

TEST_CASE("settings: empty values and unknown keys are refused", "[domain]") {
  run_value_cases({
      {"general.timezone", "", false},
      {"branding.company_name", "", false},
      {"custom.note", "", false},
      {"general.colour", "#000000", false},
      {"timezone", "UTC", false},
      {"secret.unknown", "x", false},
  });
}

TEST_CASE("settings: custom fields", "[domain]") {
  run_value_cases({
      {"custom.cost_centre", "CC-42", true},
      {"custom.a", "x", true},
      {"custom.field_2", "x", true},
      {"custom." + std::string(40, 'n'), "x", true},
      {"custom." + std::string(41, 'n'), "x", false},
      {"custom.", "x", false},
      {"custom.Cost", "x", false},
      {"custom.cost-centre", "x", false},
      {"custom.cost.centre", "x", false},
      {"custom.note", std::string(256, 'v'), true},
      {"custom.note", std::string(257, 'v'), false},
      {"custom.note", "tab\there", false},
  });
  CHECK(check_settings_bounds(custom_fields(50)).empty());
  const auto errors = check_settings_bounds(custom_fields(51));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].field == "settings");
}

TEST_CASE("settings: one error per bad key, all reported, and changes are bounded", "[domain]") {
  const auto errors = validate_settings(
      {{"general.timezone", "nowhere"}, {"theme.mode", "blue"}, {"general.currency", "EUR"}});
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].field == "settings.general.timezone");
  CHECK(errors[1].field == "settings.theme.mode");

  const auto too_many = validate_settings(custom_fields(kSettingsChangesMax + 1));
  REQUIRE(too_many.size() == 1);
  CHECK(too_many[0].field == "settings");
}

TEST_CASE("settings: a clone inherits known and custom settings, never secrets", "[domain]") {
  const Settings source = {{"general.timezone", "Europe/Paris"},
                           {"custom.cost_centre", "42"},
                           {"secret.smtp_password", "hunter2"},
                           {"secret.future_token", "abc"},
                           {"future.unknown", "maybe a secret of a newer schema"}};
  const Settings inherited = without_secrets(source);
  CHECK(inherited == Settings{{"custom.cost_centre", "42"}, {"general.timezone", "Europe/Paris"}});
}
