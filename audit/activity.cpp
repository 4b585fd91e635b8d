#include "audit/activity.h"

#include <limits>

#include "audit/json_writer.h"
#include "audit/render.h"
#include "connectors/log/history_rules.h"
#include "connectors/store/key_codec.h"
#include "tenantry/v1/audit.pb.h"
#include "tenantry/v1/command.pb.h"

namespace tenantry::audit {

namespace {

using store::get_be;
using store::put_be;
using store::sortable;

// A page never reads more than this many keys, however selective its filters: the
// caller gets a cursor to go on from instead.
constexpr size_t kMaxScannedPerPage = 50000;
constexpr size_t kMaxPage = 1000;

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::optional<std::string> unhex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < text.size(); i += 2) {
    const int high = nibble(text[i]);
    const int low = nibble(text[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high << 4 | low));
  }
  return out;
}

const char* reply_outcome(v1::CommandReply::Status status) {
  switch (status) {
    case v1::CommandReply::STATUS_ACCEPTED: return "accepted";
    case v1::CommandReply::STATUS_REJECTED: return "rejected";
    case v1::CommandReply::STATUS_CONFLICT: return "conflict";
    default: return "failed";
  }
}

struct Entry {
  int64_t time_us = 0;
  std::string outcome;
  std::string tenant_id;
  std::string actor_id;
  std::string json;
};

// outcome, actor and tenant ahead of the JSON, so that filters need no parsing.
std::string encode(const Entry& entry) {
  std::string value = entry.outcome;
  value += '\0';
  value += entry.actor_id;
  value += '\0';
  value += entry.tenant_id;
  value += '\0';
  value += entry.json;
  return value;
}

struct Decoded {
  std::string_view outcome, actor_id, tenant_id, json;
};

std::optional<Decoded> decode(std::string_view value) {
  Decoded out;
  std::string_view* parts[] = {&out.outcome, &out.actor_id, &out.tenant_id};
  for (auto* part : parts) {
    const auto end = value.find('\0');
    if (end == std::string_view::npos) return std::nullopt;
    *part = value.substr(0, end);
    value.remove_prefix(end + 1);
  }
  out.json = value;
  return out;
}

std::string source_of(const log::StoredRecord& record, char tag) {
  std::string source(1, tag);
  put_be(source, static_cast<uint32_t>(record.partition), 4);
  put_be(source, static_cast<uint64_t>(record.offset), 8);
  return source;
}

std::optional<Entry> from_reply(const log::StoredRecord& record) {
  if (record.header(log::kKindHeader) != nullptr) return std::nullopt;  // a writer claim
  v1::CommandReply reply;
  if (!reply.ParseFromString(record.value) || reply.command_id().empty()) return std::nullopt;
  Entry entry;
  entry.time_us = reply.replied_at_us();
  entry.outcome = reply_outcome(reply.status());
  entry.tenant_id = reply.tenant_id();
  entry.actor_id = reply.actor().id();
  JsonObject actor;
  actor.text("kind", reply.actor().kind()).text("id", reply.actor().id());
  actor.text("tenant_id", reply.actor().tenant_id()).text("role", reply.actor().role());
  JsonObject json;
  json.text("time", format_time_us(entry.time_us))
      .number("time_us", entry.time_us)
      .text("outcome", entry.outcome)
      .text("tenant_id", entry.tenant_id)
      .raw("actor", actor.done())
      .text("action", reply.command_type())
      .text("command_id", reply.command_id())
      .unsigned_number("sequence", reply.resulting_sequence());
  std::string detail = reply.error_type();
  if (!reply.message().empty()) detail += (detail.empty() ? "" : ": ") + reply.message();
  json.text("detail", detail)
      .text("source", record.topic + "/" + std::to_string(record.partition) + "@" + std::to_string(record.offset));
  entry.json = json.done();
  return entry;
}

std::optional<Entry> from_access(const log::StoredRecord& record) {
  v1::AccessRecord access;
  if (!access.ParseFromString(record.value)) return std::nullopt;
  Entry entry;
  entry.time_us = access.occurred_at_us();
  switch (access.outcome()) {
    case v1::ACCESS_OUTCOME_DENIED: entry.outcome = "denied"; break;
    case v1::ACCESS_OUTCOME_PLATFORM_ACTING: entry.outcome = "platform_access"; break;
    default: return std::nullopt;
  }
  entry.tenant_id = access.target_tenant_id();
  entry.actor_id = access.subject();
  std::string roles;
  for (const auto& role : access.roles()) roles += (roles.empty() ? "" : ",") + role;
  JsonObject actor;
  actor.text("kind", "principal").text("id", access.subject()).text("tenant_id", access.principal_tenant_id());
  actor.text("role", roles).text("credential", access.credential()).text("key_id", access.key_id());
  JsonObject json;
  json.text("time", format_time_us(entry.time_us))
      .number("time_us", entry.time_us)
      .text("outcome", entry.outcome)
      .text("tenant_id", entry.tenant_id)
      .raw("actor", actor.done())
      .text("action", access.method() + " " + access.path())
      .text("request_id", access.request_id())
      .text("resolved_by", access.resolved_by())
      .text("detail", access.reason())
      .text("source", record.topic + "/" + std::to_string(record.partition) + "@" + std::to_string(record.offset));
  entry.json = json.done();
  return entry;
}

std::string time_key(char index, const std::string& name, int64_t time_us, const std::string& source) {
  std::string key(1, index);
  if (index != 'a') {
    key += name;
    key += '\0';
  }
  put_be(key, sortable(time_us), 8);
  key += source;
  return key;
}

}  // namespace

bool known_outcome(const std::string& outcome) {
  for (const char* name : {"accepted", "rejected", "conflict", "failed", "denied", "platform_access"}) {
    if (outcome == name) return true;
  }
  return false;
}

log::Result<void> ActivityModel::apply(const log::AcceptedRecord& accepted, store::StoreBatch& batch) {
  const auto& record = accepted.record;
  std::optional<Entry> entry;
  char tag = 0;
  if (record.topic == replies_topic_) {
    entry = from_reply(record);
    tag = 'r';
  } else if (record.topic == audit_topic_) {
    entry = from_access(record);
    tag = 'x';
  }
  if (!entry) return {};  // not an outcome (a claim, another kind of record)
  const std::string source = source_of(record, tag);
  const std::string value = encode(*entry);
  batch.put(kActivityFamily, time_key('a', "", entry->time_us, source), value);
  if (!entry->tenant_id.empty()) batch.put(kActivityFamily, time_key('t', entry->tenant_id, entry->time_us, source), value);
  if (!entry->actor_id.empty()) batch.put(kActivityFamily, time_key('u', entry->actor_id, entry->time_us, source), value);
  return {};
}

log::Result<ActivityPage> ActivityLog::query(const ActivityQuery& query) {
  // The narrowest index the query allows: an actor's, a tenant's, else everything.
  std::string prefix(1, 'a');
  if (query.actor_id) prefix = "u" + *query.actor_id + '\0';
  else if (query.tenant_id) prefix = "t" + *query.tenant_id + '\0';
  std::string start = prefix;
  if (query.from_us) put_be(start, sortable(*query.from_us), 8);
  if (!query.cursor.empty()) {
    auto decoded = unhex(query.cursor);
    if (!decoded || !decoded->starts_with(prefix)) {
      return log::fail(log::ErrorCode::invalid_argument, "the cursor is not one of this query's");
    }
    start = std::move(*decoded);
  }
  const size_t limit = std::clamp<size_t>(query.limit, 1, kMaxPage);
  ActivityPage page;
  size_t scanned = 0;
  std::string last_key;
  bool more = false;
  auto scanned_ok = store_.scan(
      kActivityFamily, prefix, start, std::numeric_limits<size_t>::max(),
      [&](std::string_view key, std::string_view value) {
        if (page.entries.size() == limit || scanned == kMaxScannedPerPage) {
          more = true;
          return false;
        }
        ++scanned;
        last_key.assign(key);
        if (key.size() < prefix.size() + 8) return true;
        const int64_t time_us = store::unsortable(get_be(key, prefix.size()));
        if (query.to_us && time_us > *query.to_us) return false;
        auto entry = decode(value);
        if (!entry) return true;
        if (query.outcome && entry->outcome != *query.outcome) return true;
        if (query.tenant_id && entry->tenant_id != *query.tenant_id) return true;
        if (query.actor_id && entry->actor_id != *query.actor_id) return true;
        page.entries.emplace_back(entry->json);
        return true;
      });
  if (!scanned_ok) return std::unexpected(scanned_ok.error());
  if (more) {
    last_key.push_back('\0');  // the least key after the last one read
    page.next_cursor = hex(last_key);
  }
  return page;
}

}  // namespace tenantry::audit
