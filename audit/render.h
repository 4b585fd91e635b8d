// How the auditor's commands write what they read: times in RFC 3339 (UTC), an event
// as one NDJSON line or one CSV row (RFC 4180, spreadsheet formulas neutralised) with
// its payload decoded to protobuf JSON, a rebuilt tenant state as JSON. Secret
// settings' values never appear: they are written as "(set)".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tenantry::log {
struct AcceptedRecord;
}

namespace tenantry::audit {

struct RebuiltState;
struct StateQuery;

// "2026-11-26T10:00:00Z", "2026-11-26T11:00:00.5+01:00", or integer microseconds
// since the epoch; nullopt for anything else.
std::optional<int64_t> parse_time_us(std::string_view text);
// RFC 3339 in UTC, with a fraction only when there is one: "2026-11-26T10:00:00.250Z".
std::string format_time_us(int64_t time_us);

// An RFC 4180 cell; text a spreadsheet would run as a formula (=, +, -, @, tab, CR
// first) gets a leading apostrophe, since exports are opened in spreadsheets.
std::string csv_cell(std::string_view text);

// One JSON object, without the newline.
std::string event_json(const log::AcceptedRecord& accepted);
// The header row and one row per event, each ending in CRLF.
std::string event_csv_header();
std::string event_csv_row(const log::AcceptedRecord& accepted);

// One JSON object (compact).
std::string state_json(const StateQuery& query, const RebuiltState& rebuilt);

}  // namespace tenantry::audit
