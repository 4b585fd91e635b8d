#include <cstdio>
#include <string>
#include <vector>

#include "app/commands.h"

namespace {

constexpr const char* kUsage =
    "Usage: tenantry <command> [options]\n\n"
    "Commands:\n"
    "  serve       run Tenantry (embedded log by default; Kafka by configuration)\n"
    "  devbroker   run librdkafka's mock Kafka cluster for development and tests\n"
    "  bench log   measure the log engines beside the raw libraries (JSON)\n"
    "  bench commands  measure the command processor beside the raw log (JSON)\n"
    "  bench audit     measure log verification, replay and proofs beside the raw read (JSON)\n"
    "  bench usage     measure usage ingestion and the quota check beside raw RocksDB (JSON)\n"
    "  bench billing   measure a period close and settling for every tenant beside the raw log (JSON)\n"
    "  projections rebuild NAME  rebuild a read model from the events topic\n"
    "  audit verify|prove|checkpoint|keygen|check  verify the log; Merkle proofs, signed checkpoints\n\n"
    "`tenantry <command> --help` lists every option of a command.\n";

}  // namespace

int main(int argc, char** argv) {
  // Before any thread starts, so stop signals reach only the waiting main thread.
  tenantry::app::block_stop_signals();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string command = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "serve") return tenantry::app::run_serve(rest);
  if (command == "devbroker") return tenantry::app::run_devbroker(rest);
  if (command == "bench") return tenantry::app::run_bench(rest);
  if (command == "projections") return tenantry::app::run_projections(rest);
  if (command == "audit") return tenantry::app::run_audit(rest);
  std::fprintf(stderr, "tenantry: unknown command '%s'\n\n%s", command.c_str(), kUsage);
  return 2;
}
