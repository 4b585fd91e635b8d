#include "gateway/access_audit.h"

namespace tenantry::gateway {

log::Result<std::unique_ptr<LogAccessAudit>> LogAccessAudit::open(log::EventLog& log, int32_t partitions,
                                                                   std::string topic) {
  if (auto created = log.create_topic({topic, partitions}); !created) return std::unexpected(created.error());
  return std::unique_ptr<LogAccessAudit>(new LogAccessAudit(log, std::move(topic)));
}

log::AppendRequest LogAccessAudit::request_for(const v1::AccessRecord& record) const {
  log::AppendRequest request;
  log::Record out;
  out.topic = topic_;
  // Keyed by the tenant reached for, so a tenant's audit trail is one partition in
  // order; an attempt on a tenant that does not exist is keyed by the principal's.
  out.key = !record.target_tenant_id().empty() ? record.target_tenant_id() : record.principal_tenant_id();
  out.value = record.SerializeAsString();
  out.headers.push_back({"record_type", "tenantry.v1.AccessRecord"});
  request.records.push_back(std::move(out));
  return request;
}

bool LogAccessAudit::record_denial(const v1::AccessRecord& record) {
  if (auto appended = log_.append(request_for(record)); !appended) {
    failures_->fetch_add(1);
    return false;
  }
  return true;
}

void LogAccessAudit::record_platform_access(const v1::AccessRecord& record) {
  log_.append_async(request_for(record), [failures = failures_](log::Result<log::AppendResult> appended) {
    if (!appended) failures->fetch_add(1);
  });
}

}  // namespace tenantry::gateway
