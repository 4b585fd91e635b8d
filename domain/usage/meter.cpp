#include "domain/usage/meter.h"

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cmath>
#include <charconv>
#include <cstring>

namespace tenantry::domain::usage {

namespace {

constexpr std::array<std::pair<Aggregation, const char*>, 6> kAggregations = {{
    {Aggregation::count, "COUNT"},
    {Aggregation::sum, "SUM"},
    {Aggregation::max, "MAX"},
    {Aggregation::min, "MIN"},
    {Aggregation::unique_count, "UNIQUE_COUNT"},
    {Aggregation::latest, "LATEST"},
}};

constexpr std::array<std::pair<Window, const char*>, 4> kWindowNames = {{
    {Window::minute, "minute"},
    {Window::hour, "hour"},
    {Window::day, "day"},
    {Window::month, "month"},
}};

constexpr int64_t kMinuteUs = int64_t{60} * 1000000;
constexpr int64_t kHourUs = 60 * kMinuteUs;
constexpr int64_t kDayUs = 24 * kHourUs;
constexpr size_t kMaxGroupBy = 4;
constexpr size_t kMaxKeyBytes = 64;

int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

bool key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// A scalar as a canonical string: numbers in their shortest round-trip form (so equal
// doubles give equal strings), booleans as true/false. Null for other kinds.
std::optional<std::string> scalar_text(const google::protobuf::Value& value) {
  switch (value.kind_case()) {
    case google::protobuf::Value::kStringValue: return value.string_value();
    case google::protobuf::Value::kBoolValue: return std::string(value.bool_value() ? "true" : "false");
    case google::protobuf::Value::kNumberValue: {
      char text[32];
      const auto written = std::to_chars(text, text + sizeof text, value.number_value());
      return std::string(text, written.ptr);
    }
    default: return std::nullopt;
  }
}

void put_u64(std::string& out, uint64_t value) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

uint64_t get_u64(std::string_view in, size_t at) {
  uint64_t value = 0;
  for (size_t i = 0; i < 8; ++i) value = value << 8 | static_cast<unsigned char>(in[at + i]);
  return value;
}

}  // namespace

std::optional<Aggregation> aggregation_from(std::string_view name) {
  for (const auto& [aggregation, text] : kAggregations) {
    if (name == text) return aggregation;
  }
  return std::nullopt;
}

const char* aggregation_name(Aggregation aggregation) {
  for (const auto& [candidate, text] : kAggregations) {
    if (candidate == aggregation) return text;
  }
  return "COUNT";
}

std::optional<Window> window_from(std::string_view name) {
  for (const auto& [window, text] : kWindowNames) {
    if (name == text) return window;
  }
  return std::nullopt;
}

const char* window_name(Window window) {
  for (const auto& [candidate, text] : kWindowNames) {
    if (candidate == window) return text;
  }
  return "minute";
}

std::optional<DataPath> parse_path(std::string_view text) {
  DataPath path;
  path.text = std::string(text);
  std::string_view rest = text;
  if (rest.starts_with("$.")) rest.remove_prefix(2);
  if (rest.empty()) return std::nullopt;
  while (true) {
    const auto dot = rest.find('.');
    const std::string_view key = rest.substr(0, dot);
    if (key.empty() || key.size() > kMaxKeyBytes) return std::nullopt;
    for (char c : key) {
      if (!key_char(c)) return std::nullopt;
    }
    path.keys.emplace_back(key);
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
    if (path.keys.size() >= 8) return std::nullopt;
  }
  return path;
}

const google::protobuf::Value* find(const google::protobuf::Struct& data, const DataPath& path) {
  const google::protobuf::Struct* current = &data;
  const google::protobuf::Value* found = nullptr;
  for (size_t i = 0; i < path.keys.size(); ++i) {
    const auto it = current->fields().find(path.keys[i]);
    if (it == current->fields().end()) return nullptr;
    found = &it->second;
    if (i + 1 < path.keys.size()) {
      if (found->kind_case() != google::protobuf::Value::kStructValue) return nullptr;
      current = &found->struct_value();
    }
  }
  return found;
}

std::vector<FieldError> check_definition(const MeterDefinition& meter) {
  std::vector<FieldError> errors;
  const bool name_ok = !meter.name.empty() && meter.name.size() <= 64 &&
                       std::all_of(meter.name.begin(), meter.name.end(), [](char c) {
                         return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                       });
  if (!name_ok) errors.push_back({"name", "must be 1-64 of [a-z0-9_]"});
  if (meter.event_type.empty() || meter.event_type.size() > 256) {
    errors.push_back({"eventType", "must be 1-256 characters"});
  }
  if (meter.aggregation != Aggregation::count && !meter.value) {
    errors.push_back({"valueProperty", std::string("required for ") + aggregation_name(meter.aggregation)});
  }
  if (meter.group_by.size() > kMaxGroupBy) errors.push_back({"groupBy", "at most 4 properties"});
  if (meter.transactions && meter.aggregation != Aggregation::sum) {
    errors.push_back({"transactions", "only SUM meters keep transactions"});
  }
  return errors;
}

std::expected<std::optional<Contribution>, std::string> contribution(const MeterDefinition& meter,
                                                                      const v1::UsageEvent& event) {
  if (event.type() != meter.event_type) return std::optional<Contribution>();
  Contribution out;
  if (meter.aggregation == Aggregation::count) {
    out.value = 1;
  } else {
    const google::protobuf::Value* value = find(event.data(), *meter.value);
    // Absent: the event is not one this meter measures (another meter of the type may).
    if (value == nullptr || value->kind_case() == google::protobuf::Value::kNullValue) {
      return std::optional<Contribution>();
    }
    if (meter.aggregation == Aggregation::unique_count) {
      auto text = scalar_text(*value);
      if (!text) return std::unexpected(meter.value->text + " must be a string, number or boolean (meter " + meter.name + ")");
      out.unique_value = std::move(*text);
      for (char& c : out.unique_value) {
        if (c == '\0') c = '?';
      }
    } else {
      if (value->kind_case() != google::protobuf::Value::kNumberValue || !std::isfinite(value->number_value())) {
        return std::unexpected(meter.value->text + " must be a number for " + aggregation_name(meter.aggregation) +
                               " (meter " + meter.name + ")");
      }
      out.value = value->number_value();
      // 2^53: every whole number up to it is exact in a double.
      if (meter.transactions && (out.value < 0 || out.value > 9007199254740992.0 || std::trunc(out.value) != out.value)) {
        return std::unexpected(meter.value->text + " must be a whole amount in minor units, 0 or more (meter " +
                               meter.name + " keeps transactions)");
      }
    }
  }
  for (const auto& path : meter.group_by) {
    if (!out.group.empty()) out.group += '\x1f';
    out.group += path.text;
    out.group += '=';
    if (const google::protobuf::Value* value = find(event.data(), path)) {
      if (auto text = scalar_text(*value)) {
        // The separators stay separators.
        for (char c : *text) out.group += (c == '\0' || c == '\x1f') ? '?' : c;
      }
    }
  }
  return std::optional<Contribution>(std::move(out));
}

void fold(Aggregate& aggregate, const Contribution& contribution, int64_t time_us, std::string_view event_id,
          bool first_of_value) {
  const bool first = aggregate.count == 0;
  ++aggregate.count;
  aggregate.sum += contribution.value;
  if (first || contribution.value < aggregate.min) aggregate.min = contribution.value;
  if (first || contribution.value > aggregate.max) aggregate.max = contribution.value;
  // The latest by event time, whatever order events arrive in.
  if (first || time_us > aggregate.latest_time_us ||
      (time_us == aggregate.latest_time_us && event_id > aggregate.latest_id)) {
    aggregate.latest = contribution.value;
    aggregate.latest_time_us = time_us;
    aggregate.latest_id.assign(event_id);
  }
  if (first_of_value) ++aggregate.unique;
}

void merge(Aggregate& into, const Aggregate& other) {
  if (other.count == 0) return;
  if (into.count == 0) {
    into = other;
    return;
  }
  into.count += other.count;
  into.sum += other.sum;
  into.min = std::min(into.min, other.min);
  into.max = std::max(into.max, other.max);
  if (other.latest_time_us > into.latest_time_us ||
      (other.latest_time_us == into.latest_time_us && other.latest_id > into.latest_id)) {
    into.latest = other.latest;
    into.latest_time_us = other.latest_time_us;
    into.latest_id = other.latest_id;
  }
  into.unique += other.unique;
}

double result(const Aggregate& aggregate, Aggregation aggregation) {
  switch (aggregation) {
    case Aggregation::count: return static_cast<double>(aggregate.count);
    case Aggregation::sum: return aggregate.sum;
    case Aggregation::max: return aggregate.max;
    case Aggregation::min: return aggregate.min;
    case Aggregation::unique_count: return static_cast<double>(aggregate.unique);
    case Aggregation::latest: return aggregate.latest;
  }
  return 0;
}

std::string encode(const Aggregate& aggregate) {
  std::string out;
  out.reserve(56 + aggregate.latest_id.size());
  put_u64(out, aggregate.count);
  put_u64(out, std::bit_cast<uint64_t>(aggregate.sum));
  put_u64(out, std::bit_cast<uint64_t>(aggregate.min));
  put_u64(out, std::bit_cast<uint64_t>(aggregate.max));
  put_u64(out, std::bit_cast<uint64_t>(aggregate.latest));
  put_u64(out, static_cast<uint64_t>(aggregate.latest_time_us));
  put_u64(out, aggregate.unique);
  out += aggregate.latest_id;
  return out;
}

std::optional<Aggregate> decode(std::string_view bytes) {
  if (bytes.size() < 56) return std::nullopt;
  Aggregate out;
  out.count = get_u64(bytes, 0);
  out.sum = std::bit_cast<double>(get_u64(bytes, 8));
  out.min = std::bit_cast<double>(get_u64(bytes, 16));
  out.max = std::bit_cast<double>(get_u64(bytes, 24));
  out.latest = std::bit_cast<double>(get_u64(bytes, 32));
  out.latest_time_us = static_cast<int64_t>(get_u64(bytes, 40));
  out.unique = get_u64(bytes, 48);
  out.latest_id = std::string(bytes.substr(56));
  return out;
}

int64_t window_start(Window window, int64_t time_us, int32_t utc_offset_s) {
  switch (window) {
    case Window::minute: return floor_div(time_us, kMinuteUs) * kMinuteUs;
    case Window::hour: return floor_div(time_us, kHourUs) * kHourUs;
    case Window::day: {
      const int64_t local = time_us + int64_t{utc_offset_s} * 1000000;
      return floor_div(local, kDayUs) * kDayUs;
    }
    case Window::month: {
      const int64_t local = time_us + int64_t{utc_offset_s} * 1000000;
      const std::chrono::sys_days day{std::chrono::days{floor_div(local, kDayUs)}};
      const std::chrono::year_month_day date{day};
      const std::chrono::sys_days first{date.year() / date.month() / std::chrono::day{1}};
      return static_cast<int64_t>(first.time_since_epoch().count()) * kDayUs;
    }
  }
  return time_us;
}

int64_t next_window(Window window, int64_t start) {
  switch (window) {
    case Window::minute: return start + kMinuteUs;
    case Window::hour: return start + kHourUs;
    case Window::day: return start + kDayUs;
    case Window::month: {
      const std::chrono::sys_days day{std::chrono::days{floor_div(start, kDayUs)}};
      const std::chrono::year_month_day date{day};
      const std::chrono::sys_days next{(date.year() / date.month() / std::chrono::day{1}) + std::chrono::months{1}};
      return static_cast<int64_t>(next.time_since_epoch().count()) * kDayUs;
    }
  }
  return start;
}

std::optional<FieldError> check_event(const v1::UsageEvent& event, int64_t now_us, const EventLimits& limits) {
  auto printable = [](std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f; });
  };
  if (event.id().empty()) return FieldError{"id", "required"};
  if (event.id().size() > 256 || !printable(event.id())) return FieldError{"id", "must be 1-256 printable characters"};
  if (event.source().empty()) return FieldError{"source", "required"};
  if (event.source().size() > 1024 || !printable(event.source())) {
    return FieldError{"source", "must be 1-1024 printable characters"};
  }
  if (event.type().empty()) return FieldError{"type", "required"};
  if (event.type().size() > 256 || !printable(event.type())) return FieldError{"type", "must be 1-256 printable characters"};
  if (event.subject().size() > 1024) return FieldError{"subject", "must be at most 1024 characters"};
  if (event.time_us() != 0) {
    if (event.time_us() < now_us - limits.max_age_us) {
      const int64_t hours = limits.max_age_us / (int64_t{3600} * 1000000);
      return FieldError{"time", "older than the late-arrival limit of " +
                                    (hours % 24 == 0 ? std::to_string(hours / 24) + " days" : std::to_string(hours) + " hours")};
    }
    if (event.time_us() > now_us + limits.max_future_us) {
      return FieldError{"time", "more than " + std::to_string(limits.max_future_us / 1000000) +
                                    " seconds in the future"};
    }
  }
  return std::nullopt;
}

}  // namespace tenantry::domain::usage
