// Where the gateway records access that never becomes a command: refused attempts
// (a principal of another tenant, roles that do not allow the endpoint) and platform
// principals acting on a tenant. Records go to the audit topic, keyed by the tenant
// reached for (schemas/tenantry/v1/audit.proto).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "connectors/log/event_log.h"
#include "tenantry/v1/audit.pb.h"

namespace tenantry::gateway {

inline constexpr const char* kAuditTopic = "tenantry.audit";

class AccessAudit {
 public:
  virtual ~AccessAudit() = default;
  // A denial is recorded before the refusal is answered: it returns once the record
  // is durable (false if it could not be written; the refusal stands either way).
  virtual bool record_denial(const v1::AccessRecord& record) = 0;
  // Platform access is recorded without holding the request up.
  virtual void record_platform_access(const v1::AccessRecord& record) = 0;
};

// On the event log (either engine). Creates the topic when missing.
class LogAccessAudit final : public AccessAudit {
 public:
  static log::Result<std::unique_ptr<LogAccessAudit>> open(log::EventLog& log, int32_t partitions,
                                                           std::string topic = kAuditTopic);
  bool record_denial(const v1::AccessRecord& record) override;
  void record_platform_access(const v1::AccessRecord& record) override;
  uint64_t failures() const { return failures_->load(); }

 private:
  LogAccessAudit(log::EventLog& log, std::string topic) : log_(log), topic_(std::move(topic)) {}
  log::AppendRequest request_for(const v1::AccessRecord& record) const;

  log::EventLog& log_;
  const std::string topic_;
  // Shared with append callbacks, which may run after this object is gone.
  std::shared_ptr<std::atomic<uint64_t>> failures_ = std::make_shared<std::atomic<uint64_t>>(0);
};

}  // namespace tenantry::gateway
