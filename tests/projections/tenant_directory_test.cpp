// The tenant directory read model: real commands through the command processor on
// both engines, projected by the runner, then every query checked against what the
// commands did; and model-only cases (events written directly) for what commands
// cannot produce: unknown event types, text a command would refuse, rival claimants.
#include <catch2/catch.hpp>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>

#include "commands/command_processor.h"
#include "commands/tenant_aggregate.h"
#include "connectors/log/fenced_writer.h"
#include "log/embedded_harness.h"
#include "log/kafka_harness.h"
#include "log/read_back.h"
#include "projections/projection_runner.h"
#include "projections/tenant_directory/tenant_directory.h"
#include "test_support.h"
#include "tenantry/v1/tenant.pb.h"

using namespace tenantry;
using namespace std::chrono_literals;
using projections::ExportFormat;
using projections::ListQuery;
using projections::TenantDirectory;

namespace {

constexpr int32_t kPartitions = 3;
constexpr int64_t kStartUs = 1767225600000000;  // 2026-01-01T00:00:00Z
constexpr int64_t kRoundUs = 1'000'000;
constexpr int kNumberedTenants = 120;
constexpr size_t kPagesMax = 1000;  // bounds every paging loop in these tests

v1::Actor actor(const std::string& kind, const std::string& id, const std::string& role) {
  v1::Actor out;
  out.set_kind(kind);
  out.set_id(id);
  out.set_role(role);
  return out;
}

const v1::Actor kSignup = actor("service", "signup", "service");
const v1::Actor kOperator = actor("operator", "ana", "platform_admin");

template <class Body>
v1::CommandEnvelope command(const std::string& tenant, const std::string& id, const Body& body,
                            const v1::Actor& who = kOperator) {
  v1::CommandEnvelope out;
  out.set_command_id(id);
  out.set_tenant_id(tenant);
  out.set_command_type(Body::descriptor()->full_name());
  out.set_payload(body.SerializeAsString());
  *out.mutable_actor() = who;
  return out;
}

v1::RegisterTenant registration(const std::string& slug, const std::string& name, const std::string& plan,
                                v1::IsolationTier tier, const std::string& region) {
  v1::RegisterTenant body;
  body.set_slug(slug);
  body.set_display_name(name);
  body.set_plan(plan);
  body.set_isolation_tier(tier);
  body.set_region(region);
  body.mutable_admin_contact()->set_name("Ada");
  body.mutable_admin_contact()->set_email("ada@example.com");
  return body;
}

// What the test expects of a tenant, kept beside the commands it sends.
struct Expected {
  std::string plan;
  v1::IsolationTier tier = v1::ISOLATION_TIER_UNSPECIFIED;
  std::string region;
  int64_t created_at_us = 0;
  v1::TenantStatus status = v1::TENANT_STATUS_ACTIVE;
};

std::string numbered(const char* pattern, int i) {
  char text[32];
  std::snprintf(text, sizeof text, pattern, i);
  return text;
}

const std::string kPlans[] = {"free", "pro", "enterprise"};
const v1::IsolationTier kTiers[] = {v1::ISOLATION_TIER_SHARED, v1::ISOLATION_TIER_SCHEMA, v1::ISOLATION_TIER_DEDICATED};
const std::string kRegions[] = {"eu-west-1", "us-east-1"};

// Commands in, the directory out: a command processor and a projection runner over
// one log, each with its own store.
struct Fixture {
  explicit Fixture(log::EventLog& log) : log(log) {
    for (const char* topic : {"tenantry.commands", "tenantry.events", "tenantry.replies"}) {
      REQUIRE(log.create_topic({topic, kPartitions}).has_value());
    }
    auto commands_store = store::RocksStore::open({(dir.path() / "commands").string(),
                                                   commands::CommandProcessor::store_families()});
    REQUIRE(commands_store.has_value());
    processor_store = std::move(*commands_store);
    processor = std::make_unique<commands::CommandProcessor>(log, *processor_store, aggregate, clock);
    auto opened = store::RocksStore::open({(dir.path() / "directory").string(),
                                           projections::TenantDirectoryModel::store_families()});
    REQUIRE(opened.has_value());
    store = std::move(*opened);
    runner = std::make_unique<projections::ProjectionRunner>(log, *store, model);
    directory = std::make_unique<TenantDirectory>(*store);
  }

  // Sends the commands at time `now_us` and processes until each has its reply; every
  // one must be accepted.
  void run(int64_t now_us, const std::vector<v1::CommandEnvelope>& commands) {
    clock.set_us(now_us);
    log::AppendRequest request;
    for (const auto& c : commands) {
      request.records.push_back(log::Record{"tenantry.commands", c.tenant_id(), c.SerializeAsString(), {}, std::nullopt});
    }
    REQUIRE(log.append(std::move(request)).has_value());
    auto answered = [&] {
      return std::ranges::all_of(commands, [&](const auto& c) { return replies.contains(c.command_id()); });
    };
    REQUIRE(testing::eventually(60s, [&] {
      auto handled = processor->process_available(200ms);
      if (!handled) FAIL("processing failed: " << handled.error().message);
      collect_replies();
      return answered();
    }));
    for (const auto& c : commands) {
      INFO("command " << c.command_id() << ": " << replies[c.command_id()].message());
      REQUIRE(replies[c.command_id()].status() == v1::CommandReply::STATUS_ACCEPTED);
    }
  }

  void collect_replies() {
    for (int32_t p = 0; p < kPartitions; ++p) {
      if (reply_readers.size() <= static_cast<size_t>(p)) {
        auto reader = log::AcceptedReader::open(log, "tenantry.replies", p, 0, log::TopicKind::fenced);
        REQUIRE(reader.has_value());
        reply_readers.push_back(std::move(*reader));
      }
      auto& reader = *reply_readers[static_cast<size_t>(p)];
      const int64_t end = log.end_offset("tenantry.replies", p).value();
      while (reader.position() < end) {
        auto batch = reader.read(1000, 1000ms);
        REQUIRE(batch.has_value());
        for (const auto& accepted : batch->records) {
          if (accepted.record.header("tenantry-kind") != nullptr) continue;
          v1::CommandReply reply;
          REQUIRE(reply.ParseFromString(accepted.record.value));
          replies[reply.command_id()] = reply;
        }
      }
    }
  }

  std::vector<v1::EventEnvelope> events_of(const std::string& tenant) {
    auto all = testing::read_back(log, "tenantry.events", log::partition_for_key(tenant, kPartitions),
                                  log::TopicKind::events);
    std::vector<v1::EventEnvelope> out;
    for (const auto& accepted : all.records) {
      if (accepted.envelope.tenant_id() == tenant) out.push_back(accepted.envelope);
    }
    return out;
  }


  std::string verification_token(const std::string& tenant, const std::string& domain) {
    for (const auto& event : events_of(tenant)) {
      if (event.event_type() != "tenantry.v1.CustomDomainAdded") continue;
      v1::CustomDomainAdded added;
      REQUIRE(added.ParseFromString(event.payload()));
      if (added.domain() == domain) return added.verification_token();
    }
    FAIL("no token for " << domain);
    return {};
  }

  void project() {
    auto applied = runner->catch_up();
    REQUIRE(applied.has_value());
    REQUIRE(runner->violations().empty());
  }

  log::EventLog& log;
  testing::ScratchDir dir;
  clock::ManualClock clock{kStartUs};
  commands::TenantAggregate aggregate;
  std::unique_ptr<store::RocksStore> processor_store;
  std::unique_ptr<commands::CommandProcessor> processor;
  std::vector<std::unique_ptr<log::AcceptedReader>> reply_readers;
  std::map<std::string, v1::CommandReply> replies;
  projections::TenantDirectoryModel model;
  std::unique_ptr<store::RocksStore> store;
  std::unique_ptr<projections::ProjectionRunner> runner;
  std::unique_ptr<TenantDirectory> directory;
};

v1::TenantDirectoryEntry must_get(TenantDirectory& directory, const std::string& id) {
  auto entry = directory.get(id);
  REQUIRE(entry.has_value());
  REQUIRE(entry->has_value());
  return **entry;
}

// Every page of a list, checking each page's bound; returns tenant ids in order.
std::vector<std::string> list_all(TenantDirectory& directory, ListQuery query, size_t* pages = nullptr) {
  std::vector<std::string> ids;
  for (size_t page_number = 0; page_number < kPagesMax; ++page_number) {
    auto page = directory.list(query);
    REQUIRE(page.has_value());
    REQUIRE(page->entries.size() <= query.page_size);
    for (const auto& entry : page->entries) ids.push_back(entry.tenant_id());
    if (page->next_cursor.empty()) {
      if (pages != nullptr) *pages = page_number + 1;
      return ids;
    }
    query.cursor = page->next_cursor;
  }
  FAIL("more than " << kPagesMax << " pages");
  return ids;
}

std::vector<std::string> search_all(TenantDirectory& directory, const std::string& prefix, size_t limit) {
  std::vector<std::string> ids;
  std::string cursor;
  for (size_t page_number = 0; page_number < kPagesMax; ++page_number) {
    auto page = directory.search(prefix, limit, cursor);
    REQUIRE(page.has_value());
    REQUIRE(page->entries.size() <= limit);
    for (const auto& entry : page->entries) ids.push_back(entry.tenant_id());
    if (page->next_cursor.empty()) return ids;
    cursor = page->next_cursor;
  }
  FAIL("more than " << kPagesMax << " pages");
  return ids;
}

std::string export_text(TenantDirectory& directory, const ListQuery& query, ExportFormat format,
                        size_t* chunks = nullptr) {
  std::string out;
  size_t count = 0;
  auto rows = directory.export_rows(query, format, [&](std::string_view chunk) {
    out.append(chunk);
    ++count;
    return true;
  });
  REQUIRE(rows.has_value());
  if (chunks != nullptr) *chunks = count;
  return out;
}

// A strict RFC 4180 reader: a quote or line break outside a quoted cell fails the test.
std::vector<std::vector<std::string>> parse_csv(std::string_view text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string cell;
  bool quoted = false;
  std::optional<size_t> stray;  // offset of the first character RFC 4180 does not allow there
  for (size_t i = 0; i < text.size() && !stray; ++i) {
    const char c = text[i];
    if (quoted) {
      if (c != '"') {
        cell.push_back(c);
      } else if (i + 1 < text.size() && text[i + 1] == '"') {
        cell.push_back('"');
        ++i;
      } else {
        quoted = false;
      }
    } else if (c == '"') {
      if (!cell.empty()) stray = i;
      quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(cell));
      cell.clear();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      row.push_back(std::move(cell));
      cell.clear();
      rows.push_back(std::move(row));
      row.clear();
      ++i;
    } else if (c == '\n' || c == '\r') {
      stray = i;
    } else {
      cell.push_back(c);
    }
  }
  INFO("stray character at offset " << stray.value_or(0));
  REQUIRE_FALSE(stray.has_value());
  REQUIRE_FALSE(quoted);
  REQUIRE(row.empty());  // every row ends with CRLF
  REQUIRE(cell.empty());
  return rows;
}

std::vector<Poco::JSON::Object::Ptr> parse_ndjson(const std::string& text) {
  std::vector<Poco::JSON::Object::Ptr> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    Poco::JSON::Parser parser;
    auto object = parser.parse(line).extract<Poco::JSON::Object::Ptr>();
    REQUIRE(object);
    out.push_back(object);
  }
  REQUIRE((text.empty() || text.back() == '\n'));
  return out;
}

// Everything the queries say, as one text, to compare before and after a rebuild.
std::string everything(TenantDirectory& directory) {
  std::string out;
  ListQuery all;
  all.page_size = 37;
  for (size_t page_number = 0; page_number < kPagesMax; ++page_number) {
    auto page = directory.list(all);
    REQUIRE(page.has_value());
    for (const auto& entry : page->entries) {
      out += entry.ShortDebugString() + "\n";
      auto operations = directory.operations(entry.tenant_id(), projections::kPageSizeMax);
      REQUIRE(operations.has_value());
      for (const auto& operation : operations->entries) out += "  " + operation.ShortDebugString() + "\n";
    }
    if (page->next_cursor.empty()) break;
    all.cursor = page->next_cursor;
  }
  for (const auto& id : search_all(directory, "org", 41)) out += "search " + id + "\n";
  for (const auto& domain : {"app.acme.example", "old.acme.example", "shop.t010.example"}) {
    auto found = directory.find_by_domain(domain);
    REQUIRE(found.has_value());
    out += std::string("domain ") + domain + " " + (*found ? (*found)->tenant_id() : "-") + "\n";
  }
  out += export_text(directory, {}, ExportFormat::csv);
  out += export_text(directory, {}, ExportFormat::ndjson);
  return out;
}

}  // namespace

TEMPLATE_TEST_CASE("tenant directory: queries over a real command history, rebuilt identically", "[directory]",
                   EmbeddedHarness, KafkaHarness) {
  TestType harness;
  Fixture fixture(harness.log());
  std::map<std::string, Expected> expected;

  // 120 numbered tenants, 10 per second, so created_at_us ranges select whole rounds.
  for (int round = 0; round < kNumberedTenants / 10; ++round) {
    std::vector<v1::CommandEnvelope> commands;
    for (int i = round * 10; i < round * 10 + 10; ++i) {
      const std::string id = numbered("t-%03d", i);
      const auto& plan = kPlans[i % 3];
      const auto tier = kTiers[(i / 3) % 3];
      const auto& region = kRegions[i % 2];
      commands.push_back(command(id, "register-" + id,
                                 registration(numbered("org-%03d", i), numbered("Org %03d", i), plan, tier, region),
                                 kSignup));
      expected[id] = {plan, tier, region, kStartUs + round * kRoundUs};
    }
    fixture.run(kStartUs + round * kRoundUs, commands);
  }

  const int64_t round12_us = kStartUs + 12 * kRoundUs;
  {
    v1::CloneTenant clone;
    clone.set_slug("acme-copy");
    clone.set_display_name("Acme Copy");
    clone.mutable_admin_contact()->set_name("Bo");
    clone.mutable_admin_contact()->set_email("bo@example.com");
    auto& source = *clone.mutable_source_tenant();
    source.set_tenant_id("t-acme");
    source.set_plan("pro");
    source.set_isolation_tier(v1::ISOLATION_TIER_DEDICATED);
    source.set_region("eu-west-1");
    source.set_status(v1::TENANT_STATUS_ACTIVE);
    fixture.run(round12_us,
                {command("t-acme", "acme-register",
                         registration("acme", "Acme, \"Quoted\" Corp", "pro", v1::ISOLATION_TIER_DEDICATED, "eu-west-1"),
                         kSignup),
                 command("t-formula", "formula-register",
                         registration("formula", "=HYPERLINK(\"http://evil.example\")", "free",
                                      v1::ISOLATION_TIER_SHARED, "us-east-1"),
                         kSignup),
                 command("t-acme-copy", "acme-clone", clone)});
    expected["t-acme"] = {"pro", v1::ISOLATION_TIER_DEDICATED, "eu-west-1", round12_us};
    expected["t-formula"] = {"free", v1::ISOLATION_TIER_SHARED, "us-east-1", round12_us};
    expected["t-acme-copy"] = {"pro", v1::ISOLATION_TIER_DEDICATED, "eu-west-1", round12_us};
  }

  const int64_t round13_us = kStartUs + 13 * kRoundUs;
  {
    std::vector<v1::CommandEnvelope> commands;
    v1::SuspendTenant suspend;
    suspend.set_reason("unpaid invoices");
    for (int i = 0; i < 10; ++i) {
      const std::string id = numbered("t-%03d", i);
      commands.push_back(command(id, "suspend-" + id, suspend));
      expected[id].status = v1::TENANT_STATUS_SUSPENDED;
    }
    v1::AddCustomDomain app, old, shop;
    app.set_domain("app.acme.example");
    old.set_domain("old.acme.example");
    shop.set_domain("shop.t010.example");
    commands.push_back(command("t-acme", "acme-add-app", app));
    commands.push_back(command("t-acme", "acme-add-old", old));
    commands.push_back(command("t-010", "t010-add-shop", shop));
    v1::ConfigureTenant configure;
    configure.set_display_name("Renamed Eleven");
    configure.set_plan("scale");
    commands.push_back(command("t-011", "t011-configure", configure));
    expected["t-011"].plan = "scale";
    fixture.run(round13_us, commands);
  }

  const int64_t round14_us = kStartUs + 14 * kRoundUs;
  {
    v1::VerifyCustomDomain verify_app, verify_shop;
    verify_app.set_domain("app.acme.example");
    verify_app.set_presented_token(fixture.verification_token("t-acme", "app.acme.example"));
    verify_shop.set_domain("shop.t010.example");
    verify_shop.set_presented_token(fixture.verification_token("t-010", "shop.t010.example"));
    v1::RemoveCustomDomain remove_old;
    remove_old.set_domain("old.acme.example");
    fixture.run(round14_us, {command("t-acme", "acme-verify-app", verify_app),
                             command("t-acme", "acme-remove-old", remove_old),
                             command("t-010", "t010-verify-shop", verify_shop)});
  }

  const int64_t round15_us = kStartUs + 15 * kRoundUs;
  {
    v1::RequestTenantDeletion request;
    request.set_grace_period_days(0);
    fixture.run(round15_us, {command("t-010", "t010-delete", request),
                             command("t-010", "t010-complete", v1::CompleteTenantDeletion{})});
    expected["t-010"].status = v1::TENANT_STATUS_DELETED;
  }

  fixture.project();
  auto& directory = *fixture.directory;

  // Expected ids of a filter, in the directory's order (created_at_us, then id).
  auto expected_ids = [&](const std::function<bool(const Expected&)>& keep) {
    std::vector<std::pair<int64_t, std::string>> order;
    for (const auto& [id, e] : expected) {
      if (keep(e)) order.emplace_back(e.created_at_us, id);
    }
    std::ranges::sort(order);
    std::vector<std::string> ids;
    for (auto& [created, id] : order) ids.push_back(id);
    return ids;
  };

  // ---- get, by slug, by domain ----
  const auto acme = must_get(directory, "t-acme");
  CHECK(acme.slug() == "acme");
  CHECK(acme.display_name() == "Acme, \"Quoted\" Corp");
  CHECK(acme.plan() == "pro");
  CHECK(acme.isolation_tier() == v1::ISOLATION_TIER_DEDICATED);
  CHECK(acme.region() == "eu-west-1");
  CHECK(acme.status() == v1::TENANT_STATUS_ACTIVE);
  CHECK(acme.created_at_us() == round12_us);
  CHECK(acme.updated_at_us() == round14_us);
  CHECK(acme.version() == 5);
  REQUIRE(acme.custom_domains_size() == 1);
  CHECK(acme.custom_domains(0).domain() == "app.acme.example");
  CHECK(acme.custom_domains(0).verified());
  CHECK(acme.custom_domains(0).added_at_us() == round13_us);
  CHECK(acme.custom_domains(0).verified_at_us() == round14_us);
  CHECK(must_get(directory, "t-acme-copy").cloned_from().tenant_id() == "t-acme");
  CHECK_FALSE(directory.get("t-nobody")->has_value());

  auto by_slug = directory.find_by_slug("ACME");
  REQUIRE(by_slug.has_value());
  REQUIRE(by_slug->has_value());
  CHECK((*by_slug)->tenant_id() == "t-acme");
  CHECK_FALSE(directory.find_by_slug("acm")->has_value());
  auto by_domain = directory.find_by_domain("App.Acme.Example.");
  REQUIRE(by_domain.has_value());
  REQUIRE(by_domain->has_value());
  CHECK((*by_domain)->tenant_id() == "t-acme");
  // Removed from a live tenant, and released by a deleted one.
  CHECK_FALSE(directory.find_by_domain("old.acme.example")->has_value());
  CHECK_FALSE(directory.find_by_domain("shop.t010.example")->has_value());
  const auto deleted = must_get(directory, "t-010");
  CHECK(deleted.status() == v1::TENANT_STATUS_DELETED);
  CHECK(deleted.custom_domains_size() == 0);
  CHECK(directory.find_by_slug("org-010")->value().tenant_id() == "t-010");  // stays in the directory

  // ---- filters ----
  ListQuery suspended;
  suspended.status = v1::TENANT_STATUS_SUSPENDED;
  CHECK(list_all(directory, suspended) ==
        expected_ids([](const Expected& e) { return e.status == v1::TENANT_STATUS_SUSPENDED; }));
  CHECK(list_all(directory, suspended).size() == 10);
  ListQuery deleted_only;
  deleted_only.status = v1::TENANT_STATUS_DELETED;
  CHECK(list_all(directory, deleted_only) == std::vector<std::string>{"t-010"});
  ListQuery scale;
  scale.plan = "scale";
  CHECK(list_all(directory, scale) == std::vector<std::string>{"t-011"});
  ListQuery pro;
  pro.plan = "pro";
  CHECK(list_all(directory, pro) == expected_ids([](const Expected& e) { return e.plan == "pro"; }));
  ListQuery dedicated;
  dedicated.isolation_tier = v1::ISOLATION_TIER_DEDICATED;
  CHECK(list_all(directory, dedicated) ==
        expected_ids([](const Expected& e) { return e.tier == v1::ISOLATION_TIER_DEDICATED; }));
  ListQuery us;
  us.region = "us-east-1";
  us.page_size = 7;
  CHECK(list_all(directory, us) == expected_ids([](const Expected& e) { return e.region == "us-east-1"; }));
  ListQuery created;
  created.created_from_us = kStartUs + 2 * kRoundUs;
  created.created_before_us = kStartUs + 4 * kRoundUs;
  const auto created_ids = list_all(directory, created);
  CHECK(created_ids.size() == 20);
  CHECK(created_ids.front() == "t-020");
  CHECK(created_ids.back() == "t-039");
  ListQuery combined;
  combined.status = v1::TENANT_STATUS_ACTIVE;
  combined.plan = "pro";
  combined.region = "eu-west-1";
  combined.created_from_us = kStartUs + 5 * kRoundUs;
  CHECK(list_all(directory, combined) == expected_ids([&](const Expected& e) {
          return e.status == v1::TENANT_STATUS_ACTIVE && e.plan == "pro" && e.region == "eu-west-1" &&
                 e.created_at_us >= kStartUs + 5 * kRoundUs;
        }));
  CHECK_FALSE(list_all(directory, combined).empty());

  // ---- pagination: 123 tenants in pages of 50, no duplicates, no gaps ----
  size_t pages = 0;
  const auto all_ids = list_all(directory, {}, &pages);
  CHECK(pages == 3);
  CHECK(all_ids.size() == expected.size());
  CHECK(std::set<std::string>(all_ids.begin(), all_ids.end()).size() == all_ids.size());
  CHECK(all_ids == expected_ids([](const Expected&) { return true; }));

  // ---- search ----
  auto org01 = search_all(directory, "org-01", 4);
  CHECK(org01 == std::vector<std::string>{"t-010", "t-011", "t-012", "t-013", "t-014", "t-015", "t-016", "t-017",
                                          "t-018", "t-019"});
  // Slug and name both match "org": each tenant once across pages.
  auto org = search_all(directory, "ORG", 50);
  CHECK(org.size() == kNumberedTenants);
  CHECK(std::set<std::string>(org.begin(), org.end()).size() == org.size());
  CHECK(search_all(directory, "renamed", 10) == std::vector<std::string>{"t-011"});
  CHECK(search_all(directory, "acme", 10) == std::vector<std::string>{"t-acme", "t-acme-copy"});
  CHECK(search_all(directory, "org 011", 10).empty());  // renamed away
  CHECK(search_all(directory, "zzz", 10).empty());

  // ---- export ----
  size_t chunks = 0;
  const auto csv = parse_csv(export_text(directory, {}, ExportFormat::csv, &chunks));
  CHECK(chunks == 2);  // the header, then one page of up to 500 rows
  REQUIRE(csv.size() == expected.size() + 1);
  CHECK(csv[0][0] == "tenant_id");
  CHECK(csv[0][2] == "display_name");
  for (const auto& row : csv) REQUIRE(row.size() == csv[0].size());
  auto row_of = [&](const std::string& id) {
    for (const auto& row : csv) {
      if (row[0] == id) return row;
    }
    FAIL("no row for " << id);
    return csv[0];
  };
  CHECK(row_of("t-acme")[2] == "Acme, \"Quoted\" Corp");
  CHECK(row_of("t-acme")[12] == "app.acme.example");
  CHECK(row_of("t-formula")[2] == "'=HYPERLINK(\"http://evil.example\")");
  CHECK(row_of("t-000")[6] == "suspended");
  CHECK(row_of("t-000")[7] == "unpaid invoices");
  const auto ndjson = parse_ndjson(export_text(directory, {}, ExportFormat::ndjson));
  REQUIRE(ndjson.size() == expected.size());
  for (const auto& object : ndjson) {
    if (object->getValue<std::string>("tenant_id") != "t-acme") continue;
    CHECK(object->getValue<std::string>("display_name") == "Acme, \"Quoted\" Corp");
    CHECK(object->getValue<int64_t>("version") == 5);
    CHECK(object->getArray("custom_domains")->getObject(0)->getValue<bool>("verified"));
  }
  ListQuery suspended_export;
  suspended_export.status = v1::TENANT_STATUS_SUSPENDED;
  CHECK(parse_ndjson(export_text(directory, suspended_export, ExportFormat::ndjson)).size() == 10);
  uint64_t handed = 0;
  auto stopped = directory.export_rows({}, ExportFormat::csv, [&](std::string_view) { return ++handed < 1; });
  REQUIRE(stopped.has_value());
  CHECK(*stopped == 0);  // the sink refused after the header

  // ---- operation log ----
  auto operations = directory.operations("t-acme", 2);
  REQUIRE(operations.has_value());
  std::vector<v1::TenantOperation> acme_operations(operations->entries.begin(), operations->entries.end());
  while (!operations->next_cursor.empty()) {
    operations = directory.operations("t-acme", 2, operations->next_cursor);
    REQUIRE(operations.has_value());
    REQUIRE(operations->entries.size() <= 2);
    acme_operations.insert(acme_operations.end(), operations->entries.begin(), operations->entries.end());
  }
  REQUIRE(acme_operations.size() == 5);
  const std::vector<std::string> types = {"tenantry.v1.TenantRegistered", "tenantry.v1.CustomDomainAdded",
                                          "tenantry.v1.CustomDomainAdded", "tenantry.v1.CustomDomainVerified",
                                          "tenantry.v1.CustomDomainRemoved"};
  const std::vector<std::string> command_ids = {"acme-register", "acme-add-app", "acme-add-old", "acme-verify-app",
                                                "acme-remove-old"};
  const std::vector<int64_t> times = {round12_us, round13_us, round13_us, round14_us, round14_us};
  for (size_t i = 0; i < acme_operations.size(); ++i) {
    const auto& operation = acme_operations[i];
    CHECK(operation.sequence() == i + 1);
    CHECK(operation.event_type() == types[i]);
    CHECK(operation.command_id() == command_ids[i]);
    CHECK(operation.occurred_at_us() == times[i]);
    CHECK_FALSE(operation.event_id().empty());
    CHECK(operation.actor().kind() == (i == 0 ? "service" : "operator"));
    CHECK(operation.actor().id() == (i == 0 ? "signup" : "ana"));
    CHECK(operation.actor().role() == (i == 0 ? "service" : "platform_admin"));
  }
  auto deleted_operations = directory.operations("t-010", 50);
  REQUIRE(deleted_operations.has_value());
  REQUIRE(deleted_operations->entries.size() == 5);
  CHECK(deleted_operations->entries.back().event_type() == "tenantry.v1.TenantDeleted");
  CHECK(deleted_operations->next_cursor.empty());

  // ---- rebuild from offset 0 ----
  const std::string before = everything(directory);
  REQUIRE(fixture.runner->rebuild().has_value());
  CHECK_FALSE(directory.get("t-acme")->has_value());
  fixture.project();
  CHECK(everything(directory) == before);
}

namespace {

// The model alone over events written directly (one partition), for what commands
// cannot produce.
struct ModelFixture {
  ModelFixture() {
    REQUIRE(harness.log().create_topic({"tenantry.events", 1}).has_value());
    auto claimed = log::FencedWriter::claim(harness.log(), "tenantry.events", 0, "test", 1);
    REQUIRE(claimed.has_value());
    writer = std::move(*claimed);
    auto opened = store::RocksStore::open({(dir.path() / "directory").string(),
                                           projections::TenantDirectoryModel::store_families()});
    REQUIRE(opened.has_value());
    store = std::move(*opened);
    runner = std::make_unique<projections::ProjectionRunner>(harness.log(), *store, model);
    directory = std::make_unique<TenantDirectory>(*store);
  }

  void emit_raw(const std::string& tenant, const std::string& type, const std::string& payload, int64_t at_us) {
    log::WriterAppend append;
    log::EventDraft draft;
    draft.envelope.set_tenant_id(tenant);
    draft.envelope.set_event_id(tenant + "-" + std::to_string(at_us));
    draft.envelope.set_event_type(type);
    draft.envelope.set_occurred_at_us(at_us);
    draft.envelope.set_payload(payload);
    *draft.envelope.mutable_actor() = kOperator;
    append.events.push_back(std::move(draft));
    REQUIRE(writer->append(std::move(append)).has_value());
  }

  template <class Event>
  void emit(const std::string& tenant, const Event& event, int64_t at_us) {
    emit_raw(tenant, Event::descriptor()->full_name(), event.SerializeAsString(), at_us);
  }

  static log::EventDraft registration_draft(const std::string& tenant, const std::string& slug, const std::string& name,
                                            int64_t at_us, const std::string& plan = "pro") {
    v1::TenantRegistered registered;
    registered.set_tenant_id(tenant);
    registered.set_slug(slug);
    registered.set_display_name(name);
    registered.set_plan(plan);
    registered.set_isolation_tier(v1::ISOLATION_TIER_SHARED);
    registered.set_region("eu-west-1");
    registered.set_registered_at_us(at_us);
    log::EventDraft draft;
    draft.envelope.set_tenant_id(tenant);
    draft.envelope.set_event_type(v1::TenantRegistered::descriptor()->full_name());
    draft.envelope.set_occurred_at_us(at_us);
    draft.envelope.set_payload(registered.SerializeAsString());
    return draft;
  }

  void register_tenant(const std::string& tenant, const std::string& slug, const std::string& name, int64_t at_us) {
    log::WriterAppend append;
    append.events.push_back(registration_draft(tenant, slug, name, at_us));
    REQUIRE(writer->append(std::move(append)).has_value());
  }

  // Many registrations, 1000 to an append so the test does not pay an fsync each.
  void register_many(int count, const std::function<std::string(int)>& plan_of) {
    for (int first = 0; first < count; first += 1000) {
      log::WriterAppend append;
      for (int i = first; i < std::min(count, first + 1000); ++i) {
        const std::string id = numbered("t-%05d", i);
        append.events.push_back(registration_draft(id, numbered("s-%05d", i), id, kStartUs + i, plan_of(i)));
      }
      REQUIRE(writer->append(std::move(append)).has_value());
    }
  }

  void project() {
    auto applied = runner->catch_up();
    REQUIRE(applied.has_value());
    REQUIRE(runner->violations().empty());
  }

  // Keys of one kind in the directory's family, to see that no stale index key is left.
  size_t keys_of_kind(const std::string& kind) {
    size_t count = 0;
    REQUIRE(store->scan(projections::kTenantDirectoryFamily, kind, "", 100'000,
                        [&](std::string_view, std::string_view) { return ++count > 0; })
                .has_value());
    return count;
  }

  EmbeddedHarness harness;
  testing::ScratchDir dir;
  std::unique_ptr<log::FencedWriter> writer;
  projections::TenantDirectoryModel model;
  std::unique_ptr<store::RocksStore> store;
  std::unique_ptr<projections::ProjectionRunner> runner;
  std::unique_ptr<TenantDirectory> directory;
};

}  // namespace

TEST_CASE("tenant directory: unknown and unreadable events are passed over but logged", "[directory]") {
  ModelFixture fixture;
  fixture.register_tenant("t-x", "xylo", "Xylo", kStartUs);
  fixture.emit_raw("t-x", "tenantry.v1.TenantTeleported", "whatever bytes", kStartUs + 1);
  fixture.emit_raw("t-x", "tenantry.v1.TenantSuspended", "\xff\xff\xff", kStartUs + 2);
  v1::TenantConfigured configured;
  configured.set_display_name("Xylo Two");
  fixture.emit("t-x", configured, kStartUs + 3);
  fixture.emit_raw("t-unregistered", "tenantry.v1.TenantSuspended", v1::TenantSuspended{}.SerializeAsString(),
                   kStartUs + 4);
  fixture.project();

  const auto entry = must_get(*fixture.directory, "t-x");
  CHECK(entry.status() == v1::TENANT_STATUS_ACTIVE);  // the unreadable suspension changed nothing
  CHECK(entry.display_name() == "Xylo Two");
  CHECK(entry.version() == 4);
  CHECK(entry.updated_at_us() == kStartUs + 3);
  auto operations = fixture.directory->operations("t-x", 10);
  REQUIRE(operations.has_value());
  REQUIRE(operations->entries.size() == 4);
  CHECK(operations->entries[1].event_type() == "tenantry.v1.TenantTeleported");
  CHECK_FALSE(operations->entries[1].payload_unreadable());
  CHECK(operations->entries[2].event_type() == "tenantry.v1.TenantSuspended");
  CHECK(operations->entries[2].payload_unreadable());
  CHECK(operations->entries[3].sequence() == 4);
  // An event before any registration is logged, and makes no entry.
  CHECK_FALSE(fixture.directory->get("t-unregistered")->has_value());
  CHECK(fixture.directory->operations("t-unregistered", 10)->entries.size() == 1);
}

TEST_CASE("tenant directory: CSV and NDJSON escape text that commands would refuse", "[directory]") {
  ModelFixture fixture;
  const std::vector<std::pair<std::string, std::string>> names = {
      {"t-1", "line one\nline two"}, {"t-2", "@SUM(A1)"},   {"t-3", "+1 555"},          {"t-4", "-2+3"},
      {"t-5", "tab\tfirst"},         {"t-6", "\tleading"}, {"t-7", "back\\slash \"q\""}, {"t-8", "caf\xc3\xa9, ok"},
  };
  for (size_t i = 0; i < names.size(); ++i) {
    fixture.register_tenant(names[i].first, "slug-" + std::to_string(i), names[i].second,
                            kStartUs + static_cast<int64_t>(i));
  }
  fixture.project();

  const auto rows = parse_csv(export_text(*fixture.directory, {}, ExportFormat::csv));
  REQUIRE(rows.size() == names.size() + 1);
  const std::vector<std::string> cells = {"line one\nline two", "'@SUM(A1)", "'+1 555",            "'-2+3",
                                          "tab\tfirst",         "'\tleading", "back\\slash \"q\"", "caf\xc3\xa9, ok"};
  for (size_t i = 0; i < names.size(); ++i) {
    CHECK(rows[i + 1][0] == names[i].first);
    CHECK(rows[i + 1][2] == cells[i]);
  }
  const auto objects = parse_ndjson(export_text(*fixture.directory, {}, ExportFormat::ndjson));
  REQUIRE(objects.size() == names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    CHECK(objects[i]->getValue<std::string>("display_name") == names[i].second);  // JSON needs no neutralising
  }
}

TEST_CASE("tenant directory: rival slug and domain claimants, and indexes that follow changes", "[directory]") {
  ModelFixture fixture;
  auto& directory = *fixture.directory;
  auto slug_owner = [&](const std::string& slug) {
    auto found = directory.find_by_slug(slug);
    REQUIRE(found.has_value());
    return found->has_value() ? (*found)->tenant_id() : std::string("-");
  };
  auto domain_owner = [&](const std::string& domain) {
    auto found = directory.find_by_domain(domain);
    REQUIRE(found.has_value());
    return found->has_value() ? (*found)->tenant_id() : std::string("-");
  };

  fixture.register_tenant("t-b", "same", "Bee", kStartUs + 1);
  fixture.register_tenant("t-a", "same", "Ay", kStartUs);  // created earlier, logged later
  v1::CustomDomainAdded added;
  added.set_domain("x.example");
  fixture.emit("t-a", added, kStartUs + 2);
  fixture.emit("t-b", added, kStartUs + 3);
  fixture.project();
  CHECK(slug_owner("same") == "t-a");    // both live: the earliest created
  CHECK(domain_owner("x.example") == "t-a");  // both unverified: the earliest added

  v1::CustomDomainVerified verified;
  verified.set_domain("x.example");
  fixture.emit("t-b", verified, kStartUs + 4);
  fixture.project();
  CHECK(domain_owner("x.example") == "t-b");  // a verified claim wins

  v1::TenantDeletionRequested requested;
  requested.set_deletion_due_at_us(kStartUs + 5);
  fixture.emit("t-a", requested, kStartUs + 5);
  fixture.emit("t-a", v1::TenantDeleted{}, kStartUs + 6);
  fixture.project();
  CHECK(slug_owner("same") == "t-b");  // a live tenant before a deleted one
  CHECK(must_get(directory, "t-a").custom_domains_size() == 0);
  CHECK(fixture.keys_of_kind("domain.claimed/") == 0);
  CHECK(fixture.keys_of_kind("domain.verified/") == 1);
  ListQuery deleted;
  deleted.status = v1::TENANT_STATUS_DELETED;
  CHECK(list_all(directory, deleted) == std::vector<std::string>{"t-a"});
  ListQuery active;
  active.status = v1::TENANT_STATUS_ACTIVE;
  CHECK(list_all(directory, active) == std::vector<std::string>{"t-b"});
  CHECK(fixture.keys_of_kind("list.status/") == 2);  // one per tenant: the old status key went

  v1::CustomDomainRemoved removed;
  removed.set_domain("x.example");
  fixture.emit("t-b", removed, kStartUs + 7);
  v1::TenantConfigured configured;
  configured.set_display_name("Honey");
  configured.set_plan("team");
  fixture.emit("t-b", configured, kStartUs + 8);
  fixture.project();
  CHECK(domain_owner("x.example") == "-");
  CHECK(fixture.keys_of_kind("domain.verified/") == 0);
  CHECK(search_all(directory, "bee", 10).empty());
  CHECK(search_all(directory, "hon", 10) == std::vector<std::string>{"t-b"});
  ListQuery pro;
  pro.plan = "pro";
  CHECK(list_all(directory, pro) == std::vector<std::string>{"t-a"});
  CHECK(fixture.keys_of_kind("list.plan/") == 2);
  CHECK(fixture.keys_of_kind("search/") == 4);  // two tenants: slug and name each
}

TEST_CASE("tenant directory: bounds and cursors are checked", "[directory]") {
  ModelFixture fixture;
  for (int i = 0; i < 5; ++i) fixture.register_tenant(numbered("t-%d", i), numbered("slug-%d", i), "Name", kStartUs + i);
  fixture.project();
  auto& directory = *fixture.directory;

  auto invalid_cursor = [](const auto& result) {
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == log::ErrorCode::invalid_argument);
    CHECK(result.error().message.find("cursor") != std::string::npos);
  };
  ListQuery query;
  query.page_size = 2;
  for (const char* bad : {"zz", "abc", "4c", "4c00000000ff"}) {
    query.cursor = bad;
    invalid_cursor(directory.list(query));
    invalid_cursor(directory.search("slug", 2, bad));
    invalid_cursor(directory.operations("t-0", 2, bad));
  }
  query.cursor.clear();
  auto first = directory.list(query);
  REQUIRE(first.has_value());
  REQUIRE_FALSE(first->next_cursor.empty());
  // A cursor belongs to its query: another filter, a search or an operation log refuse it.
  ListQuery other = query;
  other.region = "eu-west-1";
  other.cursor = first->next_cursor;
  invalid_cursor(directory.list(other));
  invalid_cursor(directory.search("slug", 2, first->next_cursor));
  invalid_cursor(directory.operations("t-0", 2, first->next_cursor));
  // The page size may change between pages of one query.
  ListQuery wider = query;
  wider.page_size = 10;
  wider.cursor = first->next_cursor;
  auto rest = directory.list(wider);
  REQUIRE(rest.has_value());
  CHECK(rest->entries.size() == 3);
  CHECK(rest->next_cursor.empty());

  for (size_t size : {size_t{0}, projections::kPageSizeMax + 1}) {
    ListQuery sized;
    sized.page_size = size;
    auto refused = directory.list(sized);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().message.find("page_size") != std::string::npos);
    CHECK_FALSE(directory.search("slug", size).has_value());
    CHECK_FALSE(directory.operations("t-0", size).has_value());
  }
  CHECK(ListQuery{}.page_size == 50);
  CHECK_FALSE(directory.search("").has_value());
  CHECK_FALSE(directory.operations("").has_value());
}

TEST_CASE("tenant directory: a selective filter stops at the scan budget and resumes by cursor", "[directory]") {
  ModelFixture fixture;
  // The status index (active) is the one the query walks; the plan filter matches two
  // tenants beyond the first page's budget of examined keys.
  const int count = static_cast<int>(projections::kScanBudgetKeys) + 500;
  fixture.register_many(count, [&](int i) { return i == 3 || i == count - 1 ? "rare" : "common"; });
  fixture.project();

  ListQuery query;
  query.status = v1::TENANT_STATUS_ACTIVE;
  query.plan = "rare";
  query.page_size = 10;
  auto first = fixture.directory->list(query);
  REQUIRE(first.has_value());
  REQUIRE(first->entries.size() == 1);  // the budget ended the page before it was full
  CHECK(first->entries[0].tenant_id() == "t-00003");
  REQUIRE_FALSE(first->next_cursor.empty());
  query.cursor = first->next_cursor;
  auto second = fixture.directory->list(query);
  REQUIRE(second.has_value());
  REQUIRE(second->entries.size() == 1);
  CHECK(second->entries[0].tenant_id() == numbered("t-%05d", count - 1));
  CHECK(second->next_cursor.empty());
  // An export walks every page the same way.
  query.cursor.clear();
  CHECK(parse_ndjson(export_text(*fixture.directory, query, ExportFormat::ndjson)).size() == 2);
  ListQuery everyone;
  CHECK(parse_csv(export_text(*fixture.directory, everyone, ExportFormat::csv)).size() == static_cast<size_t>(count) + 1);
}
