#include "app/config.h"

#include <charconv>
#include <fstream>
#include <sstream>

namespace tenantry::app {

namespace {

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

std::unexpected<ConfigError> bad(const std::string& option, std::string message) {
  return std::unexpected(ConfigError{option, std::move(message)});
}

std::optional<ConfigError> validate(const OptionSpec& spec, const std::string& value, const std::string& from) {
  switch (spec.kind) {
    case OptionKind::text: return std::nullopt;
    case OptionKind::integer: {
      int64_t number = 0;
      auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
      if (value.empty() || error != std::errc() || end != value.data() + value.size()) {
        return ConfigError{spec.name, "expects a whole number, got '" + value + "' (" + from + ")"};
      }
      if (number < spec.min || number > spec.max) {
        return ConfigError{spec.name, "must be between " + std::to_string(spec.min) + " and " +
                                          std::to_string(spec.max) + ", got " + value + " (" + from + ")"};
      }
      return std::nullopt;
    }
    case OptionKind::boolean:
      if (value == "true" || value == "false") return std::nullopt;
      return ConfigError{spec.name, "expects true or false, got '" + value + "' (" + from + ")"};
    case OptionKind::choice:
      for (const auto& choice : spec.choices) {
        if (choice == value) return std::nullopt;
      }
      {
        std::string list;
        for (const auto& choice : spec.choices) list += (list.empty() ? "" : ", ") + choice;
        return ConfigError{spec.name, "expects one of " + list + ", got '" + value + "' (" + from + ")"};
      }
  }
  return std::nullopt;
}

}  // namespace

std::string ConfigError::describe() const {
  return option.empty() ? message : "option --" + option + ": " + message;
}

const std::string& Config::text(const std::string& name) const { return values_.at(name).front(); }

int64_t Config::integer(const std::string& name) const { return std::stoll(text(name)); }

bool Config::boolean(const std::string& name) const { return text(name) == "true"; }

const std::vector<std::string>& Config::all(const std::string& name) const { return values_.at(name); }

const std::string& Config::source(const std::string& name) const { return sources_.at(name); }

std::string environment_name(const std::string& option) {
  std::string name = "TENANTRY_";
  for (char c : option) name.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return name;
}

std::expected<Config, ConfigError> load_config(const std::vector<OptionSpec>& specs,
                                               const std::vector<std::string>& args,
                                               const std::function<const char*(const char*)>& getenv) {
  auto find = [&](const std::string& name) -> const OptionSpec* {
    for (const auto& spec : specs) {
      if (spec.name == name) return &spec;
    }
    return nullptr;
  };

  Config config;
  std::map<std::string, std::vector<std::string>> flags;
  std::string config_file;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      config.help_ = true;
      continue;
    }
    if (!arg.starts_with("--")) return bad("", "unexpected argument '" + arg + "'");
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (name != "config" && find(name) == nullptr) return bad(name, "unknown option (see --help)");
    if (!value) {
      const OptionSpec* spec = find(name);
      if (spec != nullptr && spec->kind == OptionKind::boolean &&
          (i + 1 >= args.size() || args[i + 1].starts_with("--"))) {
        value = "true";  // a bare boolean flag switches it on
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return bad(name, "expects a value");
      }
    }
    if (name == "config") {
      config_file = *value;
      continue;
    }
    const OptionSpec* spec = find(name);
    if (!spec->repeated && !flags[name].empty()) return bad(name, "given more than once");
    flags[name].push_back(*value);
  }
  if (config.help_) return config;

  if (config_file.empty()) {
    if (const char* from_env = getenv("TENANTRY_CONFIG")) config_file = from_env;
  }
  std::map<std::string, std::vector<std::string>> file_values;
  if (!config_file.empty()) {
    std::ifstream in(config_file);
    if (!in) return bad("config", "cannot read config file '" + config_file + "'");
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      line = trim(line.substr(0, line.find('#')));
      if (line.empty()) continue;
      const auto eq = line.find('=');
      const std::string where = config_file + ":" + std::to_string(number);
      if (eq == std::string::npos) return bad("config", where + ": expected 'name = value'");
      const std::string name = trim(line.substr(0, eq));
      const OptionSpec* spec = find(name);
      if (spec == nullptr) return bad(name, where + ": unknown option");
      if (!spec->repeated && !file_values[name].empty()) return bad(name, where + ": given more than once");
      file_values[name].push_back(trim(line.substr(eq + 1)));
    }
  }

  for (const auto& spec : specs) {
    std::vector<std::string> values;
    std::string source;
    if (auto it = flags.find(spec.name); it != flags.end()) {
      values = it->second;
      source = "flag";
    } else if (const char* env = getenv(environment_name(spec.name).c_str())) {
      // A repeated option takes a comma-separated list from the environment.
      std::string text = env;
      if (spec.repeated) {
        std::stringstream parts(text);
        for (std::string part; std::getline(parts, part, ',');) {
          if (!trim(part).empty()) values.push_back(trim(part));
        }
      } else {
        values.push_back(text);
      }
      source = "env " + environment_name(spec.name);
    } else if (auto it = file_values.find(spec.name); it != file_values.end()) {
      values = it->second;
      source = "file " + config_file;
    } else {
      if (!spec.repeated || !spec.default_value.empty()) values.push_back(spec.default_value);
      source = "default";
    }
    for (const auto& value : values) {
      if (auto error = validate(spec, value, source)) return std::unexpected(*error);
    }
    if (values.empty() && !spec.repeated) values.push_back("");
    config.values_[spec.name] = std::move(values);
    config.sources_[spec.name] = std::move(source);
  }
  return config;
}

std::string render_help(const std::string& usage, const std::string& summary,
                        const std::vector<OptionSpec>& specs) {
  std::ostringstream out;
  out << "Usage: " << usage << "\n\n" << summary << "\n\nOptions (flag > environment > config file > default):\n";
  auto line = [&](const std::string& flag, const std::string& help, const std::string& env,
                  const std::string& default_value) {
    out << "  " << flag << "\n      " << help << "\n";
    if (!env.empty()) out << "      env: " << env;
    if (!default_value.empty()) out << (env.empty() ? "      " : "  ") << "default: " << default_value;
    if (!env.empty() || !default_value.empty()) out << "\n";
  };
  line("--config FILE", "read options from FILE ('name = value' lines, # comments)", "TENANTRY_CONFIG", "");
  for (const auto& spec : specs) {
    std::string flag = "--" + spec.name;
    switch (spec.kind) {
      case OptionKind::integer: flag += " N"; break;
      case OptionKind::boolean: flag += " [true|false]"; break;
      case OptionKind::choice: {
        std::string list;
        for (const auto& choice : spec.choices) list += (list.empty() ? "" : "|") + choice;
        flag += " " + list;
        break;
      }
      case OptionKind::text: flag += " VALUE"; break;
    }
    std::string help = spec.help;
    if (spec.repeated) help += " (repeatable; comma-separated in the environment)";
    line(flag, help, environment_name(spec.name), spec.default_value);
  }
  line("--help", "show this help", "", "");
  return out.str();
}

}  // namespace tenantry::app
