#include "gateway/usage_api.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <google/protobuf/util/json_util.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <sstream>

#include "audit/json_writer.h"
#include "audit/render.h"
#include "tenantry/v1/usage.pb.h"

namespace tenantry::gateway {

namespace {

using domain::usage::Window;
using http::FieldDetail;
using http::HttpRequest;
using http::HttpResponse;
using http::auth::Principal;
using http::auth::Role;

constexpr int64_t kDayUs = int64_t{86400} * 1000000;

struct Refusal {
  size_t index = 0;
  std::string id;
  std::string field;
  std::string type;
  std::string message;
};

std::optional<std::string> string_member(const Poco::JSON::Object::Ptr& object, const std::string& name,
                                         std::string& error) {
  if (!object->has(name) || object->isNull(name)) return std::nullopt;
  const auto value = object->get(name);
  if (!value.isString()) {
    error = "must be a string";
    return std::nullopt;
  }
  return value.convert<std::string>();
}

// One CloudEvent of the batch, checked and turned into a UsageEvent, or why not.
std::expected<v1::UsageEvent, Refusal> read_event(UsageApiDeps& deps, const Principal& principal,
                                                  const Poco::Dynamic::Var& item, size_t index, int64_t now_us,
                                                  bool& mismatch_seen) {
  auto refuse = [index](std::string field, std::string type, std::string message, std::string id = {}) {
    return std::unexpected(Refusal{index, std::move(id), std::move(field), std::move(type), std::move(message)});
  };
  if (item.type() != typeid(Poco::JSON::Object::Ptr)) {
    return refuse("", "validation_error", "each event must be a JSON object (a CloudEvent)");
  }
  const auto object = item.extract<Poco::JSON::Object::Ptr>();
  v1::UsageEvent event;
  std::string error;
  for (const char* name : {"specversion", "id", "source", "type", "subject", "time", "tenantid"}) {
    error.clear();
    auto value = string_member(object, name, error);
    if (!error.empty()) return refuse(name, "validation_error", error);
    if (!value) continue;
    const std::string field = name;
    if (field == "specversion" && *value != "1.0") return refuse(field, "validation_error", "must be \"1.0\"");
    if (field == "id") event.set_id(*value);
    if (field == "source") event.set_source(*value);
    if (field == "type") event.set_type(*value);
    if (field == "subject") event.set_subject(*value);
    if (field == "time") {
      auto time = audit::parse_time_us(*value);
      if (!time) return refuse(field, "validation_error", "must be an RFC 3339 time", event.id());
      event.set_time_us(*time);
    }
    if (field == "tenantid") event.set_tenant_id(*value);
  }
  if (object->has("data") && !object->isNull("data")) {
    if (!object->isObject("data")) return refuse("data", "validation_error", "must be a JSON object", event.id());
    std::ostringstream text;
    Poco::JSON::Stringifier::stringify(object->getObject("data"), text);
    if (!google::protobuf::util::JsonStringToMessage(text.str(), event.mutable_data()).ok()) {
      return refuse("data", "validation_error", "cannot be read", event.id());
    }
  }
  // Whose usage it is.
  if (!principal.is_platform()) {
    if (!event.tenant_id().empty() && event.tenant_id() != principal.tenant_id) {
      mismatch_seen = true;
      return refuse("tenantid", "tenant_mismatch", "the principal records usage of its own tenant only", event.id());
    }
    event.set_tenant_id(principal.tenant_id);
  } else if (event.tenant_id().empty()) {
    return refuse("tenantid", "validation_error", "required: the tenant whose usage this is", event.id());
  } else if (!well_formed_id(event.tenant_id())) {
    return refuse("tenantid", "validation_error", "must be a tenant id", event.id());
  }
  if (auto wrong = domain::usage::check_event(event, now_us, deps.model.limits())) {
    return refuse(wrong->field, "validation_error", wrong->message, event.id());
  }
  std::shared_ptr<const TenantContext> context;
  if (deps.gateway.contexts != nullptr) {
    auto loaded = deps.gateway.contexts->get(event.tenant_id());
    if (!loaded) return refuse("tenantid", "unavailable", loaded.error().message, event.id());
    context = *loaded;
  } else {
    auto loaded = load_tenant_context(deps.gateway.directory, event.tenant_id());
    if (!loaded) return refuse("tenantid", "unavailable", loaded.error().message, event.id());
    context = *loaded;
  }
  if (!context || context->status == v1::TENANT_STATUS_DELETED) {
    return refuse("tenantid", "tenant_not_found", "no tenant " + event.tenant_id(), event.id());
  }
  // What the meters would refuse is refused now, where the client still hears of it.
  for (const auto& meter : deps.model.meters()) {
    auto contribution = domain::usage::contribution(meter, event);
    if (!contribution) {
      std::string field = "data";
      if (meter.value) {
        for (const auto& key : meter.value->keys) field += "." + key;
      }
      return refuse(field, "invalid_value", contribution.error(), event.id());
    }
  }
  event.set_ingested_at_us(now_us);
  return event;
}

HttpResponse ingest(UsageApiDeps& deps, const HttpRequest& request) {
  auto principal = authenticate(deps.gateway, request);
  if (!principal) return principal.error();
  const bool platform = principal->has(Role::platform_admin) || principal->has(Role::operator_);
  const bool own = !principal->is_platform() && (principal->has(Role::tenant_admin) || principal->has(Role::tenant_member));
  if (!(principal->is_platform() ? platform : own)) {
    return http::error_response(request, 403, "forbidden", "the principal's roles do not record usage");
  }
  Poco::Dynamic::Var parsed;
  try {
    parsed = Poco::JSON::Parser().parse(request.body);
  } catch (const std::exception& error) {
    return http::error_response(request, 400, "malformed_json", std::string("the body is not JSON: ") + error.what());
  }
  Poco::JSON::Array::Ptr events;
  if (parsed.type() == typeid(Poco::JSON::Array::Ptr)) {
    events = parsed.extract<Poco::JSON::Array::Ptr>();
  } else if (parsed.type() == typeid(Poco::JSON::Object::Ptr) &&
             parsed.extract<Poco::JSON::Object::Ptr>()->isArray("events")) {
    events = parsed.extract<Poco::JSON::Object::Ptr>()->getArray("events");
  } else {
    return http::error_response(request, 400, "validation_error",
                                "the body must be an array of CloudEvents or {\"events\": [...]}",
                                {{"events", "required: an array"}});
  }
  if (events->size() == 0) {
    return http::error_response(request, 400, "validation_error", "no events", {{"events", "at least one event"}});
  }
  if (events->size() > deps.max_batch_events) {
    return http::error_response(request, 413, "batch_too_large",
                                "at most " + std::to_string(deps.max_batch_events) + " events per batch",
                                {{"events", "at most " + std::to_string(deps.max_batch_events) + " events"}});
  }
  const int64_t now_us = deps.gateway.now_us();
  std::vector<Refusal> refused;
  log::AppendRequest append;
  bool mismatch_seen = false;
  for (size_t i = 0; i < events->size(); ++i) {
    auto event = read_event(deps, *principal, events->get(static_cast<unsigned>(i)), i, now_us, mismatch_seen);
    if (!event) {
      refused.push_back(std::move(event.error()));
      continue;
    }
    log::Record record;
    record.topic = deps.topic;
    record.key = event->tenant_id();
    record.value = event->SerializeAsString();
    append.records.push_back(std::move(record));
  }
  if (mismatch_seen) {
    audit_denial(deps.gateway, request, *principal, "", "body", "tenant_mismatch");
  }
  const size_t accepted = append.records.size();
  if (accepted > 0) {
    // All of the acceptable events or none: durable before the client hears "accepted".
    if (auto appended = deps.log.append(std::move(append)); !appended) {
      return http::error_response(request, 503, "unavailable", "usage not recorded: " + appended.error().message);
    }
  }
  if (accepted == 0) {
    std::vector<FieldDetail> details;
    for (const auto& r : refused) {
      details.push_back({"events[" + std::to_string(r.index) + "]" + (r.field.empty() ? "" : "." + r.field),
                         r.type + ": " + r.message});
    }
    return http::error_response(request, 400, "validation_error", "no event of the batch was accepted", details);
  }
  std::string data = "{\"accepted\":" + std::to_string(accepted) + ",\"rejected\":[";
  for (size_t i = 0; i < refused.size(); ++i) {
    audit::JsonObject one;
    one.number("index", static_cast<int64_t>(refused[i].index))
        .text("id", refused[i].id)
        .text("field", refused[i].field)
        .text("type", refused[i].type)
        .text("message", refused[i].message);
    data += (i == 0 ? "" : ",") + one.done();
  }
  data += "]}";
  return http::ok_response(request, 202,
                           std::to_string(accepted) + " accepted, " + std::to_string(refused.size()) + " rejected",
                           data);
}

std::string window_label(Window window, int64_t start) {
  if (window == Window::minute || window == Window::hour) return audit::format_time_us(start);
  const std::chrono::sys_days day{std::chrono::days{start >= 0 ? start / kDayUs : (start - kDayUs + 1) / kDayUs}};
  const std::chrono::year_month_day date{day};
  char text[16];
  if (window == Window::month) {
    std::snprintf(text, sizeof text, "%04d-%02u", static_cast<int>(date.year()), static_cast<unsigned>(date.month()));
  } else {
    std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                  static_cast<unsigned>(date.day()));
  }
  return text;
}

std::string number_text(double value) {
  char text[32];
  auto written = std::to_chars(text, text + sizeof text, value);
  return std::string(text, written.ptr);
}

std::string group_json(const std::string& group) {
  audit::JsonObject out;
  if (group.empty()) return "{}";
  std::string_view rest = group;
  while (true) {
    const auto end = rest.find('\x1f');
    const std::string_view part = rest.substr(0, end);
    const auto eq = part.find('=');
    out.text(part.substr(0, eq), eq == std::string_view::npos ? "" : part.substr(eq + 1));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return out.done();
}

// The usage of `tenant_id` ("" for platform totals) as the query parameters ask.
// The query parameters usage listings share: a meter, a time range and a format.
struct RangeParams {
  std::string meter;
  std::optional<int64_t> from, to;
  std::string format = "json";
  const domain::usage::MeterDefinition* definition = nullptr;
  int64_t from_us = 0, to_us = 0;
};

// Takes `name` if it is one of the shared parameters; false leaves it to the caller.
bool read_range_param(const std::string& name, const std::string& value, RangeParams& params,
                      std::vector<FieldDetail>& errors) {
  if (name == "meter") {
    params.meter = value;
  } else if (name == "from" || name == "to") {
    auto time = audit::parse_time_us(value);
    if (!time) errors.push_back({name, "must be RFC 3339 or microseconds since the epoch"});
    (name == "from" ? params.from : params.to) = time;
  } else if (name == "format") {
    if (value == "json" || value == "csv" || value == "ndjson") params.format = value;
    else errors.push_back({"format", "must be json, csv or ndjson"});
  } else {
    return false;
  }
  return true;
}

// The meter looked up and the range settled (default: the last 30 days), or the 400.
std::optional<HttpResponse> finish_range(UsageApiDeps& deps, const HttpRequest& request, RangeParams& params,
                                         std::vector<FieldDetail>& errors, bool transactions) {
  if (params.meter.empty() && errors.empty()) errors.push_back({"meter", "required"});
  params.definition = params.meter.empty() ? nullptr : deps.model.meter(params.meter);
  if (!params.meter.empty() && params.definition == nullptr) errors.push_back({"meter", "no meter named " + params.meter});
  if (transactions && params.definition != nullptr && !params.definition->transactions) {
    errors.push_back({"meter", "meter " + params.meter + " keeps no transactions"});
  }
  if (!errors.empty()) return http::error_response(request, 400, "validation_error", "invalid query parameters", errors);
  params.to_us = params.to.value_or(deps.gateway.now_us() + 1);
  params.from_us = params.from.value_or(params.to_us - 30 * kDayUs);
  if (params.from_us >= params.to_us) {
    return http::error_response(request, 400, "validation_error", "from must be before to", {{"from", "after to"}});
  }
  return std::nullopt;
}

HttpResponse usage_of(UsageApiDeps& deps, const HttpRequest& request, const std::string& tenant_id,
                      const TenantContext* context) {
  std::vector<FieldDetail> errors;
  projections::UsageQuery query;
  query.tenant_id = tenant_id;
  RangeParams params;
  for (const auto& [name, value] : query_pairs(request.query, errors)) {
    if (read_range_param(name, value, params, errors)) continue;
    if (name == "window") {
      if (auto window = domain::usage::window_from(value)) query.window = *window;
      else errors.push_back({"window", "must be minute, hour, day or month"});
    } else if (name == "groupBy") {
      if (value == "true" || value == "false") query.by_group = value == "true";
      else errors.push_back({"groupBy", "must be true or false"});
    } else {
      errors.push_back({name, "unknown query parameter"});
    }
  }
  if (auto refused = finish_range(deps, request, params, errors, false)) return *refused;
  const auto* meter = params.definition;
  const std::string& format = params.format;
  query.meter = params.meter;
  query.from_us = params.from_us;
  query.to_us = params.to_us;
  std::string zone = "UTC";
  if (context != nullptr) {
    query.from_offset_s = tenant_utc_offset(deps.zones, context, query.from_us);
    query.to_offset_s = tenant_utc_offset(deps.zones, context, query.to_us - 1);
    if (auto it = context->settings.find("general.timezone"); it != context->settings.end() && deps.zones.find(it->second)) {
      zone = it->second;
    }
  }
  auto result = deps.queries.query(query);
  if (!result) {
    if (result.error().code == log::ErrorCode::invalid_argument) {
      return http::error_response(request, 400, "validation_error", result.error().message, {{"from", result.error().message}});
    }
    return http::error_response(request, 503, "unavailable", result.error().message);
  }
  const UsageLag lag = deps.lag ? deps.lag() : UsageLag{};
  if (format != "json") {
    std::string body;
    if (format == "csv") body = "window_start,group,value\r\n";
    for (const auto& row : result->rows) {
      if (format == "csv") {
        std::string group = row.group;
        for (char& c : group) c = c == '\x1f' ? ';' : c;
        body += audit::csv_cell(window_label(query.window, row.window_start)) + "," + audit::csv_cell(group) + "," +
                number_text(row.value) + "\r\n";
      } else {
        audit::JsonObject line;
        line.text("window_start", window_label(query.window, row.window_start))
            .raw("group", group_json(row.group))
            .raw("value", number_text(row.value));
        body += line.done() + "\n";
      }
    }
    HttpResponse response{200, format == "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson", std::move(body), {}};
    response.headers["X-Request-ID"] = request.request_id;
    response.headers["X-Usage-Lag-Records"] = std::to_string(lag.records);
    return response;
  }
  std::string rows = "[";
  for (size_t i = 0; i < result->rows.size(); ++i) {
    const auto& row = result->rows[i];
    audit::JsonObject one;
    one.text("windowStart", window_label(query.window, row.window_start))
        .raw("group", group_json(row.group))
        .raw("value", number_text(row.value))
        .number("events", static_cast<int64_t>(row.aggregate.count));
    rows += (i == 0 ? "" : ",") + one.done();
  }
  rows += "]";
  audit::JsonObject lag_json;
  lag_json.number("records", lag.records).number("newestCountedUs", lag.newest_counted_us);
  audit::JsonObject data;
  if (tenant_id.empty()) data.raw("tenantId", "null");
  else data.text("tenantId", tenant_id);
  data.text("meter", meter->name)
      .text("aggregation", domain::usage::aggregation_name(meter->aggregation))
      .text("window", domain::usage::window_name(query.window))
      .text("timezone", zone)
      .text("from", audit::format_time_us(query.from_us))
      .text("to", audit::format_time_us(query.to_us))
      .raw("total", number_text(result->total))
      .raw("rows", rows)
      .raw("lag", lag_json.done());
  return http::ok_response(request, 200, "usage", data.done());
}

// Each transaction of a meter that keeps them, in time order: what the percentage
// charges of an invoice priced.
HttpResponse tenant_transactions(UsageApiDeps& deps, const HttpRequest& request) {
  auto access = access_tenant(deps.gateway, request, kPlatformReaders, OwnTenant::admin_or_member);
  if (!access) return access.error();
  std::vector<FieldDetail> errors;
  projections::TransactionQuery query;
  query.tenant_id = access->tenant_id;
  RangeParams params;
  for (const auto& [name, value] : query_pairs(request.query, errors)) {
    if (read_range_param(name, value, params, errors)) continue;
    if (name == "limit") {
      int64_t limit = 0;
      const auto parsed = std::from_chars(value.data(), value.data() + value.size(), limit);
      if (parsed.ec != std::errc() || parsed.ptr != value.data() + value.size() || limit < 1 || limit > 10000) {
        errors.push_back({"limit", "must be 1 to 10000"});
      } else {
        query.limit = static_cast<size_t>(limit);
      }
    } else if (name == "cursor") {
      query.after = value;
    } else {
      errors.push_back({name, "unknown query parameter"});
    }
  }
  if (auto refused = finish_range(deps, request, params, errors, true)) return *refused;
  const auto* meter = params.definition;
  const std::string& format = params.format;
  query.meter = params.meter;
  query.from_us = params.from_us;
  query.to_us = params.to_us;
  auto listed = deps.queries.transactions(query);
  if (!listed) {
    if (listed.error().code == log::ErrorCode::invalid_argument) {
      return http::error_response(request, 400, "validation_error", listed.error().message, {{"cursor", listed.error().message}});
    }
    return http::error_response(request, 503, "unavailable", listed.error().message);
  }
  const bool more = listed->size() == query.limit;
  if (format != "json") {
    std::string body = format == "csv" ? "time,amount_minor,event_id\r\n" : "";
    for (const auto& t : *listed) {
      if (format == "csv") {
        body += audit::csv_cell(audit::format_time_us(t.time_us)) + "," + std::to_string(t.amount_minor) + "," +
                audit::csv_cell(t.event_id) + "\r\n";
      } else {
        audit::JsonObject line;
        line.text("time", audit::format_time_us(t.time_us)).number("amountMinor", t.amount_minor).text("eventId", t.event_id);
        body += line.done() + "\n";
      }
    }
    HttpResponse response{200, format == "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson", std::move(body), {}};
    response.headers["X-Request-ID"] = request.request_id;
    if (more) response.headers["X-Next-Cursor"] = listed->back().cursor;
    return response;
  }
  std::string items = "[";
  for (size_t i = 0; i < listed->size(); ++i) {
    const auto& t = (*listed)[i];
    audit::JsonObject one;
    one.text("time", audit::format_time_us(t.time_us)).number("amountMinor", t.amount_minor).text("eventId", t.event_id);
    items += (i == 0 ? "" : ",") + one.done();
  }
  items += "]";
  audit::JsonObject data;
  data.text("tenantId", access->tenant_id)
      .text("meter", meter->name)
      .text("from", audit::format_time_us(query.from_us))
      .text("to", audit::format_time_us(query.to_us))
      .raw("transactions", items);
  if (more) data.text("nextCursor", listed->back().cursor);
  else data.raw("nextCursor", "null");
  return http::ok_response(request, 200, "usage transactions", data.done());
}

HttpResponse tenant_usage(UsageApiDeps& deps, const HttpRequest& request) {
  auto access = access_tenant(deps.gateway, request, kPlatformReaders, OwnTenant::admin_or_member);
  if (!access) return access.error();
  return usage_of(deps, request, access->tenant_id, access->context.get());
}

HttpResponse platform_totals(UsageApiDeps& deps, const HttpRequest& request) {
  auto principal = authenticate(deps.gateway, request);
  if (!principal) return principal.error();
  if (auto denied = authorize(request, *principal, kPlatformReaders, "", false)) return *denied;
  if (!principal->is_platform()) {
    return http::error_response(request, 403, "forbidden", "platform totals are for platform roles");
  }
  return usage_of(deps, request, "", nullptr);
}

HttpResponse list_meters(UsageApiDeps& deps, const HttpRequest& request) {
  auto principal = authenticate(deps.gateway, request);
  if (!principal) return principal.error();
  std::string list = "[";
  for (size_t i = 0; i < deps.model.meters().size(); ++i) {
    const auto& meter = deps.model.meters()[i];
    std::string group_by = "[";
    for (size_t g = 0; g < meter.group_by.size(); ++g) {
      group_by += (g == 0 ? "" : ",");
      audit::append_json_string(group_by, meter.group_by[g].text);
    }
    group_by += "]";
    audit::JsonObject one;
    one.text("name", meter.name)
        .text("eventType", meter.event_type)
        .text("aggregation", domain::usage::aggregation_name(meter.aggregation));
    if (meter.value) one.text("valueProperty", meter.value->text);
    else one.raw("valueProperty", "null");
    one.raw("groupBy", group_by).raw("transactions", meter.transactions ? "true" : "false");
    list += (i == 0 ? "" : ",") + one.done();
  }
  list += "]";
  return http::ok_response(request, 200, "meters", "{\"meters\":" + list + "}");
}

}  // namespace

int32_t tenant_utc_offset(clock::TimeZones& zones, const TenantContext* context, int64_t time_us) {
  if (context == nullptr) return 0;
  const auto it = context->settings.find("general.timezone");
  if (it == context->settings.end() || it->second.empty()) return 0;
  auto zone = zones.find(it->second);
  return zone ? zone->offset_at(time_us) : 0;
}

std::vector<http::Route> usage_routes(UsageApiDeps& deps) {
  auto bind = [&deps](HttpResponse (*handler)(UsageApiDeps&, const HttpRequest&)) {
    return [&deps, handler](const HttpRequest& r) { return handler(deps, r); };
  };
  const std::vector<std::string> own = {"platform_admin", "operator", "analyst", "auditor", "tenant_admin (own)",
                                        "tenant_member (own)"};
  std::vector<http::Route> routes = {
      {"POST", "/v1/usage", bind(ingest),
       "Record a batch of usage events (CloudEvents JSON; tenantid names the tenant for platform principals)",
       {"platform_admin", "operator", "tenant_admin (own)", "tenant_member (own)"}},
      {"GET", "/v1/usage/totals", bind(platform_totals),
       "Platform-wide usage of a meter (meter, window, from, to, groupBy, format=json|csv|ndjson)",
       {"platform_admin", "operator", "analyst", "auditor"}},
      {"GET", "/v1/meters", bind(list_meters), "The meters usage is aggregated by", {"any authenticated"}},
  };
  for (const char* prefix : {"/v1/tenants/{id}", "/v1/tenant", "/t/{slug}/v1/tenant"}) {
    routes.push_back({"GET", std::string(prefix) + "/usage", bind(tenant_usage),
                      "The tenant's usage of a meter (meter, window, from, to, groupBy, format=json|csv|ndjson)", own});
    routes.push_back({"GET", std::string(prefix) + "/usage/transactions", bind(tenant_transactions),
                      "Each transaction of a meter that keeps them, in time order (meter, from, to, limit, cursor, "
                      "format=json|csv|ndjson)",
                      own});
  }
  return routes;
}

}  // namespace tenantry::gateway
