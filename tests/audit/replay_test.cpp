// `tenantry audit events` and `tenantry audit state` on a log written by the real
// command processor (embedded engine, ManualClock): filters, CSV, secrets masked, the
// state as of a sequence or an instant, and the errors an auditor can make.
#include <catch2/catch.hpp>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <map>
#include <sstream>

#include "app/log_options.h"
#include "audit/render.h"
#include "audit/replay.h"
#include "child_process.h"
#include "commands/command_processor.h"
#include "commands/tenant_aggregate.h"
#include "commands/tenant_commands.h"
#include "connectors/log/embedded/embedded_log.h"
#include "log/read_back.h"
#include "test_support.h"
#include "tenantry/v1/tenant.pb.h"

using namespace tenantry;
using namespace std::chrono_literals;

namespace {

constexpr int32_t kPartitions = 3;
constexpr int64_t kHourUs = 3'600'000'000;
constexpr int64_t kStartUs = 1767225600000000;  // 2026-01-01T00:00:00Z

v1::CommandEnvelope command_of(const std::string& tenant, const std::string& id, const std::string& actor_id,
                               const google::protobuf::Message& body) {
  auto command = testing::command_of(tenant, id, body);
  command.mutable_actor()->set_kind("user");
  command.mutable_actor()->set_id(actor_id);
  command.mutable_actor()->set_role("platform_admin");
  return command;
}

// A data directory as `tenantry serve` leaves it, with this history (times from
// kStartUs):
//   acme    1  TenantRegistered  +0h    alice
//   globex  1  TenantRegistered  +0.5h  alice
//   acme    2  TenantConfigured  +1h    bob    display name "=cmd()", a timezone, a secret
//   acme    3  TenantSuspended   +2h    =cmd()  (an actor id that a spreadsheet would run)
struct AuditLog {
  testing::ScratchDir dir;
  std::filesystem::path data() const { return dir.path() / "data"; }

  AuditLog() {
    std::filesystem::create_directories(data());
    log::embedded::EmbeddedOptions options;
    options.path = (data() / "log").string();
    auto opened = log::embedded::open_embedded_log(options);
    REQUIRE(opened.has_value());
    std::unique_ptr<log::EventLog> log = std::move(*opened);
    for (const auto& topic : app::tenantry_topics(kPartitions)) REQUIRE(log->create_topic(topic).has_value());
    auto store = store::RocksStore::open(
        {(dir.path() / "store").string(), commands::CommandProcessor::store_families()});
    REQUIRE(store.has_value());
    clock::ManualClock clock(kStartUs);
    commands::TenantAggregate aggregate;
    commands::CommandProcessor processor(*log, **store, aggregate, clock, commands::ProcessorOptions{});

    auto run = [&](const v1::CommandEnvelope& command) {
      log::AppendRequest request;
      request.records.push_back(
          log::Record{"tenantry.commands", command.tenant_id(), command.SerializeAsString(), {}, std::nullopt});
      REQUIRE(log->append(std::move(request)).has_value());
      std::optional<v1::CommandReply> reply;
      REQUIRE(testing::eventually(30s, [&] {
        auto handled = processor.process_available(200ms);
        if (!handled) FAIL("processing failed: " << handled.error().message);
        auto all = testing::read_back(*log, "tenantry.replies", log::partition_for_key(command.tenant_id(), kPartitions),
                                      log::TopicKind::fenced);
        for (const auto& accepted : all.records) {
          v1::CommandReply one;
          if (accepted.record.header("tenantry-kind") == nullptr && one.ParseFromString(accepted.record.value) &&
              one.command_id() == command.command_id()) {
            reply = one;
          }
        }
        return reply.has_value();
      }));
      REQUIRE(reply->status() == v1::CommandReply::STATUS_ACCEPTED);
    };

    run(command_of("acme", "c1", "alice", testing::registration_body("acme")));
    clock.advance_us(kHourUs / 2);
    run(command_of("globex", "c2", "alice", testing::registration_body("globex")));
    clock.advance_us(kHourUs / 2);
    v1::ConfigureTenant configure;
    configure.set_display_name("=cmd()");
    (*configure.mutable_set_settings())["general.timezone"] = "Europe/Paris";
    (*configure.mutable_set_settings())["secret.smtp_password"] = "hunter2-secret";
    run(command_of("acme", "c3", "bob", configure));
    clock.advance_us(kHourUs);
    v1::SuspendTenant suspend;
    suspend.set_reason("unpaid invoices");
    run(command_of("acme", "c4", "=cmd()", suspend));
  }

  testing::Finished audit(const std::string& action, const std::vector<std::string>& extra) const {
    std::vector<std::string> argv = {TENANTRY_BINARY, "audit", action, "--data-dir", data().string(),
                                     "--partitions", std::to_string(kPartitions)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return testing::run_to_end(argv);
  }
};

const AuditLog& audit_log() {
  static const AuditLog built;
  return built;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

Poco::JSON::Object::Ptr parse(const std::string& text) {
  return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}

std::vector<Poco::JSON::Object::Ptr> events(const testing::Finished& run) {
  INFO(run.err);
  REQUIRE(run.code == 0);
  std::vector<Poco::JSON::Object::Ptr> out;
  for (const auto& line : lines_of(run.out)) out.push_back(parse(line));
  return out;
}

// "tenant#sequence" of each record, in output order.
std::vector<std::string> ids(const std::vector<Poco::JSON::Object::Ptr>& records) {
  std::vector<std::string> out;
  for (const auto& record : records) {
    out.push_back(record->getValue<std::string>("tenant_id") + "#" + record->getValue<std::string>("sequence"));
  }
  return out;
}

}  // namespace

TEST_CASE("audit events: a tenant's history decoded, with envelope and payload", "[audit][replay]") {
  const auto records = events(audit_log().audit("events", {"--tenant", "acme"}));
  REQUIRE(ids(records) == std::vector<std::string>{"acme#1", "acme#2", "acme#3"});
  CHECK(records[0]->getValue<std::string>("event_type") == "tenantry.v1.TenantRegistered");
  CHECK(records[0]->getValue<std::string>("occurred_at") == "2026-01-01T00:00:00Z");
  CHECK(records[0]->getValue<int64_t>("occurred_at_us") == kStartUs);
  CHECK(records[0]->getObject("actor")->getValue<std::string>("id") == "alice");
  CHECK(records[0]->getObject("actor")->getValue<std::string>("role") == "platform_admin");
  CHECK(records[0]->getValue<std::string>("command_id") == "c1");
  CHECK(records[0]->getValue<std::string>("topic") == "tenantry.events");
  CHECK(records[0]->getValue<int>("partition") == log::partition_for_key("acme", kPartitions));
  CHECK(records[0]->getValue<std::string>("payload_status") == "ok");
  CHECK(records[0]->getObject("payload")->getValue<std::string>("slug") == "acme");
  CHECK(records[1]->getValue<std::string>("occurred_at") == "2026-01-01T01:00:00Z");
  CHECK(records[1]->getObject("payload")->getValue<std::string>("display_name") == "=cmd()");
  CHECK(records[2]->getObject("payload")->getValue<std::string>("reason") == "unpaid invoices");
  CHECK(records[2]->getValue<uint64_t>("writer_epoch") >= 1);
}

TEST_CASE("audit events: a secret setting's value is never printed", "[audit][replay]") {
  const auto run = audit_log().audit("events", {"--tenant", "acme", "--type", "TenantConfigured"});
  const auto records = events(run);
  REQUIRE(records.size() == 1);
  CHECK(run.out.find("hunter2-secret") == std::string::npos);
  const auto settings = records[0]->getObject("payload")->getObject("set_settings");
  REQUIRE(settings);
  CHECK(settings->getValue<std::string>("secret.smtp_password") == "(set)");
  CHECK(settings->getValue<std::string>("general.timezone") == "Europe/Paris");
}

TEST_CASE("audit events: filters by type, actor, sequence and time", "[audit][replay]") {
  const auto& log = audit_log();
  CHECK(ids(events(log.audit("events", {"--tenant", "acme", "--type", "tenantry.v1.TenantSuspended"}))) ==
        std::vector<std::string>{"acme#3"});
  CHECK(ids(events(log.audit("events", {"--tenant", "acme", "--actor", "bob"}))) ==
        std::vector<std::string>{"acme#2"});
  CHECK(ids(events(log.audit("events", {"--tenant", "acme", "--from-sequence", "2", "--to-sequence", "3"}))) ==
        std::vector<std::string>{"acme#2", "acme#3"});
  CHECK(ids(events(log.audit("events", {"--tenant", "acme", "--to-sequence", "1"}))) ==
        std::vector<std::string>{"acme#1"});
  // Bounds are inclusive; RFC 3339 with an offset and integer microseconds both work.
  CHECK(ids(events(log.audit("events", {"--tenant", "acme", "--from", "2026-01-01T02:00:00+01:00", "--to",
                                        std::to_string(kStartUs + 2 * kHourUs - 1)}))) ==
        std::vector<std::string>{"acme#2"});
  CHECK(events(log.audit("events", {"--tenant", "acme", "--type", "TenantDeleted"})).empty());

  // The platform: every partition; each tenant's events in order.
  auto registered = ids(events(log.audit("events", {"--actor", "alice"})));
  std::sort(registered.begin(), registered.end());
  CHECK(registered == std::vector<std::string>{"acme#1", "globex#1"});
  CHECK(events(log.audit("events", {})).size() == 4);
}

TEST_CASE("audit events: CSV with a header, one row per event, formulas neutralised", "[audit][replay]") {
  const auto run = audit_log().audit("events", {"--tenant", "acme", "--format", "csv"});
  INFO(run.err);
  REQUIRE(run.code == 0);
  CHECK(run.out.find("\r\n") != std::string::npos);  // RFC 4180 line breaks
  const auto lines = lines_of(run.out);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].starts_with("event_id,tenant_id,sequence,event_type,occurred_at,occurred_at_us,actor_kind,actor_id,"));
  CHECK(lines[0].ends_with(",payload"));
  // The suspension's actor id "=cmd()" is a cell of its own: it must not start with "=".
  CHECK(lines[3].find(",'=cmd(),") != std::string::npos);
  CHECK(lines[3].find(",=cmd()") == std::string::npos);
  // The payload is one quoted JSON cell, its quotes doubled.
  INFO(lines[2]);
  CHECK(lines[2].ends_with(R"csv(,ok,"{""display_name"":""=cmd()"",""set_settings"":{""general.timezone"":""Europe/Paris"",""secret.smtp_password"":""(set)""}}")csv"));
  CHECK(run.out.find("hunter2-secret") == std::string::npos);
}

TEST_CASE("audit events: a bad TIME exits 2 naming the option", "[audit][replay]") {
  for (const char* option : {"--from", "--to"}) {
    const auto run = audit_log().audit("events", {"--tenant", "acme", option, "yesterday"});
    CHECK(run.code == 2);
    CHECK(run.err.find(std::string(option) + ": 'yesterday'") != std::string::npos);
    CHECK(run.out.empty());
  }
  const auto bad_date = audit_log().audit("events", {"--from", "2026-02-30T00:00:00Z"});
  CHECK(bad_date.code == 2);
  CHECK(bad_date.err.find("--from") != std::string::npos);
  const auto bad_format = audit_log().audit("events", {"--format", "xml"});
  CHECK(bad_format.code == 2);
  CHECK(bad_format.err.find("format") != std::string::npos);
}

TEST_CASE("audit state: at a sequence, configured but not yet suspended", "[audit][replay]") {
  const auto run = audit_log().audit("state", {"--tenant", "acme", "--at-sequence", "2"});
  INFO(run.err);
  REQUIRE(run.code == 0);
  CHECK(run.out.find("hunter2-secret") == std::string::npos);
  const auto state = parse(run.out);
  CHECK(state->getValue<std::string>("status") == "active");
  CHECK(!state->has("suspension_reason"));
  CHECK(state->getValue<std::string>("slug") == "acme");
  CHECK(state->getValue<std::string>("display_name") == "=cmd()");
  CHECK(state->getValue<std::string>("plan") == "pro");
  CHECK(state->getValue<std::string>("isolation_tier") == "shared");
  CHECK(state->getValue<std::string>("region") == "eu-west-1");
  CHECK(state->getObject("admin_contact")->getValue<std::string>("email") == "ada@acme.example");
  const auto settings = state->getObject("settings");
  CHECK(settings->getValue<std::string>("general.timezone") == "Europe/Paris");
  CHECK(settings->getValue<std::string>("general.currency") == "USD");  // a default filled in
  CHECK(settings->getValue<std::string>("secret.smtp_password") == "(set)");
  CHECK(!settings->has("secret.webhook_signing_key"));  // never set, no default
  CHECK(state->getArray("custom_domains")->size() == 0);
  CHECK(state->getValue<uint64_t>("version") == 2);
  CHECK(state->getValue<std::string>("created_at") == "2026-01-01T00:00:00Z");
  const auto last = state->getObject("last_event");
  CHECK(last->getValue<uint64_t>("sequence") == 2);
  CHECK(last->getValue<std::string>("event_type") == "tenantry.v1.TenantConfigured");
  CHECK(last->getValue<std::string>("occurred_at") == "2026-01-01T01:00:00Z");
  CHECK(last->getObject("actor")->getValue<std::string>("id") == "bob");

  const auto later = parse(audit_log().audit("state", {"--tenant", "acme", "--at-sequence", "99"}).out);
  CHECK(later->getValue<std::string>("status") == "suspended");
  CHECK(later->getValue<std::string>("suspension_reason") == "unpaid invoices");
  CHECK(later->getValue<uint64_t>("version") == 3);
}

TEST_CASE("audit state: as of an instant picks the last event at or before it", "[audit][replay]") {
  const auto between = audit_log().audit("state", {"--tenant", "acme", "--as-of", "2026-01-01T01:59:59.999999Z"});
  INFO(between.err);
  REQUIRE(between.code == 0);
  const auto state = parse(between.out);
  CHECK(state->getValue<uint64_t>("version") == 2);
  CHECK(state->getValue<std::string>("status") == "active");
  CHECK(state->getObject("as_of")->getValue<std::string>("as_of") == "2026-01-01T01:59:59.999999Z");

  const auto at = parse(audit_log().audit("state", {"--tenant", "acme", "--as-of", "2026-01-01T02:00:00Z"}).out);
  CHECK(at->getValue<uint64_t>("version") == 3);
  CHECK(at->getValue<std::string>("status") == "suspended");
}

TEST_CASE("audit state: before registration, an unknown tenant, bad options", "[audit][replay]") {
  const auto& log = audit_log();
  const auto before = log.audit("state", {"--tenant", "acme", "--as-of", "2025-12-31T23:59:59Z"});
  CHECK(before.code == 1);
  CHECK(before.err.find("no events by 2025-12-31T23:59:59Z") != std::string::npos);
  CHECK(before.out.empty());

  const auto unknown = log.audit("state", {"--tenant", "nobody", "--at-sequence", "1"});
  CHECK(unknown.code == 1);
  CHECK(unknown.err.find("unknown tenant") != std::string::npos);

  const auto neither = log.audit("state", {"--tenant", "acme"});
  CHECK(neither.code == 2);
  const auto both = log.audit("state", {"--tenant", "acme", "--at-sequence", "1", "--as-of", "0"});
  CHECK(both.code == 2);
  const auto bad = log.audit("state", {"--tenant", "acme", "--as-of", "tomorrow"});
  CHECK(bad.code == 2);
  CHECK(bad.err.find("--as-of") != std::string::npos);
}

TEST_CASE("audit render: RFC 3339 times both ways", "[audit][replay]") {
  CHECK(audit::parse_time_us("2026-11-26T10:00:00Z") == 1795687200000000);
  CHECK(audit::parse_time_us("2026-11-26T11:00:00+01:00") == 1795687200000000);
  CHECK(audit::parse_time_us("2026-11-26T10:00:00.25Z") == 1795687200250000);
  CHECK(audit::parse_time_us("1795687200000000") == 1795687200000000);
  for (const char* bad : {"", "2026-11-26", "2026-11-26T10:00:00", "2026-13-01T00:00:00Z", "2026-11-26T24:00:00Z",
                          "2026-11-26T10:00:00.Z", "-5", "2026-11-26T10:00:00Zjunk"}) {
    CHECK_FALSE(audit::parse_time_us(bad).has_value());
  }
  CHECK(audit::format_time_us(1795687200000000) == "2026-11-26T10:00:00Z");
  CHECK(audit::format_time_us(1795687200250000) == "2026-11-26T10:00:00.25Z");
  CHECK(audit::format_time_us(0) == "1970-01-01T00:00:00Z");
}

TEST_CASE("audit render: an unknown or unreadable payload is reported, not fatal", "[audit][replay]") {
  log::AcceptedRecord accepted;
  accepted.record.topic = "tenantry.events";
  accepted.envelope.set_tenant_id("acme");
  accepted.envelope.set_sequence(7);
  accepted.envelope.set_event_type("tenantry.v9.SomethingNew");
  accepted.envelope.set_payload("\x01\x02");
  auto unknown = parse(audit::event_json(accepted));
  CHECK(unknown->getValue<std::string>("payload_status") == "unknown_type");
  CHECK(unknown->isNull("payload"));

  accepted.envelope.set_event_type("tenantry.v1.TenantSuspended");
  accepted.envelope.set_payload(std::string("\xff\xff\xff\xff", 4));
  auto unreadable = parse(audit::event_json(accepted));
  CHECK(unreadable->getValue<std::string>("payload_status") == "unreadable");
  CHECK(audit::event_csv_row(accepted).find(",unreadable,") != std::string::npos);

  // Envelope text fields are escaped in JSON and quoted and neutralised in CSV.
  accepted.envelope.mutable_actor()->set_id("@SUM(A1),\"x\"\n");
  CHECK(parse(audit::event_json(accepted))->getObject("actor")->getValue<std::string>("id") == "@SUM(A1),\"x\"\n");
  CHECK(audit::event_csv_row(accepted).find(",\"'@SUM(A1),\"\"x\"\"\n\",") != std::string::npos);
}

TEST_CASE("audit diff: the events between two instants with their actors, and the fields that changed",
          "[audit][replay]") {
  const auto run = audit_log().audit("diff", {"--tenant", "acme", "--from", "2026-01-01T00:30:00Z", "--to",
                                              "2026-01-01T02:00:00Z"});
  INFO(run.err);
  REQUIRE(run.code == 0);
  CHECK(run.out.find("hunter2-secret") == std::string::npos);
  const auto diff = parse(run.out);
  CHECK(diff->getValue<uint64_t>("version_before") == 1);
  CHECK(diff->getValue<uint64_t>("version_after") == 3);
  const auto events = diff->getArray("events");
  REQUIRE(events->size() == 2);
  CHECK(events->getObject(0)->getValue<uint64_t>("sequence") == 2);
  CHECK(events->getObject(0)->getObject("actor")->getValue<std::string>("id") == "bob");
  CHECK(events->getObject(1)->getValue<std::string>("event_type") == "tenantry.v1.TenantSuspended");
  std::map<std::string, std::pair<std::string, std::string>> changes;
  for (size_t i = 0; i < diff->getArray("changes")->size(); ++i) {
    auto change = diff->getArray("changes")->getObject(static_cast<unsigned>(i));
    changes[change->getValue<std::string>("field")] = {change->getValue<std::string>("before"),
                                                       change->getValue<std::string>("after")};
  }
  using Change = std::pair<std::string, std::string>;
  CHECK(changes["status"] == Change{"active", "suspended"});
  CHECK(changes["suspension_reason"] == Change{"", "unpaid invoices"});
  CHECK(changes["display_name"] == Change{"Acme Corp", "=cmd()"});
  CHECK(changes["settings.general.timezone"] == Change{"UTC", "Europe/Paris"});
  CHECK(changes["settings.secret.smtp_password"] == Change{"", "(set)"});
  CHECK(changes.size() == 5);  // nothing else moved: plan, region, contact, other settings

  // The interval is (from, to]: an event exactly at --from is before it.
  const auto from_at_event = parse(audit_log().audit("diff", {"--tenant", "acme", "--from", "2026-01-01T01:00:00Z",
                                                               "--to", "2026-01-01T02:00:00Z"}).out);
  CHECK(from_at_event->getArray("events")->size() == 1);
  CHECK(audit_log().audit("diff", {"--tenant", "acme", "--from", "2026-01-02T00:00:00Z", "--to",
                                   "2026-01-01T00:00:00Z"}).code == 2);
  CHECK(audit_log().audit("diff", {"--tenant", "nobody", "--from", "2026-01-01T00:00:00Z", "--to",
                                   "2026-01-02T00:00:00Z"}).code == 1);
}
