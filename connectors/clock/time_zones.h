// IANA time zones read from the system's compiled tz database (TZif files, RFC 8536,
// under /usr/share/zoneinfo): the UTC offset in effect at any instant, for windows that
// follow a tenant's local day and month. Instants after the last transition a file
// lists keep that transition's offset (Debian ships "fat" files, listing transitions
// to 2037).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace tenantry::clock {

class TimeZone {
 public:
  TimeZone(std::string name, std::vector<int64_t> transitions_s, std::vector<int32_t> offsets_s, int32_t initial_s)
      : name_(std::move(name)),
        transitions_s_(std::move(transitions_s)),
        offsets_s_(std::move(offsets_s)),
        initial_s_(initial_s) {}
  const std::string& name() const { return name_; }
  // Seconds east of UTC at the instant.
  int32_t offset_at(int64_t time_us) const;

 private:
  std::string name_;
  std::vector<int64_t> transitions_s_;  // ascending
  std::vector<int32_t> offsets_s_;      // in effect from each transition on
  int32_t initial_s_ = 0;               // before the first transition
};

class TimeZones {
 public:
  explicit TimeZones(std::string zoneinfo_dir = "/usr/share/zoneinfo") : dir_(std::move(zoneinfo_dir)) {}
  // Null for a name that is not a zone of the database (or not a safe relative path).
  // Loaded once, then shared.
  std::shared_ptr<const TimeZone> find(const std::string& name);

 private:
  std::string dir_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const TimeZone>> loaded_;  // misses too (null)
};

// Parses TZif bytes (version 1, 2, 3 or 4); null when they are not TZif.
std::shared_ptr<const TimeZone> parse_tzif(const std::string& name, std::string_view bytes);

}  // namespace tenantry::clock
