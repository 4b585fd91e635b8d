// Tenant commands as tests put them on the commands topic: a valid registration body
// and the envelope around any command body.
#pragma once

#include <string>

#include "tenantry/v1/command.pb.h"
#include "tenantry/v1/tenant.pb.h"

namespace tenantry::testing {

// Acme Corp, plan pro, shared tier, eu-west-1, admin Ada: passes every registration rule.
inline v1::RegisterTenant registration_body(const std::string& slug) {
  v1::RegisterTenant body;
  body.set_slug(slug);
  body.set_display_name("Acme Corp");
  body.set_plan("pro");
  body.set_isolation_tier(v1::ISOLATION_TIER_SHARED);
  body.set_region("eu-west-1");
  body.mutable_admin_contact()->set_name("Ada");
  body.mutable_admin_contact()->set_email("ada@acme.example");
  return body;
}

// `body` in an envelope for `tenant` with command id `id` (type from its descriptor).
inline v1::CommandEnvelope command_of(const std::string& tenant, const std::string& id,
                                      const google::protobuf::Message& body) {
  v1::CommandEnvelope command;
  command.set_command_id(id);
  command.set_tenant_id(tenant);
  command.set_command_type(body.GetDescriptor()->full_name());
  command.set_payload(body.SerializeAsString());
  return command;
}

}  // namespace tenantry::testing
