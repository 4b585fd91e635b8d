// `tenantry audit keygen/checkpoint/prove/check` end to end: what the platform
// publishes (a signed checkpoint, an inclusion proof) is checked with nothing but the
// public key and those files; altered or mismatched files are refused.
#include <catch2/catch.hpp>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <fstream>
#include <sstream>

#include "app/log_options.h"
#include "audit/checkpoint.h"
#include "child_process.h"
#include "connectors/log/embedded/embedded_log.h"
#include "connectors/log/fenced_writer.h"
#include "test_support.h"

using namespace tenantry;

namespace {

constexpr int32_t kPartitions = 2;

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Published {
  testing::ScratchDir dir;
  std::filesystem::path data() const { return dir.path() / "data"; }
  std::filesystem::path file(const std::string& name) const { return dir.path() / name; }
  std::vector<std::string> log_args() const {
    return {"--data-dir", data().string(), "--partitions", std::to_string(kPartitions)};
  }
  testing::Finished audit(std::vector<std::string> args, bool with_log = true) const {
    args.insert(args.begin(), {TENANTRY_BINARY, "audit"});
    if (with_log) {
      auto extra = log_args();
      args.insert(args.end(), extra.begin(), extra.end());
    }
    return testing::run_to_end(args);
  }
  testing::Finished check(const std::string& key, const std::string& checkpoint, const std::string& proof) const {
    return audit({"check", "--public-key", file(key).string(), "--checkpoint", file(checkpoint).string(), "--proof",
                  file(proof).string()},
                 false);
  }
};

// 11 events of one tenant in partition p, so trees are not a power of two.
int32_t write_log(const Published& published, int events) {
  std::filesystem::create_directories(published.data());
  log::embedded::EmbeddedOptions options;
  options.path = (published.data() / "log").string();
  auto log = log::embedded::open_embedded_log(options);
  REQUIRE(log.has_value());
  for (const auto& topic : app::tenantry_topics(kPartitions)) REQUIRE((*log)->create_topic(topic).has_value());
  const int32_t partition = log::partition_for_key("acme", kPartitions);
  auto writer = log::FencedWriter::claim(**log, "tenantry.events", partition, "test", 1);
  REQUIRE(writer.has_value());
  for (int i = 0; i < events; ++i) {
    log::WriterAppend append;
    log::EventDraft draft;
    draft.envelope.set_tenant_id("acme");
    draft.envelope.set_event_type("tenantry.v1.TestEvent");
    draft.envelope.set_payload("event " + std::to_string(i));
    append.events.push_back(std::move(draft));
    REQUIRE((*writer)->append(std::move(append)).has_value());
  }
  return partition;
}

std::string with_field(const std::string& json, const std::string& field, const Poco::Dynamic::Var& value) {
  auto object = Poco::JSON::Parser().parse(json).extract<Poco::JSON::Object::Ptr>();
  object->set(field, value);
  std::ostringstream out;
  object->stringify(out);
  return out.str();
}

}  // namespace

TEST_CASE("audit prove/check: a proof checks against a signed checkpoint with the public key alone",
          "[audit][prove]") {
  Published published;
  const int32_t partition = write_log(published, 11);
  const std::string p = std::to_string(partition);

  REQUIRE(published.audit({"keygen", "--private-key", published.file("platform.key").string(), "--public-key",
                           published.file("platform.pub").string()},
                          false)
              .code == 0);
  REQUIRE(published.audit({"keygen", "--private-key", published.file("forger.key").string(), "--public-key",
                           published.file("forger.pub").string()},
                          false)
              .code == 0);
  // Never overwrites a key.
  CHECK(published.audit({"keygen", "--private-key", published.file("platform.key").string(), "--public-key",
                         published.file("other.pub").string()},
                        false)
            .code == 1);
  CHECK((std::filesystem::status(published.file("platform.key")).permissions() & std::filesystem::perms::others_read) ==
        std::filesystem::perms::none);

  auto checkpoint = published.audit({"checkpoint", "--partition", p, "--private-key",
                                     published.file("platform.key").string(), "--key-name", "tenantry-test"});
  INFO(checkpoint.err);
  REQUIRE(checkpoint.code == 0);
  CHECK_THAT(checkpoint.out, Catch::StartsWith("tenantry/tenantry.events/" + p + "\n11\n"));
  write_file(published.file("checkpoint"), checkpoint.out);

  // Offset 0 is the writer's claim, offset 1 the first event; prove the sixth (leaf 5).
  auto proof = published.audit({"prove", "--partition", p, "--offset", "6"});
  INFO(proof.err);
  REQUIRE(proof.code == 0);
  CHECK_THAT(proof.out, Catch::Contains("\"leaf_index\": 5"));
  CHECK_THAT(proof.out, Catch::Contains("\"tree_size\": 11"));
  write_file(published.file("proof.json"), proof.out);

  auto verified = published.check("platform.pub", "checkpoint", "proof.json");
  INFO(verified.err);
  CHECK(verified.code == 0);
  CHECK_THAT(verified.out, Catch::Contains("VERIFIED"));
  CHECK_THAT(verified.out, Catch::Contains("tenant acme, sequence 6"));

  SECTION("the checkpoint's claim is checked against the key, not trusted") {
    auto forged = published.audit({"checkpoint", "--partition", p, "--private-key",
                                   published.file("forger.key").string(), "--key-name", "tenantry-test"});
    REQUIRE(forged.code == 0);
    write_file(published.file("forged-checkpoint"), forged.out);
    auto run = published.check("platform.pub", "forged-checkpoint", "proof.json");
    CHECK(run.code == 1);
    CHECK_THAT(run.err, Catch::Contains("NOT VERIFIED"));
    CHECK_THAT(run.err, Catch::Contains("no signature by the given public key"));

    std::string altered = read_file(published.file("checkpoint"));
    altered.replace(altered.find("\n11\n"), 4, "\n10\n");
    write_file(published.file("altered-checkpoint"), altered);
    run = published.check("platform.pub", "altered-checkpoint", "proof.json");
    CHECK(run.code == 1);
    CHECK_THAT(run.err, Catch::Contains("does not verify"));
  }

  SECTION("an altered or mismatched proof is refused") {
    const std::string original = read_file(published.file("proof.json"));
    struct Case {
      std::string name;
      std::string proof;
      std::string message;
    };
    auto event = Poco::JSON::Parser().parse(original).extract<Poco::JSON::Object::Ptr>()->getValue<std::string>("event");
    // Flip a bit of one base64 digit in the middle of the event's bytes.
    std::string altered_event = event;
    altered_event[event.size() / 2] = altered_event[event.size() / 2] == 'A' ? 'B' : 'A';
    auto without_leaf = Poco::JSON::Parser().parse(with_field(original, "event", altered_event))
                            .extract<Poco::JSON::Object::Ptr>();
    without_leaf->remove("leaf_hash");
    std::ostringstream without_leaf_text;
    without_leaf->stringify(without_leaf_text);
    const std::vector<Case> cases = {
        {"altered event", with_field(original, "event", altered_event), "leaf_hash is not the hash"},
        {"altered event, leaf hash removed", without_leaf_text.str(), "NOT VERIFIED"},
        {"wrong index", with_field(original, "leaf_index", 4), "inclusion"},
        {"wrong tree size", with_field(original, "tree_size", 12), "checkpoint signs a tree of 11"},
        {"wrong partition", with_field(original, "partition", 1 - partition), "the checkpoint for"},
        {"truncated", original.substr(0, original.size() / 2), "malformed JSON"},
        {"not hex", with_field(original, "leaf_hash", "xyz"), "leaf_hash"},
    };
    for (const auto& c : cases) {
      INFO(c.name);
      write_file(published.file("bad.json"), c.proof);
      auto run = published.check("platform.pub", "checkpoint", "bad.json");
      CHECK(run.code == 1);
      CHECK_THAT(run.err, Catch::Contains(c.message));
      CHECK_THAT(run.out, !Catch::Contains("VERIFIED"));
    }
    // Swapped proof nodes.
    auto object = Poco::JSON::Parser().parse(original).extract<Poco::JSON::Object::Ptr>();
    auto path = object->getArray("proof");
    REQUIRE(path->size() >= 2);
    Poco::JSON::Array::Ptr swapped = new Poco::JSON::Array;
    swapped->add(path->get(1));
    swapped->add(path->get(0));
    for (size_t i = 2; i < path->size(); ++i) swapped->add(path->get(static_cast<unsigned>(i)));
    object->set("proof", swapped);
    std::ostringstream swapped_text;
    object->stringify(swapped_text);
    write_file(published.file("swapped.json"), swapped_text.str());
    auto run = published.check("platform.pub", "checkpoint", "swapped.json");
    CHECK(run.code == 1);
    CHECK_THAT(run.err, Catch::Contains("inclusion"));
  }

  SECTION("a proof against an older, smaller tree checks against that tree's checkpoint") {
    auto older = published.audit({"prove", "--partition", p, "--offset", "3", "--tree-size", "7"});
    REQUIRE(older.code == 0);
    write_file(published.file("older.json"), older.out);
    auto run = published.check("platform.pub", "checkpoint", "older.json");
    CHECK(run.code == 1);
    CHECK_THAT(run.err, Catch::Contains("--tree-size 11"));
    // A claim record is not an event: no proof for it.
    auto claim = published.audit({"prove", "--partition", p, "--offset", "0"});
    CHECK(claim.code == 1);
    CHECK_THAT(claim.err, Catch::Contains("is not an accepted event"));
  }
}

TEST_CASE("audit consistency/check: a newer checkpoint is proven to extend an older one", "[audit][prove]") {
  Published published;
  const int32_t partition = write_log(published, 11);
  const std::string p = std::to_string(partition);
  REQUIRE(published.audit({"keygen", "--private-key", published.file("platform.key").string(), "--public-key",
                           published.file("platform.pub").string()},
                          false)
              .code == 0);
  auto sign = [&](const std::string& name) {
    auto signed_now = published.audit({"checkpoint", "--partition", p, "--private-key",
                                       published.file("platform.key").string()});
    REQUIRE(signed_now.code == 0);
    write_file(published.file(name), signed_now.out);
  };
  sign("old.checkpoint");
  // A restarted writer (a new claim) goes on with the same chain.
  write_log(published, 6);
  sign("new.checkpoint");
  CHECK_THAT(read_file(published.file("new.checkpoint")), Catch::Contains("\n17\n"));

  auto proof = published.audit({"consistency", "--partition", p, "--from", "11"});
  INFO(proof.err);
  REQUIRE(proof.code == 0);
  CHECK_THAT(proof.out, Catch::Contains("\"new_size\": 17"));
  write_file(published.file("consistency.json"), proof.out);
  auto consistency_check = [&](const std::string& old_checkpoint, const std::string& new_checkpoint,
                               const std::string& proof_file) {
    return published.audit({"check", "--public-key", published.file("platform.pub").string(), "--old-checkpoint",
                            published.file(old_checkpoint).string(), "--checkpoint",
                            published.file(new_checkpoint).string(), "--proof", published.file(proof_file).string()},
                           false);
  };
  auto verified = consistency_check("old.checkpoint", "new.checkpoint", "consistency.json");
  INFO(verified.err);
  CHECK(verified.code == 0);
  CHECK_THAT(verified.out, Catch::Contains("VERIFIED: the 17-event tree"));

  // A proof between other sizes, an altered node, checkpoints swapped: each refused.
  auto other = published.audit({"consistency", "--partition", p, "--from", "10", "--to", "17"});
  REQUIRE(other.code == 0);
  write_file(published.file("other.json"), other.out);
  auto run = consistency_check("old.checkpoint", "new.checkpoint", "other.json");
  CHECK(run.code == 1);
  CHECK_THAT(run.err, Catch::Contains("from size 10 to 17"));

  auto object = Poco::JSON::Parser().parse(proof.out).extract<Poco::JSON::Object::Ptr>();
  auto path = object->getArray("proof");
  REQUIRE(path->size() >= 1);
  std::string node = path->getElement<std::string>(0);
  node[0] = node[0] == '0' ? '1' : '0';
  Poco::JSON::Array::Ptr altered = new Poco::JSON::Array;
  altered->add(node);
  for (size_t i = 1; i < path->size(); ++i) altered->add(path->get(static_cast<unsigned>(i)));
  object->set("proof", altered);
  std::ostringstream altered_text;
  object->stringify(altered_text);
  write_file(published.file("altered.json"), altered_text.str());
  run = consistency_check("old.checkpoint", "new.checkpoint", "altered.json");
  CHECK(run.code == 1);
  CHECK_THAT(run.err, Catch::Contains("consistency"));

  run = consistency_check("new.checkpoint", "old.checkpoint", "consistency.json");
  CHECK(run.code == 1);
  CHECK_THAT(run.err, Catch::Contains("NOT VERIFIED"));

  // Sizes the log does not have are refused before anything is printed.
  auto beyond = published.audit({"consistency", "--partition", p, "--from", "11", "--to", "18"});
  CHECK(beyond.code == 1);
  CHECK(beyond.out.empty());
  CHECK_THAT(beyond.err, Catch::Contains("the tree's size 17"));
}
