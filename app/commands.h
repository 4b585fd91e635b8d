// The `tenantry` binary's commands. Each takes its own arguments and returns the
// process exit code: 0 ok, 1 runtime failure, 2 bad usage or configuration.
#pragma once

#include <string>
#include <vector>

namespace tenantry::app {

int run_serve(const std::vector<std::string>& args);
int run_devbroker(const std::vector<std::string>& args);
int run_bench(const std::vector<std::string>& args);
int run_bench_usage(const std::vector<std::string>& args);
int run_bench_billing(const std::vector<std::string>& args);
int run_projections(const std::vector<std::string>& args);
int run_audit(const std::vector<std::string>& args);

// Blocks SIGINT and SIGTERM in this thread and every thread started after it, so
// they are taken only by wait_for_stop_signal / stop_signal_pending.
void block_stop_signals();
// Waits for SIGINT or SIGTERM; returns the signal number.
int wait_for_stop_signal();
bool stop_signal_pending();

}  // namespace tenantry::app
