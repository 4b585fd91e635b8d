#include "app/local_state.h"

#include <filesystem>

#include "audit/activity.h"
#include "audit/checkpoint_publisher.h"
#include "audit/merkle_store.h"
#include "commands/command_processor.h"
#include "connectors/webhooks/alert_webhooks.h"
#include "projections/tenant_directory/tenant_directory.h"
#include "connectors/payments/test_provider.h"
#include "projections/billing/billing_model.h"
#include "sagas/billing_notices.h"
#include "projections/usage/storage_meter.h"
#include "projections/usage/usage_model.h"

namespace tenantry::app {

log::Result<std::unique_ptr<store::RocksStore>> open_local_state(const Config& config) {
  const auto dir = std::filesystem::path(config.text("data-dir")) / "state";
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return log::fail(log::ErrorCode::io, "cannot create " + dir.string() + ": " + error.message());
  auto families = commands::CommandProcessor::store_families();
  for (const auto& family : projections::TenantDirectoryModel::store_families()) families.push_back(family);
  families.push_back(audit::kMerkleFamily);
  families.push_back(audit::kCheckpointsFamily);
  families.push_back(audit::kActivityFamily);
  families.push_back(projections::kUsageFamily);
  families.push_back(projections::kStorageFamily);
  families.push_back(webhooks::kWebhooksFamily);
  families.push_back(projections::kBillingFamily);
  families.push_back(sagas::kBillingNoticesFamily);
  families.push_back(payments::kTestProviderFamily);
  return store::RocksStore::open({dir.string(), families});
}

}  // namespace tenantry::app
