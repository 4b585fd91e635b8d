// The generic cell rate algorithm (GCRA), as rate limiters such as redis-cell and
// throttled state it: `rate` requests per `period`, with `burst` more at once. Two
// numbers per key are all the state; a decision is exact
// and O(1). Pure: the caller passes the time and keeps the state.
#pragma once

#include <cstdint>

namespace tenantry::domain::usage {

struct GcraLimit {
  int64_t rate = 1;          // requests per period (> 0)
  int64_t period_us = 1000000;
  int64_t burst = 0;         // allowed at once beyond the first; the limit is burst + 1
};

struct GcraDecision {
  bool allowed = false;
  int64_t limit = 0;            // burst + 1
  int64_t remaining = 0;        // requests that would be allowed right now after this one
  int64_t retry_after_us = -1;  // when refused: how long until this request would pass; -1 when allowed
  int64_t reset_after_us = 0;   // how long until the key is back to its full burst
};

// A key's state: its theoretical arrival time (0 for a key never seen) and the
// emission interval it was accrued at.
struct GcraState {
  int64_t tat_us = 0;
  int64_t emission_interval_us = 0;
};

// The state is advanced only when the request is allowed (a refused request consumes
// nothing). When the limit changed since the state was accrued, what was used is
// carried over in requests, not in time: raising a limit takes effect at once.
GcraDecision gcra(GcraState& state, int64_t now_us, const GcraLimit& limit, int64_t quantity = 1);

}  // namespace tenantry::domain::usage
