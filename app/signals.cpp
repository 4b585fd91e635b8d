#include <csignal>
#include <ctime>

#include "app/commands.h"

namespace tenantry::app {

namespace {
sigset_t stop_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}
}  // namespace

void block_stop_signals() {
  sigset_t set = stop_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_for_stop_signal() {
  sigset_t set = stop_set();
  int signal = 0;
  sigwait(&set, &signal);
  return signal;
}

bool stop_signal_pending() {
  sigset_t set = stop_set();
  timespec zero{0, 0};
  return sigtimedwait(&set, nullptr, &zero) > 0;
}

}  // namespace tenantry::app
