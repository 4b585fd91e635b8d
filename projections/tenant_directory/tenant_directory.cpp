// Key layout of the "tenant_directory" store family. Every key starts with a fixed
// kind, then the tenant id or the indexed value, so each query reads one contiguous
// range that holds only what it asks for.
//
//   tenant/<id>                                   -> TenantDirectoryEntry
//   slug/<slug><id>                               -> ""   (slug lookup; any status)
//   domain.verified/<domain><id>                  -> ""   (verified custom domains)
//   domain.claimed/<domain><id>                   -> ""   (added, not yet verified)
//   search/<folded slug or display name><id>      -> ""   (prefix search)
//   list.created/<created><id>                    -> ""   (every tenant, creation order)
//   list.status/<status><created><id>             -> ""
//   list.plan/<plan><created><id>                 -> ""
//   list.tier/<isolation tier><created><id>       -> ""
//   list.region/<region><created><id>             -> ""
//   ops/<id><sequence, 20 zero-padded digits>     -> TenantOperation
//
// <text> is the text with each NUL byte written as 00 FF and a 00 01 terminator: no
// value runs into the next, a shorter value sorts before its extensions, and a prefix
// of the text is a prefix of the key (what search scans). <created> is created_at_us
// as 8 big-endian bytes with the sign bit flipped, so keys sort by time. Status and
// tier are their lowercase enum names ("active", "dedicated").
//
// Index keys are a pure function of the entry (index_keys): applying an event writes
// the new entry, erases the keys the old entry had and the new one lacks, and puts the
// new ones, all in the runner's batch, so indexes follow every change of slug, domain,
// plan or status in the same write. A deleted tenant keeps its entry and list keys;
// its domains are gone from the entry, so their keys go too.
#include "projections/tenant_directory/tenant_directory.h"

#include <algorithm>
#include <set>

#include "domain/tenant/tenant.h"
#include "domain/tenant/wire.h"
#include "projections/projection_runner.h"
#include "tenantry/v1/tenant.pb.h"

namespace tenantry::projections {

namespace {

namespace pb = google::protobuf;
using v1::TenantDirectoryEntry;
using v1::TenantOperation;

const std::string kFamily = kTenantDirectoryFamily;

constexpr std::string_view kEntryKind = "tenant/";
constexpr std::string_view kSlugKind = "slug/";
constexpr std::string_view kDomainVerifiedKind = "domain.verified/";
constexpr std::string_view kDomainClaimedKind = "domain.claimed/";
constexpr std::string_view kSearchKind = "search/";
constexpr std::string_view kListCreatedKind = "list.created/";
constexpr std::string_view kListStatusKind = "list.status/";
constexpr std::string_view kListPlanKind = "list.plan/";
constexpr std::string_view kListTierKind = "list.tier/";
constexpr std::string_view kListRegionKind = "list.region/";
constexpr std::string_view kOperationKind = "ops/";

constexpr size_t kTimeBytes = 8;
constexpr size_t kSequenceDigits = 20;  // every uint64 fits
constexpr size_t kSearchPrefixMaxBytes = 256;

// ---- Key pieces --------------------------------------------------------------------

// The text without its terminator: what a prefix scan over a component uses.
std::string escaped(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  for (char c : text) {
    out.push_back(c);
    if (c == '\0') out.push_back('\xff');
  }
  return out;
}

std::string component(std::string_view text) { return escaped(text).append("\0\x01", 2); }

// Consumes one component from the front of `rest`; nullopt when it is not one.
std::optional<std::string> read_component(std::string_view& rest) {
  std::string text;
  for (size_t i = 0; i + 1 < rest.size(); ++i) {
    if (rest[i] != '\0') {
      text.push_back(rest[i]);
      continue;
    }
    if (rest[i + 1] == '\x01') {
      rest.remove_prefix(i + 2);
      return text;
    }
    if (rest[i + 1] != '\xff') return std::nullopt;
    text.push_back('\0');
    ++i;
  }
  return std::nullopt;
}

std::string time_bytes(int64_t time_us) {
  const uint64_t biased = static_cast<uint64_t>(time_us) ^ (uint64_t{1} << 63);
  std::string out(kTimeBytes, '\0');
  for (size_t i = 0; i < kTimeBytes; ++i) out[i] = static_cast<char>((biased >> (56 - 8 * i)) & 0xff);
  return out;
}

std::optional<int64_t> read_time(std::string_view& rest) {
  if (rest.size() < kTimeBytes) return std::nullopt;
  uint64_t biased = 0;
  for (size_t i = 0; i < kTimeBytes; ++i) biased = (biased << 8) | static_cast<unsigned char>(rest[i]);
  rest.remove_prefix(kTimeBytes);
  return static_cast<int64_t>(biased ^ (uint64_t{1} << 63));
}

std::string sequence_digits(uint64_t sequence) {
  std::string digits = std::to_string(sequence);
  return std::string(kSequenceDigits - digits.size(), '0') + digits;
}

std::string key(std::string_view kind, std::string_view rest) { return std::string(kind).append(rest); }
std::string entry_key(std::string_view tenant_id) { return key(kEntryKind, component(tenant_id)); }
std::string operations_prefix(std::string_view tenant_id) { return key(kOperationKind, component(tenant_id)); }

// ---- Names and text ------------------------------------------------------------------

// ASCII only: slugs and domains are ASCII, and display names are matched as typed
// beyond that rather than by a locale's rules.
std::string fold(std::string_view text) {
  std::string out(text);
  std::ranges::transform(out, out.begin(), [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; });
  return out;
}

std::string normalise_domain(std::string_view domain) {
  if (domain.ends_with('.')) domain.remove_suffix(1);
  return fold(domain);
}

// "TENANT_STATUS_PENDING_DELETION" -> "pending_deletion"; a number the schema does not
// name (a newer writer) stays a number rather than being mistaken for another value.
std::string enum_text(const pb::EnumDescriptor* type, int value, std::string_view prefix) {
  const auto* named = type->FindValueByNumber(value);
  if (named == nullptr) return std::to_string(value);
  std::string_view name = named->name();
  if (name.starts_with(prefix)) name.remove_prefix(prefix.size());
  return fold(name);
}

std::string status_text(v1::TenantStatus status) {
  return enum_text(v1::TenantStatus_descriptor(), status, "TENANT_STATUS_");
}

std::string tier_text(v1::IsolationTier tier) {
  return enum_text(v1::IsolationTier_descriptor(), tier, "ISOLATION_TIER_");
}

std::vector<std::string> search_terms(const TenantDirectoryEntry& entry) {
  std::vector<std::string> terms = {fold(entry.slug()), fold(entry.display_name())};
  std::ranges::sort(terms);
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  return terms;
}

// ---- Index keys ----------------------------------------------------------------------

std::set<std::string> index_keys(const TenantDirectoryEntry& entry) {
  const std::string id = component(entry.tenant_id());
  const std::string order = time_bytes(entry.created_at_us()) + id;
  std::set<std::string> keys;
  keys.insert(key(kSlugKind, component(fold(entry.slug())) + id));
  for (const auto& term : search_terms(entry)) keys.insert(key(kSearchKind, component(term) + id));
  for (const auto& domain : entry.custom_domains()) {
    keys.insert(key(domain.verified() ? kDomainVerifiedKind : kDomainClaimedKind, component(domain.domain()) + id));
  }
  keys.insert(key(kListCreatedKind, order));
  keys.insert(key(kListStatusKind, component(status_text(entry.status())) + order));
  keys.insert(key(kListPlanKind, component(entry.plan()) + order));
  keys.insert(key(kListTierKind, component(tier_text(entry.isolation_tier())) + order));
  keys.insert(key(kListRegionKind, component(entry.region()) + order));
  return keys;
}

// ---- Events to entries ------------------------------------------------------------------

struct DecodedEvent {
  std::optional<v1::TenantEvent> event;  // empty: a type the directory does not know, or unreadable
  bool unreadable = false;
};

// As the write side maps types (domain/tenant/wire.h), so a new event type needs no
// change here to be read (its effect still comes from the domain's evolve).
DecodedEvent decode_event(const v1::EventEnvelope& envelope) {
  v1::TenantEvent event;
  switch (domain::tenant::event_from_wire(envelope.event_type(), envelope.payload(), event)) {
    case domain::tenant::WireRead::ok: return {std::move(event), false};
    case domain::tenant::WireRead::unreadable: return {std::nullopt, true};
    case domain::tenant::WireRead::unknown_type: break;
  }
  return {};
}

domain::tenant::TenantState to_state(const TenantDirectoryEntry& entry) {
  domain::tenant::TenantState state = domain::tenant::initial_state();
  state.exists = true;
  state.tenant_id = entry.tenant_id();
  state.slug = entry.slug();
  state.display_name = entry.display_name();
  state.plan = entry.plan();
  state.isolation_tier = entry.isolation_tier();
  state.region = entry.region();
  state.status = entry.status();
  state.suspension_reason = entry.suspension_reason();
  state.deletion_due_at_us = entry.deletion_due_at_us();
  for (const auto& domain : entry.custom_domains()) {
    state.custom_domains[domain.domain()] = {domain.verification_token(), domain.verified()};
  }
  state.settings = domain::tenant::Settings(entry.settings().begin(), entry.settings().end());
  state.admin_contact = {entry.admin_contact().name(), entry.admin_contact().email()};
  state.version = entry.version();
  state.created_at_us = entry.created_at_us();
  state.cloned_from = {entry.cloned_from().tenant_id(), entry.cloned_from().template_name()};
  return state;
}

const v1::DirectoryDomain* find_domain(const TenantDirectoryEntry& entry, std::string_view name) {
  for (const auto& domain : entry.custom_domains()) {
    if (domain.domain() == name) return &domain;
  }
  return nullptr;
}

// The entry after the event: the fields from the domain's own evolve (so the directory
// and the aggregate can never disagree on a status rule), the times from the envelope.
TenantDirectoryEntry to_entry(const domain::tenant::TenantState& state, const std::optional<TenantDirectoryEntry>& before,
                              const v1::EventEnvelope& envelope) {
  const int64_t now_us = envelope.occurred_at_us();
  TenantDirectoryEntry entry;
  entry.set_tenant_id(envelope.tenant_id());  // the record key, which every index uses
  entry.set_slug(state.slug);
  entry.set_display_name(state.display_name);
  entry.set_plan(state.plan);
  entry.set_isolation_tier(state.isolation_tier);
  entry.set_region(state.region);
  entry.set_status(state.status);
  entry.set_suspension_reason(state.suspension_reason);
  entry.set_deletion_due_at_us(state.deletion_due_at_us);
  entry.set_created_at_us(state.created_at_us);
  entry.set_updated_at_us(now_us);
  entry.set_version(envelope.sequence());
  for (const auto& [name, domain] : state.custom_domains) {  // a std::map: sorted by name
    const v1::DirectoryDomain* known = before ? find_domain(*before, name) : nullptr;
    auto& out = *entry.add_custom_domains();
    out.set_domain(name);
    out.set_verified(domain.verified);
    out.set_verification_token(domain.verification_token);
    out.set_added_at_us(known != nullptr ? known->added_at_us() : now_us);
    if (domain.verified) out.set_verified_at_us(known != nullptr && known->verified() ? known->verified_at_us() : now_us);
  }
  if (!state.cloned_from.tenant_id.empty()) entry.mutable_cloned_from()->set_tenant_id(state.cloned_from.tenant_id);
  if (!state.cloned_from.template_name.empty()) {
    entry.mutable_cloned_from()->set_template_name(state.cloned_from.template_name);
  }
  for (const auto& [key, value] : state.settings) {
    (*entry.mutable_settings())[key] = domain::tenant::is_secret_setting(key) ? std::string() : value;
  }
  entry.mutable_admin_contact()->set_name(state.admin_contact.name);
  entry.mutable_admin_contact()->set_email(state.admin_contact.email);
  return entry;
}

TenantOperation operation_of(const v1::EventEnvelope& envelope, bool unreadable) {
  TenantOperation operation;
  operation.set_sequence(envelope.sequence());
  operation.set_event_type(envelope.event_type());
  operation.set_event_id(envelope.event_id());
  operation.set_occurred_at_us(envelope.occurred_at_us());
  *operation.mutable_actor() = envelope.actor();
  operation.set_command_id(envelope.command_id());
  operation.set_correlation_id(envelope.correlation_id());
  operation.set_payload_unreadable(unreadable);
  return operation;
}

// Pair assertion with write_entry: an entry read back must parse and be the one its key names.
log::Result<std::optional<TenantDirectoryEntry>> parse_entry(const std::optional<std::string>& bytes,
                                                             std::string_view tenant_id) {
  if (!bytes) return std::optional<TenantDirectoryEntry>{};
  TenantDirectoryEntry entry;
  if (!entry.ParseFromString(*bytes) || entry.tenant_id() != tenant_id) {
    return log::fail(log::ErrorCode::io, "corrupt tenant directory entry for " + std::string(tenant_id));
  }
  return entry;
}

void write_entry(store::StoreBatch& batch, const std::optional<TenantDirectoryEntry>& before,
                 const TenantDirectoryEntry& after) {
  const std::set<std::string> old_keys = before ? index_keys(*before) : std::set<std::string>{};
  const std::set<std::string> new_keys = index_keys(after);
  for (const auto& stale : old_keys) {
    if (!new_keys.contains(stale)) batch.erase(kFamily, stale);
  }
  for (const auto& fresh : new_keys) {
    if (!old_keys.contains(fresh)) batch.put(kFamily, fresh, "");
  }
  batch.put(kFamily, entry_key(after.tenant_id()), after.SerializeAsString());
}

// ---- Cursors ---------------------------------------------------------------------------
// A cursor is hex of: a kind letter, a fingerprint of the query it belongs to, and the
// key position (after the scanned prefix) to resume after. The fingerprint catches a
// cursor handed to another query; it is a check, not a secret.

constexpr char kListCursor = 'L';
constexpr char kSearchCursor = 'S';
constexpr char kOperationsCursor = 'O';

uint32_t fingerprint(std::string_view text) {
  uint32_t hash = 2166136261u;  // FNV-1a
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 16777619u;
  }
  return hash;
}

std::string to_hex(std::string_view bytes) {
  constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (text.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < text.size(); i += 2) {
    const int high = value(text[i]);
    const int low = value(text[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
  }
  return out;
}

std::string encode_cursor(char kind, std::string_view query, std::string_view position) {
  const uint32_t print = fingerprint(query);
  std::string raw(1, kind);
  for (int shift = 24; shift >= 0; shift -= 8) raw.push_back(static_cast<char>((print >> shift) & 0xff));
  raw.append(position);
  return to_hex(raw);
}

// The position to resume after; empty for an empty cursor (the first page).
log::Result<std::string> decode_cursor(std::string_view cursor, char kind, std::string_view query) {
  if (cursor.empty()) return std::string{};
  const auto raw = from_hex(cursor);
  const std::string expected = encode_cursor(kind, query, "");
  if (!raw || raw->size() <= 5 || to_hex(raw->substr(0, 5)) != expected) {
    return log::fail(log::ErrorCode::invalid_argument, "cursor is malformed or belongs to another query");
  }
  return raw->substr(5);
}

std::string list_query_text(const ListQuery& query) {
  auto optional_text = [](bool set, std::string_view text) { return set ? component(text) : std::string("\0\x02", 2); };
  return optional_text(query.status.has_value(), query.status ? status_text(*query.status) : "") +
         optional_text(query.plan.has_value(), query.plan.value_or("")) +
         optional_text(query.isolation_tier.has_value(), query.isolation_tier ? tier_text(*query.isolation_tier) : "") +
         optional_text(query.region.has_value(), query.region.value_or("")) +
         optional_text(query.created_from_us.has_value(), std::to_string(query.created_from_us.value_or(0))) +
         optional_text(query.created_before_us.has_value(), std::to_string(query.created_before_us.value_or(0)));
}

// ---- Bounded scans ---------------------------------------------------------------------

// Positions are keys without the scanned prefix.
struct ScanRange {
  std::string prefix;
  std::string from;   // inclusive; empty: the prefix's start
  std::string after;  // exclusive; empty: none
  std::string until;  // exclusive; empty: the prefix's end
};

struct ScanOutcome {
  bool more = false;  // something may follow: resume after `last`
  std::string last;   // the last position examined
};

// One page over [prefix+from, prefix+until), resuming after `after`. `visit` sees each
// key's position and value and says whether it put an entry on the page. Stops at
// page_size entries or kScanBudgetKeys keys examined, then looks one key further so
// that a page ending exactly at the range's end gets no cursor.

log::Result<ScanOutcome> scan_page(store::RocksStore& store, const ScanRange& range, size_t page_size,
                                   const std::function<log::Result<bool>(std::string_view position,
                                                                         std::string_view value)>& visit) {
  const std::string start = range.prefix + std::max(range.from, range.after);
  size_t examined = 0;
  size_t emitted = 0;
  ScanOutcome outcome;
  std::optional<log::Error> failure;
  auto scanned = store.scan(kFamily, range.prefix, start, kScanBudgetKeys + 2,
                            [&](std::string_view key, std::string_view value) {
                              const std::string_view position = key.substr(range.prefix.size());
                              if (!range.after.empty() && position == range.after) return true;
                              if (!range.until.empty() && position >= range.until) return false;
                              // Full page or spent budget, and a key in range remains.
                              if (emitted == page_size || examined == kScanBudgetKeys) {
                                outcome.more = true;
                                return false;
                              }
                              ++examined;
                              auto taken = visit(position, value);
                              if (!taken) {
                                failure = taken.error();
                                return false;
                              }
                              outcome.last = std::string(position);
                              if (*taken) ++emitted;
                              return true;
                            });
  if (!scanned) return std::unexpected(scanned.error());
  if (failure) return std::unexpected(*failure);
  return outcome;
}

log::Result<void> check_page_size(size_t size, std::string_view name) {
  if (size == 0 || size > kPageSizeMax) {
    return log::fail(log::ErrorCode::invalid_argument,
                     std::string(name) + " must be 1-" + std::to_string(kPageSizeMax) + ", not " + std::to_string(size));
  }
  return {};
}

// ---- Lists -----------------------------------------------------------------------------

// The index of the first filter set, in a fixed order: status first, since the statuses
// operators look for (suspended, pending deletion) are rare; the other filters are
// checked per entry, within the scan budget.
std::string list_prefix(const ListQuery& query) {
  if (query.status) return key(kListStatusKind, component(status_text(*query.status)));
  if (query.plan) return key(kListPlanKind, component(*query.plan));
  if (query.isolation_tier) return key(kListTierKind, component(tier_text(*query.isolation_tier)));
  if (query.region) return key(kListRegionKind, component(*query.region));
  return std::string(kListCreatedKind);
}

bool matches(const ListQuery& query, const TenantDirectoryEntry& entry) {
  return (!query.status || entry.status() == *query.status) && (!query.plan || entry.plan() == *query.plan) &&
         (!query.isolation_tier || entry.isolation_tier() == *query.isolation_tier) &&
         (!query.region || entry.region() == *query.region) &&
         (!query.created_from_us || entry.created_at_us() >= *query.created_from_us) &&
         (!query.created_before_us || entry.created_at_us() < *query.created_before_us);
}

// A list position: <created><id>.
std::optional<std::string> list_position_tenant(std::string_view position) {
  if (!read_time(position)) return std::nullopt;
  auto id = read_component(position);
  if (!id || !position.empty()) return std::nullopt;
  return id;
}

// A search position: <rest of the term><id>.
struct SearchPosition {
  std::string term_rest;
  std::string tenant_id;
};

std::optional<SearchPosition> search_position(std::string_view position) {
  auto term_rest = read_component(position);
  if (!term_rest) return std::nullopt;
  auto id = read_component(position);
  if (!id || !position.empty()) return std::nullopt;
  return SearchPosition{std::move(*term_rest), std::move(*id)};
}

log::Result<void> invalid_cursor_position() {
  return log::fail(log::ErrorCode::invalid_argument, "cursor is malformed or belongs to another query");
}

// ---- Rows ------------------------------------------------------------------------------

// RFC 4180 cell; text a spreadsheet would run as a formula gets a leading apostrophe
// (OWASP's CSV injection advice), since exports are opened in spreadsheets.
std::string csv_text(std::string_view text) {
  std::string cell;
  if (!text.empty() && std::string_view("=+-@\t\r").find(text.front()) != std::string_view::npos) cell.push_back('\'');
  cell.append(text);
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string quoted = "\"";
  for (char c : cell) {
    if (c == '"') quoted.push_back('"');
    quoted.push_back(c);
  }
  quoted.push_back('"');
  return quoted;
}

std::string joined_domains(const TenantDirectoryEntry& entry, bool verified) {
  std::string out;
  for (const auto& domain : entry.custom_domains()) {
    if (domain.verified() != verified) continue;
    if (!out.empty()) out.push_back(';');
    out.append(domain.domain());
  }
  return out;
}

constexpr std::string_view kCsvHeader =
    "tenant_id,slug,display_name,plan,isolation_tier,region,status,suspension_reason,deletion_due_at_us,"
    "created_at_us,updated_at_us,version,verified_domains,unverified_domains,cloned_from_tenant_id,"
    "cloned_from_template\r\n";

void append_csv_row(std::string& out, const TenantDirectoryEntry& e) {
  const std::vector<std::string> cells = {
      csv_text(e.tenant_id()), csv_text(e.slug()), csv_text(e.display_name()), csv_text(e.plan()),
      csv_text(tier_text(e.isolation_tier())), csv_text(e.region()), csv_text(status_text(e.status())),
      csv_text(e.suspension_reason()), std::to_string(e.deletion_due_at_us()), std::to_string(e.created_at_us()),
      std::to_string(e.updated_at_us()), std::to_string(e.version()), csv_text(joined_domains(e, true)),
      csv_text(joined_domains(e, false)), csv_text(e.cloned_from().tenant_id()),
      csv_text(e.cloned_from().template_name())};
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.append(cells[i]);
  }
  out.append("\r\n");
}

// Length of the valid UTF-8 sequence at `at`, 0 when there is none.
size_t utf8_length(std::string_view text, size_t at) {
  const auto lead = static_cast<unsigned char>(text[at]);
  if (lead < 0x80) return 1;
  struct Shape {
    unsigned char mask, lead_bits;
    size_t length;
    uint32_t minimum;  // smaller code points in this length are overlong forms
  };
  constexpr Shape kShapes[] = {{0xe0, 0xc0, 2, 0x80}, {0xf0, 0xe0, 3, 0x800}, {0xf8, 0xf0, 4, 0x10000}};
  const Shape* shape = nullptr;
  for (const auto& candidate : kShapes) {
    if ((lead & candidate.mask) == candidate.lead_bits) shape = &candidate;
  }
  if (shape == nullptr) return 0;
  const size_t length = shape->length;
  const uint32_t minimum = shape->minimum;
  uint32_t code = lead & static_cast<unsigned char>(~shape->mask);
  if (at + length > text.size()) return 0;
  for (size_t i = 1; i < length; ++i) {
    const auto next = static_cast<unsigned char>(text[at + i]);
    if ((next & 0xc0) != 0x80) return 0;
    code = (code << 6) | (next & 0x3f);
  }
  if (code < minimum || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return 0;
  return length;
}

// A JSON string literal. Our own few lines rather than a JSON library, so projections/
// needs none; bytes that are not UTF-8 become U+FFFD, so every line stays valid JSON.
void append_json_string(std::string& out, std::string_view text) {
  constexpr char kDigits[] = "0123456789abcdef";
  out.push_back('"');
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    const size_t length = utf8_length(text, i);
    if (length == 0) {
      out.append("\\ufffd");
      ++i;
      continue;
    }
    if (length > 1) {
      out.append(text.substr(i, length));
    } else if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append("\\n");
    } else if (c == '\r') {
      out.append("\\r");
    } else if (c == '\t') {
      out.append("\\t");
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out.append("\\u00");
      out.push_back(kDigits[(c >> 4) & 0xf]);
      out.push_back(kDigits[c & 0xf]);
    } else {
      out.push_back(c);
    }
    i += length;
  }
  out.push_back('"');
}

void append_ndjson_row(std::string& out, const TenantDirectoryEntry& e) {
  auto text = [&out](std::string_view name, std::string_view value) {
    out.append(",\"").append(name).append("\":");
    append_json_string(out, value);
  };
  auto number = [&out](std::string_view name, auto value) {
    out.append(",\"").append(name).append("\":").append(std::to_string(value));
  };
  out.append("{\"tenant_id\":");
  append_json_string(out, e.tenant_id());
  text("slug", e.slug());
  text("display_name", e.display_name());
  text("plan", e.plan());
  text("isolation_tier", tier_text(e.isolation_tier()));
  text("region", e.region());
  text("status", status_text(e.status()));
  text("suspension_reason", e.suspension_reason());
  number("deletion_due_at_us", e.deletion_due_at_us());
  number("created_at_us", e.created_at_us());
  number("updated_at_us", e.updated_at_us());
  number("version", e.version());
  out.append(",\"custom_domains\":[");
  for (int i = 0; i < e.custom_domains_size(); ++i) {
    const auto& domain = e.custom_domains(i);
    if (i > 0) out.push_back(',');
    out.append("{\"domain\":");
    append_json_string(out, domain.domain());
    out.append(",\"verified\":").append(domain.verified() ? "true" : "false");
    out.append(",\"added_at_us\":").append(std::to_string(domain.added_at_us()));
    out.append(",\"verified_at_us\":").append(std::to_string(domain.verified_at_us())).append("}");
  }
  out.append("]");
  text("cloned_from_tenant_id", e.cloned_from().tenant_id());
  text("cloned_from_template", e.cloned_from().template_name());
  out.append("}\n");
}

}  // namespace

// ---- The model ---------------------------------------------------------------------------

std::vector<std::string> TenantDirectoryModel::store_families() { return {kTenantDirectoryFamily, kOffsetsFamily}; }

log::Result<void> TenantDirectoryModel::apply(const log::AcceptedRecord& accepted, store::StoreBatch& batch) {
  const v1::EventEnvelope& envelope = accepted.envelope;
  const std::string& tenant_id = envelope.tenant_id();
  const DecodedEvent decoded = decode_event(envelope);
  // Every accepted event is an operation, whether or not the directory understands it.
  batch.put(kFamily, operations_prefix(tenant_id) + sequence_digits(envelope.sequence()),
            operation_of(envelope, decoded.unreadable).SerializeAsString());

  auto stored = batch.get(kFamily, entry_key(tenant_id));
  if (!stored) return std::unexpected(stored.error());
  auto before = parse_entry(*stored, tenant_id);
  if (!before) return std::unexpected(before.error());

  if (!decoded.event) {
    // Passed over, but it holds a sequence in the tenant's history: the version still
    // moves, as on the write side, so expected_version read from here stays right.
    if (!*before) return {};
    TenantDirectoryEntry after = **before;
    after.set_version(envelope.sequence());
    write_entry(batch, *before, after);
    return {};
  }
  // Nothing of a tenant exists before its registration; a stray event is only logged.
  if (!*before && !decoded.event->has_tenant_registered()) return {};
  const auto state = domain::tenant::evolve(*before ? to_state(**before) : domain::tenant::initial_state(),
                                            *decoded.event);
  write_entry(batch, *before, to_entry(state, *before, envelope));
  return {};
}

void TenantDirectoryModel::committed(const std::vector<log::AcceptedRecord>& events) {
  if (!listener_) return;
  for (const auto& event : events) listener_(event.envelope.tenant_id());
}

// ---- Queries -------------------------------------------------------------------------------

log::Result<std::optional<TenantDirectoryEntry>> TenantDirectory::read_entry(std::string_view tenant_id) {
  auto stored = store_.get(kFamily, entry_key(tenant_id));
  if (!stored) return std::unexpected(stored.error());
  return parse_entry(*stored, tenant_id);
}

log::Result<std::optional<TenantDirectoryEntry>> TenantDirectory::get(std::string_view tenant_id) {
  return read_entry(tenant_id);
}

log::Result<std::optional<TenantDirectoryEntry>> TenantDirectory::find_by_slug(std::string_view slug) {
  std::optional<TenantDirectoryEntry> best;
  std::optional<log::Error> failure;
  auto better = [](const TenantDirectoryEntry& a, const TenantDirectoryEntry& b) {
    const bool a_live = a.status() != v1::TENANT_STATUS_DELETED;
    const bool b_live = b.status() != v1::TENANT_STATUS_DELETED;
    if (a_live != b_live) return a_live;
    if (a.created_at_us() != b.created_at_us()) return a.created_at_us() < b.created_at_us();
    return a.tenant_id() < b.tenant_id();
  };
  const std::string prefix = key(kSlugKind, component(fold(slug)));
  auto scanned = store_.scan(kFamily, prefix, "", kClaimantsMax, [&](std::string_view k, std::string_view) {
    std::string_view rest = k.substr(prefix.size());
    auto id = read_component(rest);
    if (!id) return true;
    auto entry = read_entry(*id);
    if (!entry) {
      failure = entry.error();
      return false;
    }
    if (*entry && (!best || better(**entry, *best))) best = std::move(**entry);
    return true;
  });
  if (!scanned) return std::unexpected(scanned.error());
  if (failure) return std::unexpected(*failure);
  return best;
}

log::Result<std::optional<TenantDirectoryEntry>> TenantDirectory::find_by_domain(std::string_view domain) {
  const std::string name = normalise_domain(domain);
  // Earliest claim of one kind (verified or not) among at most kClaimantsMax tenants.
  auto earliest = [&](std::string_view kind, bool verified) -> log::Result<std::optional<TenantDirectoryEntry>> {
    std::optional<TenantDirectoryEntry> best;
    int64_t best_at_us = 0;
    std::optional<log::Error> failure;
    const std::string prefix = key(kind, component(name));
    auto scanned = store_.scan(kFamily, prefix, "", kClaimantsMax, [&](std::string_view k, std::string_view) {
      std::string_view rest = k.substr(prefix.size());
      auto id = read_component(rest);
      if (!id) return true;
      auto entry = read_entry(*id);
      if (!entry) {
        failure = entry.error();
        return false;
      }
      if (!*entry) return true;
      const auto* claim = find_domain(**entry, name);
      if (claim == nullptr || claim->verified() != verified) return true;  // changed since the index was read
      const int64_t at_us = verified ? claim->verified_at_us() : claim->added_at_us();
      if (!best || at_us < best_at_us) {  // keys come in tenant id order: ties go to the lower id
        best = std::move(**entry);
        best_at_us = at_us;
      }
      return true;
    });
    if (!scanned) return std::unexpected(scanned.error());
    if (failure) return std::unexpected(*failure);
    return best;
  };
  auto verified = earliest(kDomainVerifiedKind, true);
  if (!verified || *verified) return verified;
  return earliest(kDomainClaimedKind, false);
}

log::Result<Page<TenantDirectoryEntry>> TenantDirectory::list(const ListQuery& query) {
  if (auto checked = check_page_size(query.page_size, "page_size"); !checked) return std::unexpected(checked.error());
  const std::string query_text = list_query_text(query);
  auto after = decode_cursor(query.cursor, kListCursor, query_text);
  if (!after) return std::unexpected(after.error());
  if (!after->empty() && !list_position_tenant(*after)) return std::unexpected(invalid_cursor_position().error());

  ScanRange range{list_prefix(query), "", std::move(*after), ""};
  if (query.created_from_us) range.from = time_bytes(*query.created_from_us);
  if (query.created_before_us) range.until = time_bytes(*query.created_before_us);
  Page<TenantDirectoryEntry> page;
  auto outcome = scan_page(store_, range, query.page_size, [&](std::string_view position, std::string_view) -> log::Result<bool> {
    auto id = list_position_tenant(position);
    if (!id) return false;
    auto entry = read_entry(*id);
    if (!entry) return std::unexpected(entry.error());
    // Filters are checked on the entry itself: the index may be a batch behind it.
    if (!*entry || !matches(query, **entry)) return false;
    page.entries.push_back(std::move(**entry));
    return true;
  });
  if (!outcome) return std::unexpected(outcome.error());
  if (outcome->more) page.next_cursor = encode_cursor(kListCursor, query_text, outcome->last);
  return page;
}

log::Result<Page<TenantDirectoryEntry>> TenantDirectory::search(std::string_view prefix, size_t limit,
                                                                std::string_view cursor) {
  if (auto checked = check_page_size(limit, "limit"); !checked) return std::unexpected(checked.error());
  if (prefix.empty() || prefix.size() > kSearchPrefixMaxBytes) {
    return log::fail(log::ErrorCode::invalid_argument,
                     "prefix must be 1-" + std::to_string(kSearchPrefixMaxBytes) + " bytes");
  }
  const std::string folded = fold(prefix);
  auto after = decode_cursor(cursor, kSearchCursor, folded);
  if (!after) return std::unexpected(after.error());
  if (!after->empty() && !search_position(*after)) return std::unexpected(invalid_cursor_position().error());

  Page<TenantDirectoryEntry> page;
  ScanRange range{key(kSearchKind, escaped(folded)), "", std::move(*after), ""};
  auto outcome = scan_page(store_, range, limit, [&](std::string_view position, std::string_view) -> log::Result<bool> {
    auto at = search_position(position);
    if (!at) return false;
    auto entry = read_entry(at->tenant_id);
    if (!entry) return std::unexpected(entry.error());
    if (!*entry) return false;
    // A tenant whose slug and name both match is shown once, at the first of its
    // matching terms in key order; a term it no longer has is a stale key.
    const std::string term = folded + at->term_rest;
    std::optional<std::string> first_match;
    for (const auto& own : search_terms(**entry)) {
      if (own.starts_with(folded)) {
        first_match = own;
        break;  // search_terms is sorted
      }
    }
    if (first_match != term) return false;
    page.entries.push_back(std::move(**entry));
    return true;
  });
  if (!outcome) return std::unexpected(outcome.error());
  if (outcome->more) page.next_cursor = encode_cursor(kSearchCursor, folded, outcome->last);
  return page;
}

log::Result<uint64_t> TenantDirectory::export_rows(const ListQuery& query, ExportFormat format,
                                                   const std::function<bool(std::string_view chunk)>& sink) {
  ListQuery page_query = query;
  page_query.page_size = kPageSizeMax;
  page_query.cursor.clear();
  if (format == ExportFormat::csv && !sink(kCsvHeader)) return 0;
  uint64_t rows = 0;
  // Ends with the index: every page moves the cursor forward by at least one key.
  for (;;) {
    auto page = list(page_query);
    if (!page) return std::unexpected(page.error());
    std::string chunk;
    for (const auto& entry : page->entries) {
      if (format == ExportFormat::csv) {
        append_csv_row(chunk, entry);
      } else {
        append_ndjson_row(chunk, entry);
      }
    }
    rows += page->entries.size();
    if (!chunk.empty() && !sink(chunk)) return rows;
    if (page->next_cursor.empty()) return rows;
    page_query.cursor = std::move(page->next_cursor);
  }
}

log::Result<Page<TenantOperation>> TenantDirectory::operations(std::string_view tenant_id, size_t limit,
                                                               std::string_view cursor) {
  if (auto checked = check_page_size(limit, "limit"); !checked) return std::unexpected(checked.error());
  if (tenant_id.empty()) return log::fail(log::ErrorCode::invalid_argument, "tenant_id is required");
  auto after = decode_cursor(cursor, kOperationsCursor, tenant_id);
  if (!after) return std::unexpected(after.error());
  if (!after->empty() && after->size() != kSequenceDigits) return std::unexpected(invalid_cursor_position().error());

  Page<TenantOperation> page;
  ScanRange range{operations_prefix(tenant_id), "", std::move(*after), ""};
  auto outcome = scan_page(store_, range, limit, [&](std::string_view, std::string_view value) -> log::Result<bool> {
    TenantOperation operation;
    if (!operation.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      return log::fail(log::ErrorCode::io, "corrupt operation of " + std::string(tenant_id));
    }
    page.entries.push_back(std::move(operation));
    return true;
  });
  if (!outcome) return std::unexpected(outcome.error());
  if (outcome->more) page.next_cursor = encode_cursor(kOperationsCursor, tenant_id, outcome->last);
  return page;
}

}  // namespace tenantry::projections
