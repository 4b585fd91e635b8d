// The node's local state store (data-dir/state): the command processor's cache and
// the read models, one RocksDB with a family each. Opened the same way by every
// command that touches it, so serve and the maintenance commands agree on both.
#pragma once

#include <memory>

#include "app/config.h"
#include "connectors/store/rocks_store.h"

namespace tenantry::app {

log::Result<std::unique_ptr<store::RocksStore>> open_local_state(const Config& config);

}  // namespace tenantry::app
