// Offsets from the system's tz database: standard and summer time on both sides of
// the transitions, zones that never change, and names that are not zones.
#include <catch2/catch.hpp>

#include "connectors/clock/time_zones.h"

using tenantry::clock::TimeZones;

namespace {
constexpr int64_t kSecond = 1000000;
}

TEST_CASE("time zones: offsets around daylight saving transitions", "[clock]") {
  TimeZones zones;
  auto berlin = zones.find("Europe/Berlin");
  REQUIRE(berlin);
  // 2026-03-29 01:00 UTC: Berlin moves from +1 to +2.
  const int64_t spring = int64_t{1774746000} * kSecond;
  CHECK(berlin->offset_at(spring - kSecond) == 3600);
  CHECK(berlin->offset_at(spring) == 7200);
  // 2026-10-25 01:00 UTC: back to +1.
  const int64_t autumn = int64_t{1792890000} * kSecond;
  CHECK(berlin->offset_at(autumn - kSecond) == 7200);
  CHECK(berlin->offset_at(autumn) == 3600);
  auto new_york = zones.find("America/New_York");
  REQUIRE(new_york);
  CHECK(new_york->offset_at(spring) == -4 * 3600);
  CHECK(new_york->offset_at(int64_t{1795649400} * kSecond) == -5 * 3600);  // late November
  auto kolkata = zones.find("Asia/Kolkata");
  REQUIRE(kolkata);
  CHECK(kolkata->offset_at(spring) == 5 * 3600 + 1800);
  auto utc = zones.find("UTC");
  REQUIRE(utc);
  CHECK(utc->offset_at(spring) == 0);
  // Loaded once and shared.
  CHECK(zones.find("Europe/Berlin") == berlin);
}

TEST_CASE("time zones: unknown and unsafe names find nothing", "[clock]") {
  TimeZones zones;
  CHECK_FALSE(zones.find("Mars/Olympus_Mons"));
  CHECK_FALSE(zones.find("../../etc/passwd"));
  CHECK_FALSE(zones.find("/etc/localtime"));
  CHECK_FALSE(zones.find(""));
  CHECK_FALSE(tenantry::clock::parse_tzif("x", "not a tzif file at all, but long enough to have a header......"));
}
