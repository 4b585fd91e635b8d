#include "sagas/tenant_deletion.h"

#include <future>
#include <vector>

#include "tenantry/v1/tenant.pb.h"

namespace tenantry::sagas {

std::string TenantDeletionSaga::command_id(const std::string& tenant_id, int64_t deletion_due_at_us) {
  return "saga.deletion:" + tenant_id + ":" + std::to_string(deletion_due_at_us);
}

log::Result<DeletionPass> TenantDeletionSaga::run_once() {
  DeletionPass pass;
  const int64_t now = clock_.now_us();
  std::vector<std::future<log::Result<v1::CommandReply>>> replies;
  projections::ListQuery query;
  query.status = v1::TENANT_STATUS_PENDING_DELETION;
  query.page_size = projections::kPageSizeMax;
  do {
    auto page = directory_.list(query);
    if (!page) return std::unexpected(page.error());
    for (const auto& entry : page->entries) {
      if (entry.deletion_due_at_us() > now) continue;
      ++pass.due;
      v1::CommandEnvelope command;
      command.set_tenant_id(entry.tenant_id());
      command.set_command_id(command_id(entry.tenant_id(), entry.deletion_due_at_us()));
      command.set_command_type(v1::CompleteTenantDeletion::descriptor()->full_name());
      command.set_schema_version(1);
      command.set_issued_at_us(now);
      command.mutable_actor()->set_kind("saga");
      command.mutable_actor()->set_id("tenant-deletion");
      command.set_payload(v1::CompleteTenantDeletion().SerializeAsString());
      replies.push_back(client_.submit(command));
    }
    query.cursor = page->next_cursor;
  } while (!query.cursor.empty());
  const auto deadline = std::chrono::steady_clock::now() + options_.reply_timeout;
  for (auto& reply : replies) {
    if (reply.wait_until(deadline) != std::future_status::ready) {
      return log::fail(log::ErrorCode::timeout, "no reply to a deletion in time; the next pass retries");
    }
    auto outcome = reply.get();
    if (!outcome) return std::unexpected(outcome.error());
    if (outcome->status() == v1::CommandReply::STATUS_ACCEPTED) ++pass.completed;
    else ++pass.refused;
  }
  return pass;
}

void TenantDeletionSaga::start() {
  periodic_.start(options_.interval, [this] { (void)run_once(); });  // a failed pass is retried
}

void TenantDeletionSaga::stop() { periodic_.stop(); }

}  // namespace tenantry::sagas
