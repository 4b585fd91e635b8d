#include "connectors/clock/clock.h"

#include <chrono>

namespace tenantry::clock {

int64_t SystemClock::now_us() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace tenantry::clock
