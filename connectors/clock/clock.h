// The one injectable clock. Everything that needs "now" (command processing, timers,
// billing cycles, quota windows) reads it from here, so tests move time instead of
// sleeping.
#pragma once

#include <atomic>
#include <cstdint>

namespace tenantry::clock {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch.
  virtual int64_t now_us() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t now_us() const override;
};

// A clock that moves only when told to.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_us) : now_us_(start_us) {}
  int64_t now_us() const override { return now_us_.load(); }
  void set_us(int64_t now_us) { now_us_.store(now_us); }
  void advance_us(int64_t delta_us) { now_us_.fetch_add(delta_us); }

 private:
  std::atomic<int64_t> now_us_;
};

}  // namespace tenantry::clock
