// The embedded engine: a durable log inside a local RocksDB. One process, no broker.
// Appends from every thread go through one committer that gathers whatever is
// waiting into a single write batch with one fsync (group commit), so an
// acknowledged append survives kill -9 and a crash never leaves half a request.
#pragma once

#include <memory>
#include <string>

#include "connectors/log/event_log.h"

namespace rocksdb {
struct Options;
}

namespace tenantry::log::embedded {

struct EmbeddedOptions {
  std::string path;                        // the RocksDB directory (created if missing)
  bool fsync = true;                       // fsync every group commit (off only for throwaway data)
  size_t max_pending_appends = 4096;       // append_async blocks the caller beyond this
  size_t max_group_bytes = 32u << 20;      // bytes gathered into one write batch at most
  size_t block_cache_bytes = 64u << 20;
};

Result<std::unique_ptr<EventLog>> open_embedded_log(const EmbeddedOptions& options);

// The RocksDB options the engine runs with, so the raw-engine benchmark measures
// RocksDB configured the same way.
void tune_rocksdb_options(rocksdb::Options& options, const EmbeddedOptions& embedded);

}  // namespace tenantry::log::embedded
