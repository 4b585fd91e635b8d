// Flat, ordered JSON objects for the auditor's outputs, written by hand: key order is
// the reader's order, and a line of NDJSON costs no DOM.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tenantry::audit {

// `text` as a JSON string (quoted, escaped) appended to `out`.
void append_json_string(std::string& out, std::string_view text);

// A small writer for flat, ordered JSON objects: key order is the reader's order.
class JsonObject {
 public:
  JsonObject& text(std::string_view key, std::string_view value) {
    next(key);
    append_json_string(out_, value);
    return *this;
  }
  JsonObject& number(std::string_view key, int64_t value) { return raw(key, std::to_string(value)); }
  JsonObject& unsigned_number(std::string_view key, uint64_t value) { return raw(key, std::to_string(value)); }
  JsonObject& boolean(std::string_view key, bool value) { return raw(key, value ? "true" : "false"); }
  JsonObject& raw(std::string_view key, std::string_view json) {
    next(key);
    out_ += json;
    return *this;
  }
  std::string done() {
    out_ += '}';
    return std::move(out_);
  }

 private:
  void next(std::string_view key) {
    out_ += first_ ? "" : ",";
    first_ = false;
    append_json_string(out_, key);
    out_ += ':';
  }
  std::string out_ = "{";
  bool first_ = true;
};

}  // namespace tenantry::audit
