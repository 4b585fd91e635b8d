// /v1/audit end to end: `tenantry serve` on the embedded log, real sockets. What the
// server hands an auditor (public key, signed checkpoints, inclusion and consistency
// proofs) is checked offline by `tenantry audit check` with nothing else; states and
// events come back rebuilt from the log; a tenant's own auditor stays inside it.
#include <catch2/catch.hpp>

#include <Poco/JSON/Array.h>

#include <fstream>
#include <sstream>

#include "child_process.h"
#include "gateway/api_client.h"
#include "gateway/serve_fixture.h"
#include "http/jwt_test_support.h"
#include "test_support.h"

using namespace std::chrono_literals;
using tenantry::testing::ApiClient;
using tenantry::testing::Reply;

namespace {

const std::string kSecret = "audit-api-test-secret-of-at-least-32-bytes";

std::string token(const std::string& subject, const std::string& role, const std::string& tenant = {}) {
  return tenantry::testing::jwt::bearer_hs256(kSecret, subject, "[\"" + role + "\"]", tenant);
}

std::string registration(const std::string& id, const std::string& slug) {
  return R"({"id":")" + id + R"(","slug":")" + slug + R"(","displayName":")" + slug +
         R"(","plan":"pro","isolationTier":"shared","region":"eu-west-1","adminContact":{"name":"A","email":"a@example.com"}})";
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// The latest checkpoint of `partition` in a /v1/audit/checkpoints reply, if any.
Poco::JSON::Object::Ptr checkpoint_of(const Reply& reply, int32_t partition) {
  auto list = tenantry::testing::data_of(reply)->getArray("checkpoints");
  for (size_t i = 0; i < list->size(); ++i) {
    auto one = list->getObject(static_cast<unsigned>(i));
    if (one->getValue<int32_t>("partition") == partition) return one;
  }
  return nullptr;
}

tenantry::testing::Finished check(const std::vector<std::string>& files) {
  std::vector<std::string> argv = {TENANTRY_BINARY, "audit", "check"};
  argv.insert(argv.end(), files.begin(), files.end());
  return tenantry::testing::run_to_end(argv);
}

}  // namespace

TEST_CASE("audit API: checkpoints and proofs from the server verify offline with the public key alone",
          "[gateway][audit][serve]") {
  tenantry::testing::ServeFixture serve("embedded", {"--jwt-hs256-secret", kSecret, "--checkpoint-interval-s", "0"});
  ApiClient api{serve.port()};
  const std::string admin = token("root", "platform_admin");
  const std::string auditor = token("auditor-1", "auditor");
  tenantry::testing::ScratchDir files;
  auto file = [&files](const std::string& name) { return (files.path() / name).string(); };

  for (const auto& [id, slug] : {std::pair{"acme", "acme"}, std::pair{"globex", "globex"}}) {
    auto registered = api.call("POST", "/v1/tenants", admin, registration(id, slug));
    INFO(registered.text);
    REQUIRE(registered.status == 201);
  }

  // The key, as PEM, straight into a file the offline checker reads.
  auto key = api.call("GET", "/v1/audit/public-key?format=pem", auditor);
  REQUIRE(key.status == 200);
  CHECK_THAT(key.text, Catch::StartsWith("-----BEGIN PUBLIC KEY-----"));
  write_file(file("platform.pub"), key.text);
  // serve created the key under its data directory, private to its owner.
  const auto private_key = serve.data_dir() / "audit" / "signing-key.pem";
  REQUIRE(std::filesystem::exists(private_key));
  CHECK((std::filesystem::status(private_key).permissions() & std::filesystem::perms::group_all) ==
        std::filesystem::perms::none);

  // Signed on demand, once the Merkle projection holds acme's registration.
  auto acme_proof = api.until("/v1/audit/proofs/inclusion?tenant=acme&sequence=1", auditor,
                              [](const Reply& r) { return r.status == 200; });
  const auto acme_partition = tenantry::testing::data_of(acme_proof)->getValue<int32_t>("partition");
  auto published = api.call("POST", "/v1/audit/checkpoints", auditor);
  INFO(published.text);
  REQUIRE(published.status == 201);
  auto first = checkpoint_of(published, acme_partition);
  REQUIRE(first);
  const auto old_size = first->getValue<uint64_t>("treeSize");
  CHECK(old_size >= 1);
  write_file(file("old.checkpoint"), first->getValue<std::string>("note"));
  auto as_note = api.call("GET", "/v1/audit/checkpoints/" + std::to_string(acme_partition) + "?format=note", auditor);
  REQUIRE(as_note.status == 200);
  CHECK(as_note.text == first->getValue<std::string>("note"));

  // A proof now defaults to the latest checkpoint's size and names that checkpoint.
  auto proof = api.call("GET", "/v1/audit/proofs/inclusion?tenant=acme&sequence=1", auditor);
  REQUIRE(proof.status == 200);
  CHECK(tenantry::testing::data_of(proof)->getValue<uint64_t>("tree_size") == old_size);
  CHECK(tenantry::testing::data_of(proof)->getValue<std::string>("checkpoint") == first->getValue<std::string>("note"));
  write_file(file("inclusion.json"), proof.text);
  auto verified = check({"--public-key", file("platform.pub"), "--checkpoint", file("old.checkpoint"), "--proof",
                         file("inclusion.json")});
  INFO(verified.err);
  CHECK(verified.code == 0);
  CHECK_THAT(verified.out, Catch::Contains("VERIFIED: the event of tenant acme, sequence 1"));

  // The same event named by partition and offset gives the same proof.
  const auto offset = tenantry::testing::data_of(proof)->getValue<int64_t>("offset");
  auto by_offset = api.call("GET",
                            "/v1/audit/proofs/inclusion?partition=" + std::to_string(acme_partition) +
                                "&offset=" + std::to_string(offset),
                            auditor);
  REQUIRE(by_offset.status == 200);
  CHECK(tenantry::testing::data_of(by_offset)->getValue<std::string>("event") ==
        tenantry::testing::data_of(proof)->getValue<std::string>("event"));

  // The log grows; a newer checkpoint must extend the older one.
  REQUIRE(api.call("POST", "/v1/tenants/acme/suspend", admin, R"({"reason":"unpaid invoice"})").status == 200);
  Poco::JSON::Object::Ptr second;
  REQUIRE(tenantry::testing::eventually(20s, [&] {
    auto again = api.call("POST", "/v1/audit/checkpoints", auditor);
    second = again.status == 201 ? checkpoint_of(again, acme_partition) : nullptr;
    return second && second->getValue<uint64_t>("treeSize") > old_size;
  }));
  const auto new_size = second->getValue<uint64_t>("treeSize");
  write_file(file("new.checkpoint"), second->getValue<std::string>("note"));
  auto consistency = api.call("GET",
                              "/v1/audit/proofs/consistency?partition=" + std::to_string(acme_partition) +
                                  "&from=" + std::to_string(old_size),
                              auditor);
  INFO(consistency.text);
  REQUIRE(consistency.status == 200);
  CHECK(tenantry::testing::data_of(consistency)->getValue<uint64_t>("new_size") == new_size);
  write_file(file("consistency.json"), consistency.text);
  auto extends = check({"--public-key", file("platform.pub"), "--old-checkpoint", file("old.checkpoint"),
                        "--checkpoint", file("new.checkpoint"), "--proof", file("consistency.json")});
  INFO(extends.err);
  CHECK(extends.code == 0);
  CHECK_THAT(extends.out, Catch::Contains("extends the " + std::to_string(old_size) + "-event tree"));
  // The checkpoints the other way round are refused, as is a proof without the older one.
  auto swapped = check({"--public-key", file("platform.pub"), "--old-checkpoint", file("new.checkpoint"),
                        "--checkpoint", file("old.checkpoint"), "--proof", file("consistency.json")});
  CHECK(swapped.code == 1);
  CHECK_THAT(swapped.err, Catch::Contains("NOT VERIFIED"));
  auto lone = check({"--public-key", file("platform.pub"), "--checkpoint", file("new.checkpoint"), "--proof",
                     file("consistency.json")});
  CHECK(lone.code == 1);
  CHECK_THAT(lone.err, Catch::Contains("--old-checkpoint"));

  // The old proof is still good against the old checkpoint; an older checkpoint is found by size.
  auto old_again = api.call("GET",
                            "/v1/audit/checkpoints/" + std::to_string(acme_partition) +
                                "?treeSize=" + std::to_string(old_size),
                            auditor);
  REQUIRE(old_again.status == 200);
  CHECK(tenantry::testing::data_of(old_again)->getValue<std::string>("note") == first->getValue<std::string>("note"));

  SECTION("state and events are rebuilt from the log") {
    auto before = api.call("GET", "/v1/audit/tenants/acme/state?atSequence=1", auditor);
    INFO(before.text);
    REQUIRE(before.status == 200);
    CHECK(tenantry::testing::data_of(before)->getValue<std::string>("status") == "active");
    auto now = api.call("GET", "/v1/audit/tenants/acme/state?asOf=2100-01-01T00:00:00Z", auditor);
    REQUIRE(now.status == 200);
    CHECK(tenantry::testing::data_of(now)->getValue<std::string>("status") == "suspended");
    CHECK(tenantry::testing::data_of(now)->getValue<std::string>("suspension_reason") == "unpaid invoice");

    auto events = api.call("GET", "/v1/audit/tenants/acme/events", auditor);
    REQUIRE(events.status == 200);
    CHECK_THAT(events.content_type, Catch::StartsWith("application/x-ndjson"));
    CHECK_THAT(events.text, Catch::Contains("TenantRegistered"));
    CHECK_THAT(events.text, Catch::Contains("TenantSuspended"));
    CHECK_THAT(events.text, !Catch::Contains("globex"));
    auto suspended = api.call("GET", "/v1/audit/tenants/acme/events?type=TenantSuspended&format=csv", auditor);
    REQUIRE(suspended.status == 200);
    CHECK_THAT(suspended.content_type, Catch::StartsWith("text/csv"));
    CHECK_THAT(suspended.text, Catch::Contains("TenantSuspended"));
    CHECK_THAT(suspended.text, !Catch::Contains("TenantRegistered"));
  }

  SECTION("a tenant's own auditor sees that tenant only; other roles see nothing") {
    const std::string own = token("acme-auditor", "auditor", "acme");
    CHECK(api.call("GET", "/v1/audit/tenants/acme/state?atSequence=1", own).status == 200);
    CHECK(api.call("GET", "/v1/audit/proofs/inclusion?tenant=acme&sequence=1", own).status == 200);
    CHECK(api.call("GET", "/v1/audit/checkpoints", own).status == 200);
    auto other_state = api.call("GET", "/v1/audit/tenants/globex/state?atSequence=1", own);
    CHECK(other_state.status == 403);
    CHECK(tenantry::testing::error_type(other_state) == "tenant_mismatch");
    auto other_events = api.call("GET", "/v1/audit/tenants/globex/events", own);
    CHECK(other_events.status == 403);
    auto other_proof = api.call("GET", "/v1/audit/proofs/inclusion?tenant=globex&sequence=1", own);
    CHECK(other_proof.status == 403);
    // Named by offset, globex's event is still globex's.
    auto globex = api.until("/v1/audit/proofs/inclusion?tenant=globex&sequence=1", auditor,
                            [](const Reply& r) { return r.status == 200; });
    auto globex_data = tenantry::testing::data_of(globex);
    auto by_offset = api.call("GET",
                              "/v1/audit/proofs/inclusion?partition=" +
                                  std::to_string(globex_data->getValue<int32_t>("partition")) +
                                  "&offset=" + std::to_string(globex_data->getValue<int64_t>("offset")),
                              own);
    CHECK(by_offset.status == 403);
    CHECK_THAT(by_offset.text, !Catch::Contains(globex_data->getValue<std::string>("event")));

    for (const auto& who : {token("acme-admin", "tenant_admin", "acme"), token("analyst-1", "analyst")}) {
      auto refused = api.call("GET", "/v1/audit/checkpoints", who);
      CHECK(refused.status == 403);
      CHECK(api.call("GET", "/v1/audit/tenants/acme/state?atSequence=1", who).status == 403);
    }
    CHECK(api.call("GET", "/v1/audit/checkpoints", "").status == 401);
  }

  SECTION("bad requests name the field at fault") {
    const std::string p = std::to_string(acme_partition);
    struct Case {
      std::string path;
      int status;
      std::string type;
      std::string field;
    };
    const std::vector<Case> cases = {
        {"/v1/audit/proofs/inclusion", 400, "validation_error", "tenant"},
        {"/v1/audit/proofs/inclusion?tenant=acme", 400, "validation_error", "sequence"},
        {"/v1/audit/proofs/inclusion?tenant=acme&sequence=1&partition=" + p + "&offset=1", 400, "validation_error",
         "tenant"},
        {"/v1/audit/proofs/inclusion?tenant=acme&sequence=0", 400, "validation_error", "sequence"},
        {"/v1/audit/proofs/inclusion?tenant=acme&sequence=abc", 400, "validation_error", "sequence"},
        {"/v1/audit/proofs/inclusion?tenant=acme&sequence=999", 404, "event_not_found", "sequence"},
        {"/v1/audit/proofs/inclusion?partition=99&offset=1", 400, "validation_error", "partition"},
        {"/v1/audit/proofs/inclusion?partition=" + p + "&offset=999999", 404, "event_not_found", "offset"},
        {"/v1/audit/proofs/inclusion?tenant=acme&sequence=1&treeSize=99999999", 400, "validation_error", "treeSize"},
        {"/v1/audit/proofs/inclusion?tenant=acme&sequence=1&color=red", 400, "validation_error", "color"},
        {"/v1/audit/proofs/consistency?partition=" + p, 400, "validation_error", "from"},
        {"/v1/audit/proofs/consistency?partition=" + p + "&from=" + std::to_string(new_size) + "&to=1", 400,
         "validation_error", "from"},
        {"/v1/audit/proofs/consistency?partition=" + p + "&from=1&to=99999999", 400, "validation_error", "to"},
        {"/v1/audit/checkpoints/" + p + "?treeSize=99999999", 404, "checkpoint_not_found", "treeSize"},
        {"/v1/audit/checkpoints/77", 400, "validation_error", "partition"},
        {"/v1/audit/tenants/acme/state", 400, "validation_error", "asOf"},
        {"/v1/audit/tenants/acme/state?asOf=yesterday", 400, "validation_error", "asOf"},
        {"/v1/audit/tenants/acme/state?asOf=2100-01-01T00:00:00Z&atSequence=1", 400, "validation_error", "asOf"},
        {"/v1/audit/tenants/nobody/state?atSequence=1", 404, "tenant_not_found", "id"},
        {"/v1/audit/tenants/acme/events?format=xml", 400, "validation_error", "format"},
    };
    for (const auto& c : cases) {
      INFO(c.path);
      auto reply = api.call("GET", c.path, auditor);
      INFO(reply.text);
      REQUIRE(reply.status == c.status);
      CHECK(tenantry::testing::error_type(reply) == c.type);
      CHECK(tenantry::testing::first_field(reply) == c.field);
    }
    // Nothing a bad request did changed what was signed.
    auto latest = api.call("GET", "/v1/audit/checkpoints/" + p, auditor);
    REQUIRE(latest.status == 200);
    CHECK(tenantry::testing::data_of(latest)->getValue<uint64_t>("treeSize") == new_size);
  }
}

TEST_CASE("audit API: checkpoints are published periodically, and once per growth", "[gateway][audit][serve]") {
  tenantry::testing::ServeFixture serve("embedded", {"--jwt-hs256-secret", kSecret, "--checkpoint-interval-s", "1"});
  ApiClient api{serve.port()};
  const std::string admin = token("root", "platform_admin");
  REQUIRE(api.call("POST", "/v1/tenants", admin, registration("initech", "initech")).status == 201);
  auto listed = api.until("/v1/audit/checkpoints", admin, [](const Reply& r) {
    return r.status == 200 && tenantry::testing::data_of(r)->getArray("checkpoints")->size() == 1;
  });
  auto only = tenantry::testing::data_of(listed)->getArray("checkpoints")->getObject(0);
  // Nothing new: the next periods sign nothing, and the latest stays the same note.
  std::this_thread::sleep_for(2500ms);
  auto later = api.call("GET", "/v1/audit/checkpoints", admin);
  REQUIRE(later.status == 200);
  auto same = tenantry::testing::data_of(later)->getArray("checkpoints")->getObject(0);
  CHECK(same->getValue<std::string>("note") == only->getValue<std::string>("note"));
}

TEST_CASE("audit API: who did what, from command outcomes and access decisions", "[gateway][audit][serve]") {
  tenantry::testing::ServeFixture serve("embedded", {"--jwt-hs256-secret", kSecret, "--checkpoint-interval-s", "0"});
  ApiClient api{serve.port()};
  const std::string admin = token("root", "platform_admin");
  const std::string auditor = token("auditor-1", "auditor");
  const std::string intruder = token("globex-admin", "tenant_admin", "globex");
  REQUIRE(api.call("POST", "/v1/tenants", admin, registration("acme", "acme")).status == 201);
  REQUIRE(api.call("POST", "/v1/tenants", admin, registration("globex", "globex")).status == 201);
  REQUIRE(api.call("POST", "/v1/tenants/acme/suspend", admin, R"({"reason":"audit"})").status == 200);
  // Refused by the decider (the slug is taken): an outcome without an event.
  auto taken = api.call("POST", "/v1/tenants", admin, registration("acme-2", "acme"));
  REQUIRE(taken.status == 409);
  // Refused by the gateway: another tenant's admin reaching for acme.
  api.until("/v1/tenants/globex", admin, [](const Reply& r) { return r.status == 200; });
  REQUIRE(api.call("GET", "/v1/tenants/acme", intruder).status == 403);

  auto entries_of = [](const Reply& reply) { return tenantry::testing::data_of(reply)->getArray("entries"); };
  auto has = [&](const Reply& reply, const std::string& outcome, const std::string& actor, const std::string& action) {
    auto entries = entries_of(reply);
    for (size_t i = 0; i < entries->size(); ++i) {
      auto entry = entries->getObject(static_cast<unsigned>(i));
      if (entry->getValue<std::string>("outcome") == outcome &&
          entry->getObject("actor")->getValue<std::string>("id") == actor &&
          entry->getValue<std::string>("action").find(action) != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  auto trail = api.until("/v1/audit/activity?tenant=acme", auditor, [&](const Reply& r) {
    return r.status == 200 && has(r, "accepted", "root", "RegisterTenant") && has(r, "accepted", "root", "SuspendTenant") &&
           has(r, "denied", "globex-admin", "GET /v1/tenants/acme") && has(r, "platform_access", "root", "/v1/tenants/acme");
  });
  auto entries = entries_of(trail);
  for (size_t i = 0; i < entries->size(); ++i) {
    CHECK(entries->getObject(static_cast<unsigned>(i))->getValue<std::string>("tenant_id") == "acme");
    if (i > 0) {
      CHECK(entries->getObject(static_cast<unsigned>(i))->getValue<int64_t>("time_us") >=
            entries->getObject(static_cast<unsigned>(i - 1))->getValue<int64_t>("time_us"));
    }
  }

  auto rejected = api.until("/v1/audit/activity?outcome=rejected", auditor, [&](const Reply& r) {
    return r.status == 200 && has(r, "rejected", "root", "RegisterTenant");
  });
  auto refusal = entries_of(rejected)->getObject(0);
  CHECK(refusal->getValue<std::string>("tenant_id") == "acme-2");
  CHECK_THAT(refusal->getValue<std::string>("detail"), Catch::Contains("already_exists"));

  auto by_actor = api.call("GET", "/v1/audit/activity?actor=globex-admin", auditor);
  REQUIRE(by_actor.status == 200);
  REQUIRE(entries_of(by_actor)->size() >= 1);
  for (size_t i = 0; i < entries_of(by_actor)->size(); ++i) {
    CHECK(entries_of(by_actor)->getObject(static_cast<unsigned>(i))->getValue<std::string>("outcome") == "denied");
  }

  // A page at a time: the pages join up to the whole trail, nothing twice.
  std::vector<std::string> paged;
  std::string cursor;
  for (int page = 0; page < 100; ++page) {
    auto one = api.call("GET", "/v1/audit/activity?tenant=acme&limit=1" + (cursor.empty() ? "" : "&cursor=" + cursor),
                        auditor);
    REQUIRE(one.status == 200);
    for (size_t i = 0; i < entries_of(one)->size(); ++i) {
      paged.push_back(entries_of(one)->getObject(static_cast<unsigned>(i))->getValue<std::string>("source"));
    }
    auto next = tenantry::testing::data_of(one)->get("nextCursor");
    if (next.isEmpty()) break;
    cursor = next.convert<std::string>();
  }
  auto whole = api.call("GET", "/v1/audit/activity?tenant=acme&limit=1000", auditor);
  std::vector<std::string> all;
  for (size_t i = 0; i < entries_of(whole)->size(); ++i) {
    all.push_back(entries_of(whole)->getObject(static_cast<unsigned>(i))->getValue<std::string>("source"));
  }
  CHECK(paged == all);

  // A tenant's own auditor: its tenant's trail, never another's.
  const std::string own = token("globex-auditor", "auditor", "globex");
  auto own_trail = api.call("GET", "/v1/audit/activity", own);
  REQUIRE(own_trail.status == 200);
  for (size_t i = 0; i < entries_of(own_trail)->size(); ++i) {
    CHECK(entries_of(own_trail)->getObject(static_cast<unsigned>(i))->getValue<std::string>("tenant_id") == "globex");
  }
  auto other = api.call("GET", "/v1/audit/activity?tenant=acme", own);
  CHECK(other.status == 403);
  CHECK(tenantry::testing::error_type(other) == "tenant_mismatch");
  // ... and that refusal is itself on the trail.
  api.until("/v1/audit/activity?actor=globex-auditor", auditor, [&](const Reply& r) {
    return r.status == 200 && has(r, "denied", "globex-auditor", "/v1/audit/activity");
  });

  for (const auto& [path, field] : {std::pair<std::string, std::string>{"/v1/audit/activity?outcome=maybe", "outcome"},
                                    {"/v1/audit/activity?limit=0", "limit"},
                                    {"/v1/audit/activity?cursor=zz", "cursor"},
                                    {"/v1/audit/activity?from=soon", "from"}}) {
    INFO(path);
    auto bad = api.call("GET", path, auditor);
    CHECK(bad.status == 400);
    CHECK(tenantry::testing::first_field(bad) == field);
  }
}
