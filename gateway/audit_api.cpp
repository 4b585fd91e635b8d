#include "gateway/audit_api.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <charconv>

#include "audit/render.h"
#include "audit/replay.h"
#include "connectors/log/envelope_codec.h"

namespace tenantry::gateway {

namespace {

using http::FieldDetail;
using http::HttpRequest;
using http::HttpResponse;
using http::auth::Principal;
using http::auth::Role;

const std::vector<Role> kAuditors = {Role::auditor, Role::platform_admin};

std::optional<uint64_t> parse_count(const std::string& value) {
  uint64_t out = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (error != std::errc() || end != value.data() + value.size()) return std::nullopt;
  return out;
}

HttpResponse store_error(const HttpRequest& request, const log::Error& error) {
  if (error.code == log::ErrorCode::invalid_argument) {
    return http::error_response(request, 400, "validation_error", error.message);
  }
  return http::error_response(request, 503, "unavailable", error.message);
}

// Any auditor (platform or tenant-bound) or platform_admin.
std::expected<Principal, HttpResponse> auditor(AuditApiDeps& deps, const HttpRequest& request) {
  auto principal = authenticate(deps.gateway, request);
  if (!principal) return std::unexpected(principal.error());
  if (auto denied = authorize(request, *principal, kAuditors, "", false)) return std::unexpected(*denied);
  return principal;
}

// An auditor allowed to see `tenant_id`'s events; a tenant-bound one reaching for
// another tenant is refused and the attempt audited.
std::optional<HttpResponse> may_see_tenant(AuditApiDeps& deps, const HttpRequest& request, const Principal& principal,
                                           const std::string& tenant_id, const std::string& named_by) {
  if (auto denied = authorize(request, principal, kAuditors, tenant_id, false)) {
    audit_denial(deps.gateway, request, principal, tenant_id, named_by, error_type_of(*denied));
    return denied;
  }
  return std::nullopt;
}

std::string hex_of(const audit::Hash& hash) { return audit::to_hex(hash); }

Poco::JSON::Object::Ptr checkpoint_json(const audit::PublishedCheckpoint& published) {
  Poco::JSON::Object::Ptr out = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
  out->set("topic", published.checkpoint.topic);
  out->set("partition", published.checkpoint.partition);
  out->set("treeSize", published.checkpoint.tree_size);
  out->set("root", hex_of(published.checkpoint.root));
  out->set("timestampUs", published.checkpoint.timestamp_us);
  out->set("note", published.text);
  return out;
}

Poco::JSON::Array hashes_json(const std::vector<audit::Hash>& hashes) {
  Poco::JSON::Array out;
  for (const auto& hash : hashes) out.add(hex_of(hash));
  return out;
}

log::Result<int32_t> partitions_of(AuditApiDeps& deps) { return deps.log.partition_count(deps.checkpoints.events_topic()); }

HttpResponse public_key(AuditApiDeps& deps, const HttpRequest& request) {
  auto principal = auditor(deps, request);
  if (!principal) return principal.error();
  std::vector<FieldDetail> errors;
  bool pem = false;
  for (const auto& [name, value] : query_pairs(request.query, errors)) {
    if (name == "format" && (value == "pem" || value == "json")) pem = value == "pem";
    else if (name == "format") errors.push_back({"format", "must be json or pem"});
    else errors.push_back({name, "unknown query parameter"});
  }
  if (!errors.empty()) return http::error_response(request, 400, "validation_error", "invalid query parameters", errors);
  if (pem) return HttpResponse{200, "application/x-pem-file", deps.checkpoints.public_key().pem(), {}};
  Poco::JSON::Object data(Poco::JSON_PRESERVE_KEY_ORDER);
  data.set("keyName", deps.checkpoints.key_name());
  data.set("algorithm", "Ed25519");
  data.set("publicKeyPem", deps.checkpoints.public_key().pem());
  return http::ok_response(request, 200, "the key checkpoints are signed with", stringify(data));
}

HttpResponse latest_checkpoints(AuditApiDeps& deps, const HttpRequest& request, int status, const std::string& message) {
  auto partitions = partitions_of(deps);
  if (!partitions) return store_error(request, partitions.error());
  Poco::JSON::Array list;
  for (int32_t p = 0; p < *partitions; ++p) {
    auto latest = deps.checkpoints.latest(p);
    if (!latest) return store_error(request, latest.error());
    if (*latest) list.add(checkpoint_json(**latest));
  }
  Poco::JSON::Object data;
  data.set("checkpoints", list);
  return http::ok_response(request, status, message, stringify(data));
}

HttpResponse list_checkpoints(AuditApiDeps& deps, const HttpRequest& request) {
  auto principal = auditor(deps, request);
  if (!principal) return principal.error();
  if (!request.query.empty()) {
    return http::error_response(request, 400, "validation_error", "invalid query parameters",
                                {{request.query.substr(0, request.query.find('=')), "unknown query parameter"}});
  }
  return latest_checkpoints(deps, request, 200, "the latest checkpoint of each partition");
}

HttpResponse publish_checkpoints(AuditApiDeps& deps, const HttpRequest& request) {
  auto principal = auditor(deps, request);
  if (!principal) return principal.error();
  auto published = deps.checkpoints.publish(false);
  if (!published) return store_error(request, published.error());
  return latest_checkpoints(deps, request, 201,
                            std::to_string(published->size()) + " partition(s) signed now; the others had not grown");
}

// A partition number from a path or query value, checked against the topic.
std::optional<int32_t> partition_from(AuditApiDeps& deps, const std::string& value, int32_t partitions) {
  auto parsed = parse_count(value);
  if (!parsed || *parsed >= static_cast<uint64_t>(partitions)) return std::nullopt;
  return static_cast<int32_t>(*parsed);
}

HttpResponse one_checkpoint(AuditApiDeps& deps, const HttpRequest& request) {
  auto principal = auditor(deps, request);
  if (!principal) return principal.error();
  auto partitions = partitions_of(deps);
  if (!partitions) return store_error(request, partitions.error());
  std::vector<FieldDetail> errors;
  auto partition = partition_from(deps, request.path_params.at("partition"), *partitions);
  if (!partition) errors.push_back({"partition", "must be 0 to " + std::to_string(*partitions - 1)});
  std::optional<uint64_t> tree_size;
  bool note = false;
  for (const auto& [name, value] : query_pairs(request.query, errors)) {
    if (name == "treeSize") {
      tree_size = parse_count(value);
      if (!tree_size) errors.push_back({"treeSize", "must be a count of events"});
    } else if (name == "format") {
      if (value == "note" || value == "json") note = value == "note";
      else errors.push_back({"format", "must be json or note"});
    } else {
      errors.push_back({name, "unknown query parameter"});
    }
  }
  if (!errors.empty()) return http::error_response(request, 400, "validation_error", "invalid request", errors);
  auto found = tree_size ? deps.checkpoints.at_size(*partition, *tree_size) : deps.checkpoints.latest(*partition);
  if (!found) return store_error(request, found.error());
  if (!*found) {
    return http::error_response(request, 404, "checkpoint_not_found",
                                tree_size ? "no checkpoint of partition " + std::to_string(*partition) +
                                                " was published at tree size " + std::to_string(*tree_size)
                                          : "no checkpoint of partition " + std::to_string(*partition) + " yet",
                                {{tree_size ? "treeSize" : "partition", "no checkpoint"}});
  }
  if (note) return HttpResponse{200, "text/plain; charset=utf-8", (*found)->text, {}};
  return http::ok_response(request, 200, "checkpoint", stringify(*checkpoint_json(**found)));
}

// The record at `offset` of the events topic, read back for a proof.
log::Result<log::StoredRecord> record_at(AuditApiDeps& deps, int32_t partition, int64_t offset) {
  auto reader = deps.log.open_reader(deps.checkpoints.events_topic(), partition, offset);
  if (!reader) return std::unexpected(reader.error());
  auto records = (*reader)->read(1, std::chrono::milliseconds(2000));
  if (!records) return std::unexpected(records.error());
  if (records->empty() || (*records)[0].offset != offset) {
    return log::fail(log::ErrorCode::invalid_argument, "no record at offset " + std::to_string(offset));
  }
  return std::move((*records)[0]);
}

HttpResponse inclusion_proof(AuditApiDeps& deps, const HttpRequest& request) {
  auto principal = auditor(deps, request);
  if (!principal) return principal.error();
  auto partitions = partitions_of(deps);
  if (!partitions) return store_error(request, partitions.error());
  std::vector<FieldDetail> errors;
  std::optional<std::string> tenant;
  std::optional<uint64_t> sequence, offset, tree_size;
  std::optional<int32_t> partition;
  for (const auto& [name, value] : query_pairs(request.query, errors)) {
    if (name == "tenant") {
      if (well_formed_id(value)) tenant = value;
      else errors.push_back({"tenant", "must be a tenant id"});
    } else if (name == "sequence") {
      sequence = parse_count(value);
      if (!sequence || *sequence == 0) errors.push_back({"sequence", "must be a sequence number from 1"});
    } else if (name == "partition") {
      partition = partition_from(deps, value, *partitions);
      if (!partition) errors.push_back({"partition", "must be 0 to " + std::to_string(*partitions - 1)});
    } else if (name == "offset") {
      offset = parse_count(value);
      if (!offset || *offset > static_cast<uint64_t>(INT64_MAX)) errors.push_back({"offset", "must be an offset"});
    } else if (name == "treeSize") {
      tree_size = parse_count(value);
      if (!tree_size || *tree_size == 0) errors.push_back({"treeSize", "must be a count of events from 1"});
    } else {
      errors.push_back({name, "unknown query parameter"});
    }
  }
  const bool by_tenant = tenant || sequence;
  const bool by_offset = partition || offset;
  if (errors.empty()) {
    if (by_tenant == by_offset) {
      errors.push_back({"tenant", "name the event by tenant and sequence, or by partition and offset"});
    } else if (by_tenant && (!tenant || !sequence)) {
      errors.push_back({tenant ? "sequence" : "tenant", "required with " + std::string(tenant ? "tenant" : "sequence")});
    } else if (by_offset && (!partition || !offset)) {
      errors.push_back({partition ? "offset" : "partition", "required with " + std::string(partition ? "partition" : "offset")});
    }
  }
  if (!errors.empty()) return http::error_response(request, 400, "validation_error", "invalid query parameters", errors);

  // Find the leaf, from whichever name the event was given by.
  std::optional<audit::LeafLocation> location;
  std::optional<log::StoredRecord> record;
  std::string named;
  if (by_tenant) {
    named = *tenant + " seq " + std::to_string(*sequence);
    if (auto denied = may_see_tenant(deps, request, *principal, *tenant, "query")) return *denied;
    auto found = deps.trees.locate(*tenant, *sequence);
    if (!found) return store_error(request, found.error());
    location = *found;
  } else {
    named = deps.checkpoints.events_topic() + "/" + std::to_string(*partition) + "@" + std::to_string(*offset);
    auto read = record_at(deps, *partition, static_cast<int64_t>(*offset));
    if (read) {
      auto envelope = log::open_envelope(read->value);
      if (envelope) {
        // The event's bytes are its tenant's: a tenant-bound auditor proves its own only.
        if (auto denied = may_see_tenant(deps, request, *principal, envelope->tenant_id(), "event")) return *denied;
        auto found = deps.trees.locate(envelope->tenant_id(), envelope->sequence());
        if (!found) return store_error(request, found.error());
        if (*found && (*found)->partition == *partition && (*found)->offset == read->offset) location = *found;
      }
      record = std::move(*read);
    } else if (read.error().code != log::ErrorCode::invalid_argument) {
      return store_error(request, read.error());
    }
    if (!principal->is_platform() && !record) {
      return http::error_response(request, 403, "forbidden", "a tenant's auditor proves its own events only");
    }
  }
  if (!location) {
    return http::error_response(request, 404, "event_not_found",
                                named + " is not an accepted event in the Merkle tree (not written, not yet "
                                        "indexed, or a writer claim, fenced or broken record)",
                                {{by_tenant ? "sequence" : "offset", "not an accepted event"}});
  }
  if (!record) {
    auto read = record_at(deps, location->partition, location->offset);
    if (!read) return store_error(request, read.error());
    record = std::move(*read);
  }
  const audit::Hash leaf = audit::leaf_hash(record->value);

  // Against the requested size, else the latest checkpoint that holds the leaf (so the
  // proof checks against a signed root at once), else the tree as it is now.
  std::optional<audit::PublishedCheckpoint> checkpoint;
  if (!tree_size) {
    auto latest = deps.checkpoints.latest(location->partition);
    if (!latest) return store_error(request, latest.error());
    if (*latest && (*latest)->checkpoint.tree_size > location->index) {
      checkpoint = **latest;
      tree_size = checkpoint->checkpoint.tree_size;
    } else {
      auto size = deps.trees.size(location->partition);
      if (!size) return store_error(request, size.error());
      tree_size = *size;
    }
  } else {
    auto at = deps.checkpoints.at_size(location->partition, *tree_size);
    if (!at) return store_error(request, at.error());
    if (*at) checkpoint = **at;
  }
  if (*tree_size <= location->index) {
    return http::error_response(request, 400, "validation_error",
                                "the event is leaf " + std::to_string(location->index) + ": a tree of " +
                                    std::to_string(*tree_size) + " events does not hold it",
                                {{"treeSize", "must be above " + std::to_string(location->index)}});
  }
  auto proof = deps.trees.inclusion_proof(location->partition, location->index, *tree_size);
  if (!proof) {
    if (proof.error().code == log::ErrorCode::invalid_argument) {
      return http::error_response(request, 400, "validation_error", proof.error().message,
                                  {{"treeSize", proof.error().message}});
    }
    return store_error(request, proof.error());
  }
  auto root = deps.trees.root(location->partition, *tree_size);
  if (!root) return store_error(request, root.error());
  auto stored_leaf = deps.trees.leaf(location->partition, location->index);
  if (!stored_leaf || *stored_leaf != leaf) {
    return http::error_response(request, 500, "internal_error",
                                "the stored tree's leaf differs from the event's bytes on the log; run `tenantry "
                                "audit verify` and rebuild the audit_merkle projection");
  }
  // The shape `tenantry audit check --proof` reads (keys as in the CLI's proof file).
  Poco::JSON::Object data(Poco::JSON_PRESERVE_KEY_ORDER);
  data.set("topic", deps.checkpoints.events_topic());
  data.set("partition", location->partition);
  data.set("offset", location->offset);
  data.set("leaf_index", location->index);
  data.set("tree_size", *tree_size);
  data.set("event", audit::base64_encode(record->value));
  data.set("leaf_hash", hex_of(leaf));
  data.set("root", hex_of(*root));
  data.set("proof", hashes_json(*proof));
  if (checkpoint) data.set("checkpoint", checkpoint->text);
  return http::ok_response(request, 200, "inclusion proof of " + named, stringify(data));
}

HttpResponse consistency_proof(AuditApiDeps& deps, const HttpRequest& request) {
  auto principal = auditor(deps, request);
  if (!principal) return principal.error();
  auto partitions = partitions_of(deps);
  if (!partitions) return store_error(request, partitions.error());
  std::vector<FieldDetail> errors;
  std::optional<int32_t> partition;
  std::optional<uint64_t> from, to;
  for (const auto& [name, value] : query_pairs(request.query, errors)) {
    if (name == "partition") {
      partition = partition_from(deps, value, *partitions);
      if (!partition) errors.push_back({"partition", "must be 0 to " + std::to_string(*partitions - 1)});
    } else if (name == "from") {
      from = parse_count(value);
      if (!from || *from == 0) errors.push_back({"from", "must be a tree size from 1"});
    } else if (name == "to") {
      to = parse_count(value);
      if (!to || *to == 0) errors.push_back({"to", "must be a tree size from 1"});
    } else {
      errors.push_back({name, "unknown query parameter"});
    }
  }
  if (errors.empty() && !partition) errors.push_back({"partition", "required"});
  if (errors.empty() && !from) errors.push_back({"from", "required: the older tree size"});
  if (!errors.empty()) return http::error_response(request, 400, "validation_error", "invalid query parameters", errors);
  auto size = deps.trees.size(*partition);
  if (!size) return store_error(request, size.error());
  if (!to) {
    auto latest = deps.checkpoints.latest(*partition);
    if (!latest) return store_error(request, latest.error());
    to = *latest && (*latest)->checkpoint.tree_size >= *from ? (*latest)->checkpoint.tree_size : *size;
  }
  if (*from > *to) errors.push_back({"from", "must be at most to (" + std::to_string(*to) + ")"});
  if (*to > *size) {
    errors.push_back({"to", "partition " + std::to_string(*partition) + " has " + std::to_string(*size) + " events"});
  }
  if (!errors.empty()) return http::error_response(request, 400, "validation_error", "invalid tree sizes", errors);
  auto proof = deps.trees.consistency_proof(*partition, *from, *to);
  if (!proof) return store_error(request, proof.error());
  auto old_root = deps.trees.root(*partition, *from);
  auto new_root = deps.trees.root(*partition, *to);
  if (!old_root) return store_error(request, old_root.error());
  if (!new_root) return store_error(request, new_root.error());
  Poco::JSON::Object data(Poco::JSON_PRESERVE_KEY_ORDER);
  data.set("topic", deps.checkpoints.events_topic());
  data.set("partition", *partition);
  data.set("old_size", *from);
  data.set("new_size", *to);
  data.set("old_root", hex_of(*old_root));
  data.set("new_root", hex_of(*new_root));
  data.set("proof", hashes_json(*proof));
  return http::ok_response(request, 200, "consistency proof", stringify(data));
}

std::optional<int64_t> time_from(const std::string& name, const std::string& value, std::vector<FieldDetail>& errors) {
  auto parsed = audit::parse_time_us(value);
  if (!parsed) errors.push_back({name, "must be RFC 3339 (2026-11-26T10:00:00Z) or microseconds since the epoch"});
  return parsed;
}

// The {id} of a tenant-scoped audit route, once the caller may see that tenant.
std::expected<std::string, HttpResponse> tenant_in_path(AuditApiDeps& deps, const HttpRequest& request) {
  auto principal = auditor(deps, request);
  if (!principal) return std::unexpected(principal.error());
  const std::string tenant_id = request.path_params.at("id");
  if (!well_formed_id(tenant_id)) {
    return std::unexpected(
        http::error_response(request, 400, "validation_error", "not a tenant id", {{"id", "must be a tenant id"}}));
  }
  if (auto denied = may_see_tenant(deps, request, *principal, tenant_id, "path")) return std::unexpected(*denied);
  return tenant_id;
}

HttpResponse tenant_state(AuditApiDeps& deps, const HttpRequest& request) {
  auto tenant = tenant_in_path(deps, request);
  if (!tenant) return tenant.error();
  const std::string& tenant_id = *tenant;
  std::vector<FieldDetail> errors;
  audit::StateQuery query;
  query.topic = deps.checkpoints.events_topic();
  query.tenant = tenant_id;
  for (const auto& [name, value] : query_pairs(request.query, errors)) {
    if (name == "asOf") {
      query.as_of_us = time_from(name, value, errors);
    } else if (name == "atSequence") {
      query.at_sequence = parse_count(value);
      if (!query.at_sequence) errors.push_back({"atSequence", "must be a sequence number"});
    } else {
      errors.push_back({name, "unknown query parameter"});
    }
  }
  if (errors.empty() && query.as_of_us.has_value() == query.at_sequence.has_value()) {
    errors.push_back({"asOf", "exactly one of asOf and atSequence"});
  }
  if (!errors.empty()) return http::error_response(request, 400, "validation_error", "invalid query parameters", errors);
  auto rebuilt = audit::rebuild_state(deps.log, query);
  if (!rebuilt) return store_error(request, rebuilt.error());
  if (!rebuilt->tenant_has_events) {
    return http::error_response(request, 404, "tenant_not_found", "the log holds no event of tenant " + tenant_id,
                                {{"id", "no such tenant"}});
  }
  return http::ok_response(request, 200, "state of " + tenant_id + " rebuilt from the log",
                           audit::state_json(query, *rebuilt));
}

HttpResponse tenant_events(AuditApiDeps& deps, const HttpRequest& request) {
  auto tenant = tenant_in_path(deps, request);
  if (!tenant) return tenant.error();
  const std::string& tenant_id = *tenant;
  std::vector<FieldDetail> errors;
  audit::EventFilter filter;
  bool csv = false;
  for (const auto& [name, value] : query_pairs(request.query, errors)) {
    if (name == "type") {
      filter.event_type = value;
    } else if (name == "actor") {
      filter.actor_id = value;
    } else if (name == "from") {
      filter.from_us = time_from(name, value, errors);
    } else if (name == "to") {
      filter.to_us = time_from(name, value, errors);
    } else if (name == "fromSequence" || name == "toSequence") {
      auto parsed = parse_count(value);
      if (!parsed) errors.push_back({name, "must be a sequence number"});
      (name == "fromSequence" ? filter.from_sequence : filter.to_sequence) = parsed;
    } else if (name == "format") {
      if (value == "csv" || value == "ndjson") csv = value == "csv";
      else errors.push_back({"format", "must be ndjson or csv"});
    } else {
      errors.push_back({name, "unknown query parameter"});
    }
  }
  if (!errors.empty()) return http::error_response(request, 400, "validation_error", "invalid query parameters", errors);
  HttpResponse response;
  response.status = 200;
  response.content_type = csv ? "text/csv; charset=utf-8" : "application/x-ndjson";
  response.headers["X-Request-ID"] = request.request_id;
  audit::ReadOptions options;
  options.topic = deps.checkpoints.events_topic();
  options.tenant = tenant_id;
  auto& log = deps.log;
  // Streamed as read: one read batch in memory whatever the tenant's history.
  response.stream = [&log, options, filter, csv](const http::BodyWriter& write) {
    if (csv && !write(audit::event_csv_header())) return false;
    bool client_gone = false;
    auto summary = audit::read_accepted(log, options, [&](const log::AcceptedRecord& accepted) {
      if (!filter.matches(accepted.envelope)) return true;
      const bool written = write(csv ? audit::event_csv_row(accepted) : audit::event_json(accepted) + "\n");
      client_gone = !written;
      return written;
    });
    return summary.has_value() && !client_gone;
  };
  return response;
}

// Who did what, oldest first, a page at a time: filters tenant, actor, outcome, from,
// to; limit and cursor. A tenant's own auditor sees its tenant's trail only.
HttpResponse activity(AuditApiDeps& deps, const HttpRequest& request) {
  auto principal = auditor(deps, request);
  if (!principal) return principal.error();
  std::vector<FieldDetail> errors;
  audit::ActivityQuery query;
  for (const auto& [name, value] : query_pairs(request.query, errors)) {
    if (name == "tenant") {
      if (well_formed_id(value)) query.tenant_id = value;
      else errors.push_back({"tenant", "must be a tenant id"});
    } else if (name == "actor") {
      if (!value.empty() && value.size() <= 256) query.actor_id = value;
      else errors.push_back({"actor", "must be 1 to 256 characters"});
    } else if (name == "outcome") {
      if (audit::known_outcome(value)) query.outcome = value;
      else errors.push_back({"outcome", "must be accepted, rejected, conflict, failed, denied or platform_access"});
    } else if (name == "from") {
      query.from_us = time_from(name, value, errors);
    } else if (name == "to") {
      query.to_us = time_from(name, value, errors);
    } else if (name == "limit") {
      auto limit = parse_count(value);
      if (limit && *limit >= 1 && *limit <= 1000) query.limit = *limit;
      else errors.push_back({"limit", "must be 1 to 1000"});
    } else if (name == "cursor") {
      query.cursor = value;
    } else {
      errors.push_back({name, "unknown query parameter"});
    }
  }
  if (!errors.empty()) return http::error_response(request, 400, "validation_error", "invalid query parameters", errors);
  if (!principal->is_platform()) {
    if (!query.tenant_id) query.tenant_id = principal->tenant_id;
    if (auto denied = may_see_tenant(deps, request, *principal, *query.tenant_id, "query")) return *denied;
  }
  if (deps.activity == nullptr) return http::error_response(request, 503, "unavailable", "no activity read model");
  auto page = deps.activity->query(query);
  if (!page) {
    if (page.error().code == log::ErrorCode::invalid_argument) {
      return http::error_response(request, 400, "validation_error", page.error().message, {{"cursor", "invalid"}});
    }
    return store_error(request, page.error());
  }
  std::string data = "{\"entries\":[";
  for (size_t i = 0; i < page->entries.size(); ++i) data += (i == 0 ? "" : ",") + page->entries[i];
  data += "],\"nextCursor\":";
  data += page->next_cursor.empty() ? "null" : "\"" + page->next_cursor + "\"";
  data += "}";
  return http::ok_response(request, 200, "activity", data);
}

}  // namespace

std::vector<http::Route> audit_routes(AuditApiDeps& deps) {
  const std::vector<std::string> auditors = {"auditor", "platform_admin"};
  const std::vector<std::string> own = {"auditor", "auditor (own tenant)", "platform_admin"};
  auto bind = [&deps](HttpResponse (*handler)(AuditApiDeps&, const HttpRequest&)) {
    return [&deps, handler](const HttpRequest& r) { return handler(deps, r); };
  };
  return {
      {"GET", "/v1/audit/public-key", bind(public_key), "The Ed25519 key checkpoints are signed with (format=pem)",
       auditors},
      {"GET", "/v1/audit/checkpoints", bind(list_checkpoints), "The latest signed checkpoint of each partition",
       auditors},
      {"POST", "/v1/audit/checkpoints", bind(publish_checkpoints),
       "Sign and publish a checkpoint of every partition that grew, now", auditors},
      {"GET", "/v1/audit/checkpoints/{partition}", bind(one_checkpoint),
       "A partition's latest checkpoint, or the one at treeSize (format=note: the signed note)", auditors},
      {"GET", "/v1/audit/proofs/inclusion", bind(inclusion_proof),
       "Inclusion proof of an event (tenant and sequence, or partition and offset; treeSize)", own},
      {"GET", "/v1/audit/proofs/consistency", bind(consistency_proof),
       "Consistency proof between two tree sizes of a partition (partition, from, to)", auditors},
      {"GET", "/v1/audit/activity", bind(activity),
       "Who did what: command outcomes and access decisions (tenant, actor, outcome, from, to, limit, cursor)", own},
      {"GET", "/v1/audit/tenants/{id}/state", bind(tenant_state),
       "A tenant's state rebuilt from the log (asOf or atSequence)", own},
      {"GET", "/v1/audit/tenants/{id}/events", bind(tenant_events),
       "A tenant's events decoded, streamed (type, actor, from, to, fromSequence, toSequence; format=ndjson|csv)",
       own},
  };
}

}  // namespace tenantry::gateway
