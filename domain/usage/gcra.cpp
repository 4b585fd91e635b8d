#include "domain/usage/gcra.h"

#include <algorithm>

namespace tenantry::domain::usage {

GcraDecision gcra(GcraState& state, int64_t now_us, const GcraLimit& limit, int64_t quantity) {
  const int64_t rate = std::max<int64_t>(limit.rate, 1);
  const int64_t burst = std::max<int64_t>(limit.burst, 0);
  const int64_t emission_interval = std::max<int64_t>(limit.period_us / rate, 1);
  const int64_t tolerance = emission_interval * (burst + 1);
  const int64_t increment = emission_interval * std::max<int64_t>(quantity, 0);

  GcraDecision decision;
  decision.limit = burst + 1;
  if (state.emission_interval_us != emission_interval && state.tat_us > now_us && state.emission_interval_us > 0) {
    // Requests still counted against the key, re-timed at the new interval.
    const __int128 owed = static_cast<__int128>(state.tat_us - now_us) * emission_interval / state.emission_interval_us;
    state.tat_us = now_us + static_cast<int64_t>(owed);
  }
  state.emission_interval_us = emission_interval;
  const int64_t tat = std::max(state.tat_us, now_us);
  const int64_t new_tat = tat + increment;
  const int64_t allow_at = new_tat - tolerance;
  int64_t ttl = 0;
  if (now_us < allow_at) {
    decision.allowed = false;
    // A request larger than the whole burst never passes.
    decision.retry_after_us = increment <= tolerance ? allow_at - now_us : -1;
    ttl = tat - now_us;
  } else {
    decision.allowed = true;
    ttl = new_tat - now_us;
    state.tat_us = new_tat;
  }
  const int64_t next = tolerance - ttl;
  decision.remaining = next > 0 ? next / emission_interval : 0;
  decision.reset_after_us = ttl;
  return decision;
}

}  // namespace tenantry::domain::usage
