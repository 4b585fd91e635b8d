#include "audit/render.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver_util.h>

#include <chrono>
#include <memory>
#include <cstdio>
#include <vector>

#include "audit/json_writer.h"
#include "audit/replay.h"
#include "domain/tenant/settings.h"
#include "domain/tenant/wire.h"

namespace tenantry::audit {

namespace {

constexpr std::string_view kMasked = "(set)";
constexpr const char* kTypeUrlPrefix = "type.googleapis.com";

struct DecodedPayload {
  std::string status;  // "ok", "unknown_type" or "unreadable"
  std::string json;    // the oneof member as protobuf JSON, when ok
};

void mask_secrets(google::protobuf::Map<std::string, std::string>& settings) {
  for (auto& [key, value] : settings) {
    if (domain::tenant::is_secret_setting(key)) value = std::string(kMasked);
  }
}

DecodedPayload decode_payload(const v1::EventEnvelope& envelope) {
  v1::TenantEvent event;
  switch (domain::tenant::event_from_wire(envelope.event_type(), envelope.payload(), event)) {
    case domain::tenant::WireRead::ok: break;
    case domain::tenant::WireRead::unknown_type: return {"unknown_type", ""};
    case domain::tenant::WireRead::unreadable: return {"unreadable", ""};
  }
  if (event.has_tenant_registered()) mask_secrets(*event.mutable_tenant_registered()->mutable_settings());
  if (event.has_tenant_configured()) mask_secrets(*event.mutable_tenant_configured()->mutable_set_settings());
  const auto* reflection = event.GetReflection();
  const auto* field =
      reflection->GetOneofFieldDescriptor(event, v1::TenantEvent::descriptor()->FindOneofByName("event"));
  if (field == nullptr) return {"unknown_type", ""};
  // Map keys in order, so that the same event always prints the same: protobuf's
  // JSON follows the binary serialisation, which orders maps only when deterministic.
  const auto& member = reflection->GetMessage(event, field);
  std::string binary;
  {
    google::protobuf::io::StringOutputStream stream(&binary);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    if (!member.SerializeToCodedStream(&coded)) return {"unreadable", ""};
  }
  static const std::unique_ptr<google::protobuf::util::TypeResolver> resolver(
      google::protobuf::util::NewTypeResolverForDescriptorPool(kTypeUrlPrefix,
                                                               google::protobuf::DescriptorPool::generated_pool()));
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  const std::string type_url = std::string(kTypeUrlPrefix) + "/" + member.GetDescriptor()->full_name();
  if (!google::protobuf::util::BinaryToJsonString(resolver.get(), type_url, binary, &json, options).ok()) {
    return {"unreadable", ""};
  }
  return {"ok", std::move(json)};
}

std::string actor_json(const v1::Actor& actor) {
  return JsonObject()
      .text("kind", actor.kind())
      .text("id", actor.id())
      .text("tenant_id", actor.tenant_id())
      .text("role", actor.role())
      .done();
}

}  // namespace

// Spreadsheets run a cell starting with one of these as a formula (CSV injection).
std::string csv_cell(std::string_view text) {
  std::string cell;
  if (!text.empty() && std::string_view("=+-@\t\r").find(text.front()) != std::string_view::npos) cell += '\'';
  cell += text;
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string quoted = "\"";
  for (const char c : cell) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

namespace {

bool parse_digits(std::string_view text, size_t at, size_t count, int& out) {
  if (at + count > text.size()) return false;
  out = 0;
  for (size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

}  // namespace

std::optional<int64_t> parse_time_us(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text.find_first_not_of("0123456789") == std::string_view::npos) {
    if (text.size() > 18) return std::nullopt;  // beyond year 33658: not a time
    return std::stoll(std::string(text));
  }
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (text.size() < 20 || !parse_digits(text, 0, 4, year) || text[4] != '-' || !parse_digits(text, 5, 2, month) ||
      text[7] != '-' || !parse_digits(text, 8, 2, day) || (text[10] != 'T' && text[10] != 't') ||
      !parse_digits(text, 11, 2, hour) || text[13] != ':' || !parse_digits(text, 14, 2, minute) ||
      text[16] != ':' || !parse_digits(text, 17, 2, second)) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                                         std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok() || hour > 23 || minute > 59 || second > 59) return std::nullopt;
  size_t at = 19;
  int64_t fraction_us = 0;
  if (text[at] == '.') {
    ++at;
    const size_t start = at;
    int64_t scale = 100000;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      fraction_us += (text[at] - '0') * scale;  // digits past microseconds are dropped
      scale /= 10;
      ++at;
    }
    if (at == start) return std::nullopt;
  }
  int64_t offset_s = 0;
  const std::string_view zone = text.substr(at);
  if (zone == "Z" || zone == "z") {
    offset_s = 0;
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    int offset_hours = 0, offset_minutes = 0;
    if (!parse_digits(zone, 1, 2, offset_hours) || !parse_digits(zone, 4, 2, offset_minutes) || offset_hours > 23 ||
        offset_minutes > 59) {
      return std::nullopt;
    }
    offset_s = (offset_hours * 3600 + offset_minutes * 60) * (zone[0] == '-' ? -1 : 1);
  } else {
    return std::nullopt;
  }
  const int64_t days = std::chrono::sys_days(date).time_since_epoch().count();
  const int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_s;
  return seconds * 1'000'000 + fraction_us;
}

std::string format_time_us(int64_t time_us) {
  using namespace std::chrono;
  const sys_time<microseconds> time{microseconds(time_us)};
  const auto day = floor<days>(time);
  const year_month_day date{day};
  const hh_mm_ss clock{time - day};
  char text[48];
  int length = std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02lld:%02lld:%02lld", static_cast<int>(date.year()),
                             static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                             static_cast<long long>(clock.hours().count()),
                             static_cast<long long>(clock.minutes().count()),
                             static_cast<long long>(clock.seconds().count()));
  if (const auto fraction = clock.subseconds().count(); fraction != 0) {
    int64_t digits = fraction;
    int width = 6;
    while (digits % 10 == 0) {
      digits /= 10;
      --width;
    }
    length += std::snprintf(text + length, sizeof text - static_cast<size_t>(length), ".%0*lld", width,
                            static_cast<long long>(digits));
  }
  return std::string(text, static_cast<size_t>(length)) + "Z";
}

std::string event_json(const log::AcceptedRecord& accepted) {
  const auto& envelope = accepted.envelope;
  const DecodedPayload payload = decode_payload(envelope);
  return JsonObject()
      .text("event_id", envelope.event_id())
      .text("tenant_id", envelope.tenant_id())
      .unsigned_number("sequence", envelope.sequence())
      .text("event_type", envelope.event_type())
      .unsigned_number("schema_version", envelope.schema_version())
      .text("occurred_at", format_time_us(envelope.occurred_at_us()))
      .number("occurred_at_us", envelope.occurred_at_us())
      .raw("actor", actor_json(envelope.actor()))
      .text("command_id", envelope.command_id())
      .text("correlation_id", envelope.correlation_id())
      .text("causation_id", envelope.causation_id())
      .unsigned_number("writer_epoch", envelope.writer_epoch())
      .text("topic", accepted.record.topic)
      .number("partition", accepted.record.partition)
      .number("offset", accepted.record.offset)
      .text("payload_status", payload.status)
      .raw("payload", payload.status == "ok" ? payload.json : "null")
      .done();
}

std::string event_csv_header() {
  return "event_id,tenant_id,sequence,event_type,occurred_at,occurred_at_us,actor_kind,actor_id,actor_tenant_id,"
         "actor_role,command_id,correlation_id,writer_epoch,topic,partition,offset,payload_status,payload\r\n";
}

std::string event_csv_row(const log::AcceptedRecord& accepted) {
  const auto& envelope = accepted.envelope;
  const DecodedPayload payload = decode_payload(envelope);
  const std::vector<std::string> cells = {
      csv_cell(envelope.event_id()),
      csv_cell(envelope.tenant_id()),
      std::to_string(envelope.sequence()),
      csv_cell(envelope.event_type()),
      format_time_us(envelope.occurred_at_us()),
      std::to_string(envelope.occurred_at_us()),
      csv_cell(envelope.actor().kind()),
      csv_cell(envelope.actor().id()),
      csv_cell(envelope.actor().tenant_id()),
      csv_cell(envelope.actor().role()),
      csv_cell(envelope.command_id()),
      csv_cell(envelope.correlation_id()),
      std::to_string(envelope.writer_epoch()),
      csv_cell(accepted.record.topic),
      std::to_string(accepted.record.partition),
      std::to_string(accepted.record.offset),
      payload.status,
      csv_cell(payload.json),
  };
  std::string row;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i != 0) row += ',';
    row += cells[i];
  }
  row += "\r\n";
  return row;
}

std::string state_json(const StateQuery& query, const RebuiltState& rebuilt) {
  const auto& state = rebuilt.state;
  JsonObject as_of;
  if (query.at_sequence) as_of.unsigned_number("at_sequence", *query.at_sequence);
  if (query.as_of_us) as_of.text("as_of", format_time_us(*query.as_of_us)).number("as_of_us", *query.as_of_us);

  JsonObject settings;
  for (const auto& [key, value] : domain::tenant::with_defaults(state.settings)) {
    settings.text(key, domain::tenant::is_secret_setting(key) ? kMasked : std::string_view(value));
  }
  std::string domains = "[";
  for (const auto& [name, domain] : state.custom_domains) {
    if (domains.size() > 1) domains += ',';
    domains += JsonObject().text("domain", name).boolean("verified", domain.verified).done();
  }
  domains += ']';

  std::string tier = v1::IsolationTier_Name(state.isolation_tier);
  if (tier.starts_with("ISOLATION_TIER_")) tier = tier.substr(15);
  for (char& c : tier) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));

  const auto& last = rebuilt.last_event;
  JsonObject out;
  out.text("tenant_id", query.tenant)
      .raw("as_of", as_of.done())
      .text("status", domain::tenant::status_name(state.status));
  if (!state.suspension_reason.empty()) out.text("suspension_reason", state.suspension_reason);
  if (state.deletion_due_at_us != 0) out.text("deletion_due_at", format_time_us(state.deletion_due_at_us));
  out.text("slug", state.slug)
      .text("display_name", state.display_name)
      .text("plan", state.plan)
      .text("isolation_tier", tier)
      .text("region", state.region)
      .raw("admin_contact",
           JsonObject().text("name", state.admin_contact.name).text("email", state.admin_contact.email).done())
      .raw("settings", settings.done())
      .raw("custom_domains", domains);
  if (!state.cloned_from.tenant_id.empty()) out.text("cloned_from_tenant", state.cloned_from.tenant_id);
  if (!state.cloned_from.template_name.empty()) out.text("cloned_from_template", state.cloned_from.template_name);
  out.unsigned_number("version", state.version)
      .text("created_at", format_time_us(state.created_at_us))
      .number("created_at_us", state.created_at_us)
      .raw("last_event", JsonObject()
                             .unsigned_number("sequence", last.sequence())
                             .text("event_type", last.event_type())
                             .text("event_id", last.event_id())
                             .text("occurred_at", format_time_us(last.occurred_at_us()))
                             .number("occurred_at_us", last.occurred_at_us())
                             .raw("actor", actor_json(last.actor()))
                             .text("command_id", last.command_id())
                             .done())
      .number("events_applied", rebuilt.events_applied)
      .number("undecoded_events", rebuilt.undecoded_events);
  return out.done();
}

}  // namespace tenantry::audit
