// The auditor's endpoints under /v1/audit: a tenant's state as of any instant and its
// events, rebuilt from the log (audit/replay.h); signed checkpoints of each
// partition's Merkle tree, the platform's public key, inclusion and consistency
// proofs (audit/merkle_store.h, audit/checkpoint_publisher.h) in the shapes
// `tenantry audit check` verifies offline; and who did what (audit/activity.h).
//
// Roles: auditor and platform_admin. An auditor bound to a tenant sees that tenant's
// state, events, activity and inclusion proofs only (a refusal is audited like every other
// cross-tenant attempt); checkpoints, consistency proofs and the public key carry no
// tenant data and are open to every auditor.
#pragma once

#include <vector>

#include "audit/activity.h"
#include "audit/checkpoint_publisher.h"
#include "audit/merkle_store.h"
#include "connectors/http/http_server.h"
#include "gateway/api_support.h"

namespace tenantry::gateway {

struct AuditApiDeps {
  GatewayDeps& gateway;
  log::EventLog& log;
  audit::MerkleTrees& trees;
  audit::CheckpointPublisher& checkpoints;
  // Null: no activity read model (GET /v1/audit/activity answers 503).
  audit::ActivityLog* activity = nullptr;
};

std::vector<http::Route> audit_routes(AuditApiDeps& deps);

}  // namespace tenantry::gateway
