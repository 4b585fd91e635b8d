#include "connectors/clock/time_zones.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace tenantry::clock {

namespace {

int64_t read_be(std::string_view bytes, size_t at, size_t width) {
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) value = value << 8 | static_cast<unsigned char>(bytes[at + i]);
  if (width == 4) return static_cast<int32_t>(static_cast<uint32_t>(value));
  return static_cast<int64_t>(value);
}

struct Header {
  uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
  size_t data_bytes(size_t time_width) const {
    return timecnt * time_width + timecnt + typecnt * 6 + charcnt + leapcnt * (time_width + 4) + isstdcnt + isutcnt;
  }
};

bool read_header(std::string_view bytes, size_t at, Header& header, char& version) {
  if (bytes.size() < at + 44 || bytes.substr(at, 4) != "TZif") return false;
  version = bytes[at + 4];
  auto count = [&](size_t i) { return static_cast<uint32_t>(read_be(bytes, at + 20 + 4 * i, 4)); };
  header = {count(0), count(1), count(2), count(3), count(4), count(5)};
  return header.typecnt > 0 && header.timecnt < 100000 && header.typecnt < 256;
}

bool safe_name(const std::string& name) {
  if (name.empty() || name.size() > 128 || name.front() == '/' || name.find("..") != std::string::npos) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '+' || c == '/';
  });
}

}  // namespace

int32_t TimeZone::offset_at(int64_t time_us) const {
  const int64_t seconds = time_us >= 0 ? time_us / 1000000 : -((-time_us + 999999) / 1000000);
  const auto it = std::upper_bound(transitions_s_.begin(), transitions_s_.end(), seconds);
  if (it == transitions_s_.begin()) return initial_s_;
  return offsets_s_[static_cast<size_t>(it - transitions_s_.begin() - 1)];
}

std::shared_ptr<const TimeZone> parse_tzif(const std::string& name, std::string_view bytes) {
  Header header{};
  char version = 0;
  if (!read_header(bytes, 0, header, version)) return nullptr;
  size_t at = 44;
  size_t width = 4;
  if (version >= '2') {
    // The version 2+ block, with 64-bit times, follows the version 1 block.
    at += header.data_bytes(4);
    if (!read_header(bytes, at, header, version)) return nullptr;
    at += 44;
    width = 8;
  }
  if (bytes.size() < at + header.data_bytes(width)) return nullptr;
  std::vector<int64_t> transitions(header.timecnt);
  for (uint32_t i = 0; i < header.timecnt; ++i) transitions[i] = read_be(bytes, at + i * width, width);
  const size_t indexes = at + header.timecnt * width;
  const size_t types = indexes + header.timecnt;
  auto utoff = [&](size_t type) { return static_cast<int32_t>(read_be(bytes, types + type * 6, 4)); };
  std::vector<int32_t> offsets(header.timecnt);
  for (uint32_t i = 0; i < header.timecnt; ++i) {
    const auto type = static_cast<unsigned char>(bytes[indexes + i]);
    if (type >= header.typecnt) return nullptr;
    offsets[i] = utoff(type);
  }
  if (!std::is_sorted(transitions.begin(), transitions.end())) return nullptr;
  return std::make_shared<TimeZone>(name, std::move(transitions), std::move(offsets), utoff(0));
}

std::shared_ptr<const TimeZone> TimeZones::find(const std::string& name) {
  std::lock_guard lock(mutex_);
  if (auto it = loaded_.find(name); it != loaded_.end()) return it->second;
  std::shared_ptr<const TimeZone> zone;
  if (safe_name(name)) {
    std::ifstream in(dir_ + "/" + name, std::ios::binary);
    if (in) {
      std::ostringstream text;
      text << in.rdbuf();
      zone = parse_tzif(name, text.str());
    }
  }
  if (loaded_.size() < 1024) loaded_[name] = zone;
  return zone;
}

}  // namespace tenantry::clock
