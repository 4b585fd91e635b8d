// Configuration of a command: every option has one name, and its value comes from a
// flag (--name value or --name=value), else the environment (TENANTRY_NAME, dashes
// as underscores), else the config file (`name = value` lines, from --config or
// TENANTRY_CONFIG), else its default. Bad values fail at start naming the option.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tenantry::app {

enum class OptionKind { text, integer, boolean, choice };

struct OptionSpec {
  std::string name;  // without dashes, e.g. "http-port"
  std::string help;
  std::string default_value;
  OptionKind kind = OptionKind::text;
  std::vector<std::string> choices;  // for OptionKind::choice
  int64_t min = INT64_MIN;           // for OptionKind::integer
  int64_t max = INT64_MAX;
  bool repeated = false;             // may be given several times (flags and file)
};

struct ConfigError {
  std::string option;  // the option at fault ("" for a stray argument)
  std::string message;
  std::string describe() const;
};

class Config {
 public:
  const std::string& text(const std::string& name) const;
  int64_t integer(const std::string& name) const;
  bool boolean(const std::string& name) const;
  const std::vector<std::string>& all(const std::string& name) const;
  // "flag", "env", "file" or "default".
  const std::string& source(const std::string& name) const;
  bool help_requested() const { return help_; }

 private:
  friend std::expected<Config, ConfigError> load_config(const std::vector<OptionSpec>&,
                                                        const std::vector<std::string>&,
                                                        const std::function<const char*(const char*)>&);
  std::map<std::string, std::vector<std::string>> values_;
  std::map<std::string, std::string> sources_;
  bool help_ = false;
};

// `args` are the command's own arguments (after `tenantry <command>`); `getenv` is
// injectable for tests. "--config" and "--help" are always understood.
std::expected<Config, ConfigError> load_config(const std::vector<OptionSpec>& specs,
                                               const std::vector<std::string>& args,
                                               const std::function<const char*(const char*)>& getenv);

std::string environment_name(const std::string& option);
std::string render_help(const std::string& usage, const std::string& summary,
                        const std::vector<OptionSpec>& specs);

}  // namespace tenantry::app
