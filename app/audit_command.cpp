// `tenantry audit`: verification of the event log from its stored bytes, Merkle
// inclusion proofs and signed checkpoints (audit/), and a standalone check that
// needs only a public key, a checkpoint and a proof.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/commands.h"
#include "app/config.h"
#include "app/log_options.h"
#include "audit/checkpoint.h"
#include "audit/diff.h"
#include "audit/log_verifier.h"
#include "audit/render.h"
#include "audit/replay.h"
#include "connectors/log/envelope_codec.h"

namespace tenantry::app {

namespace {

constexpr const char* kUsage =
    "Usage: tenantry audit <action> [options]\n\n"
    "  verify      walk the events topic: sequences, writer epochs, hash chain; JSON summary\n"
    "              with a Merkle root per partition; exit 1 naming the first broken record\n"
    "  prove       inclusion proof (JSON) for the event at --topic/--partition/--offset\n"
    "  consistency consistency proof (JSON) that a partition's tree of --to events extends its\n"
    "              tree of --from events\n"
    "  checkpoint  sign a checkpoint (tree size and root) of a partition with --private-key\n"
    "  keygen      write a new Ed25519 key pair to --private-key and --public-key\n"
    "  check       verify a proof with only --public-key, --checkpoint and --proof files (and\n"
    "              --old-checkpoint for a consistency proof): exit 0 verified, 1 not verified\n"
    "  events      a tenant's (or every tenant's) accepted events decoded, filtered, as NDJSON or CSV\n"
    "  state       a tenant's state rebuilt from its events --as-of an instant or --at-sequence N, as JSON\n"
    "  diff        what changed in a tenant between --from and --to: its events with their actors,\n"
    "              and the fields that differ\n\n"
    "`tenantry audit <action> --help` lists the options of an action.\n"
    "Run verify, prove, consistency, checkpoint, events, state and diff on the embedded engine with\n"
    "`tenantry serve` stopped; while it runs, /v1/audit serves checkpoints, proofs, states and events.\n";

constexpr size_t kMaxInputFileBytes = 1u << 20;

std::vector<OptionSpec> with_log_options(std::vector<OptionSpec> own) {
  auto specs = log_option_specs();
  specs.insert(specs.end(), own.begin(), own.end());
  return specs;
}

OptionSpec topic_option() { return {"topic", "the event topic", "tenantry.events"}; }
OptionSpec partition_option() {
  return {"partition", "the partition (required)", "-1", OptionKind::integer, {}, -1, 4095};
}

std::optional<std::string> read_small_file(const std::string& path, std::string& error) {
  std::error_code code;
  const auto size = std::filesystem::file_size(path, code);
  if (code) {
    error = "cannot read " + path + ": " + code.message();
    return std::nullopt;
  }
  if (size > kMaxInputFileBytes) {
    error = path + " is larger than 1 MiB";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) {
    error = "cannot read " + path;
    return std::nullopt;
  }
  return text.str();
}

bool write_new_file(const std::string& path, const std::string& text, mode_t mode, std::string& error) {
  if (std::filesystem::exists(path)) {
    error = path + " exists; not overwriting it";
    return false;
  }
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) {
    error = "cannot write " + path;
    return false;
  }
  ::chmod(path.c_str(), mode);
  return true;
}

// An auditor pointing at a mistyped data directory must not get "verified, 0 events".
bool log_exists(const Config& config, std::string& error) {
  if (config.text("engine") != "embedded") return true;
  const auto path = std::filesystem::path(config.text("data-dir")) / "log";
  if (std::filesystem::exists(path / "CURRENT")) return true;
  error = "no embedded log at " + path.string() + " (check --data-dir)";
  return false;
}

struct Loaded {
  Config config;
  int exit_code = -1;  // >= 0: stop with this code
};

Loaded load(const std::string& action, const std::vector<OptionSpec>& specs, const std::vector<std::string>& args,
            const std::string& usage, const std::string& summary) {
  Loaded loaded;
  auto config = load_config(specs, args, [](const char* env) { return std::getenv(env); });
  if (!config) {
    std::fprintf(stderr, "tenantry audit %s: %s\n", action.c_str(), config.error().describe().c_str());
    loaded.exit_code = 2;
    return loaded;
  }
  if (config->help_requested()) {
    std::fputs(render_help(usage, summary, specs).c_str(), stdout);
    loaded.exit_code = 0;
    return loaded;
  }
  loaded.config = std::move(*config);
  return loaded;
}

std::unique_ptr<log::EventLog> open_log(const std::string& action, const Config& config) {
  std::string error;
  if (!log_exists(config, error)) {
    std::fprintf(stderr, "tenantry audit %s: %s\n", action.c_str(), error.c_str());
    return nullptr;
  }
  auto log = open_configured_log(config);
  if (!log) {
    std::fprintf(stderr, "tenantry audit %s: cannot open the event log: %s\n", action.c_str(),
                 log.error().message.c_str());
    return nullptr;
  }
  return std::move(*log);
}

Poco::JSON::Object::Ptr finding_json(const audit::Finding& finding) {
  Poco::JSON::Object::Ptr object = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
  object->set("topic", finding.topic);
  object->set("partition", finding.partition);
  object->set("offset", finding.offset);
  object->set("tenant", finding.tenant_id);
  object->set("sequence", finding.sequence);
  object->set("problem", finding.problem);
  object->set("detail", finding.detail);
  return object;
}

int run_verify(const std::vector<std::string>& args) {
  const auto specs = with_log_options({topic_option(), {"tenant", "verify only this tenant (reads its partition)", ""}});
  auto loaded = load("verify", specs, args, "tenantry audit verify [--tenant T] [options]",
                     "Checks sequences, writer epochs and the hash chain of every event; prints a JSON summary.");
  if (loaded.exit_code >= 0) return loaded.exit_code;
  const Config& config = loaded.config;
  auto log = open_log("verify", config);
  if (!log) return 1;
  audit::VerifyOptions options;
  options.topic = config.text("topic");
  options.contiguous_offsets = config.text("engine") == "embedded";
  if (!config.text("tenant").empty()) options.tenant = config.text("tenant");
  auto report = audit::verify_log(*log, options);
  if (!report) {
    // Could not read everything: never a verdict of "verified".
    std::fprintf(stderr, "tenantry audit verify: cannot complete, the log could not be read: %s\n",
                 report.error().message.c_str());
    return 1;
  }
  Poco::JSON::Object summary(Poco::JSON_PRESERVE_KEY_ORDER);
  summary.set("verified", report->verified());
  summary.set("topic", report->topic);
  if (options.tenant) summary.set("tenant", *options.tenant);
  int64_t events = 0;
  int64_t tenant_events = 0;
  int64_t fenced = 0;
  size_t tenants = 0;
  Poco::JSON::Array::Ptr partitions = new Poco::JSON::Array;
  for (const auto& partition : report->partitions) {
    events += partition.events;
    tenant_events += partition.tenant_events;
    fenced += partition.fenced;
    tenants += partition.tenants;
    Poco::JSON::Object::Ptr one = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    one->set("partition", partition.partition);
    one->set("end_offset", partition.end_offset);
    one->set("events", partition.events);
    if (options.tenant) one->set("tenant_events", partition.tenant_events);
    one->set("tenants", static_cast<uint64_t>(partition.tenants));
    one->set("fenced", partition.fenced);
    one->set("claims", partition.claims);
    one->set("writer_epoch", partition.epoch);
    one->set("tree_size", partition.events);
    one->set("root", audit::to_hex(partition.root));
    partitions->add(one);
  }
  summary.set("events", options.tenant ? tenant_events : events);
  summary.set("tenants", static_cast<uint64_t>(tenants));
  summary.set("partition_count", static_cast<uint64_t>(report->partitions.size()));
  summary.set("fenced", fenced);
  summary.set("findings", report->findings);
  if (report->first_finding) summary.set("first_broken_record", finding_json(*report->first_finding));
  summary.set("partitions", partitions);
  summary.stringify(std::cout, 2);
  std::cout << std::endl;
  if (report->first_finding) {
    std::fprintf(stderr, "tenantry audit verify: FAILED: first broken record %s (%lld problem(s) in all)\n",
                 report->first_finding->describe().c_str(), static_cast<long long>(report->findings));
    return 1;
  }
  return 0;
}

int run_prove(const std::vector<std::string>& args) {
  const auto specs = with_log_options(
      {topic_option(), partition_option(),
       {"offset", "the event's offset (required)", "-1", OptionKind::integer, {}, -1, INT64_MAX},
       {"tree-size", "prove against the first N accepted events (0: all of them now)", "0", OptionKind::integer, {}, 0,
        INT64_MAX}});
  auto loaded = load("prove", specs, args, "tenantry audit prove --partition P --offset O [options]",
                     "Prints an inclusion proof (JSON) of one event in its partition's Merkle tree.");
  if (loaded.exit_code >= 0) return loaded.exit_code;
  const Config& config = loaded.config;
  const int64_t partition = config.integer("partition");
  const int64_t offset = config.integer("offset");
  if (partition < 0 || offset < 0) {
    std::fprintf(stderr, "tenantry audit prove: --partition and --offset are required\n");
    return 2;
  }
  auto log = open_log("prove", config);
  if (!log) return 1;
  const std::string topic = config.text("topic");
  auto leaves = audit::read_partition_leaves(*log, topic, static_cast<int32_t>(partition));
  if (!leaves) {
    std::fprintf(stderr, "tenantry audit prove: cannot read %s/%lld: %s\n", topic.c_str(),
                 static_cast<long long>(partition), leaves.error().message.c_str());
    return 1;
  }
  const auto it = std::lower_bound(leaves->offsets.begin(), leaves->offsets.end(), offset);
  if (it == leaves->offsets.end() || *it != offset) {
    std::fprintf(stderr,
                 "tenantry audit prove: %s/%lld@%lld is not an accepted event (beyond the end, a writer claim, a "
                 "fenced or a broken record)\n",
                 topic.c_str(), static_cast<long long>(partition), static_cast<long long>(offset));
    return 1;
  }
  const uint64_t index = static_cast<uint64_t>(it - leaves->offsets.begin());
  uint64_t tree_size = leaves->leaf_hashes.size();
  if (const int64_t wanted = config.integer("tree-size"); wanted > 0) {
    if (static_cast<uint64_t>(wanted) > tree_size || static_cast<uint64_t>(wanted) <= index) {
      std::fprintf(stderr, "tenantry audit prove: --tree-size %lld must be above the event's leaf index %llu and at "
                           "most the tree's size %llu\n",
                   static_cast<long long>(wanted), static_cast<unsigned long long>(index),
                   static_cast<unsigned long long>(tree_size));
      return 1;
    }
    tree_size = static_cast<uint64_t>(wanted);
  }
  const auto tree = std::span<const audit::Hash>(leaves->leaf_hashes).first(tree_size);
  auto reader = log->open_reader(topic, static_cast<int32_t>(partition), offset);
  auto records = reader ? (*reader)->read(1, std::chrono::milliseconds(5000)) : log::Result<std::vector<log::StoredRecord>>(std::unexpected(reader.error()));
  if (!records || records->empty() || (*records)[0].offset != offset ||
      audit::leaf_hash((*records)[0].value) != leaves->leaf_hashes[index]) {
    std::fprintf(stderr, "tenantry audit prove: cannot read the event at offset %lld again\n",
                 static_cast<long long>(offset));
    return 1;
  }
  Poco::JSON::Object proof(Poco::JSON_PRESERVE_KEY_ORDER);
  proof.set("topic", topic);
  proof.set("partition", partition);
  proof.set("offset", offset);
  proof.set("leaf_index", index);
  proof.set("tree_size", tree_size);
  proof.set("event", audit::base64_encode((*records)[0].value));
  proof.set("leaf_hash", audit::to_hex(leaves->leaf_hashes[index]));
  proof.set("root", audit::to_hex(audit::root_of(tree)));
  Poco::JSON::Array::Ptr path = new Poco::JSON::Array;
  for (const auto& node : audit::inclusion_proof(tree, index)) path->add(audit::to_hex(node));
  proof.set("proof", path);
  proof.stringify(std::cout, 2);
  std::cout << std::endl;
  return 0;
}

int run_checkpoint(const std::vector<std::string>& args) {
  const auto specs = with_log_options({topic_option(), partition_option(),
                                       {"private-key", "Ed25519 private key PEM file (required)", ""},
                                       {"key-name", "the signer's name in the signature line", "tenantry"}});
  auto loaded = load("checkpoint", specs, args, "tenantry audit checkpoint --partition P --private-key F [options]",
                     "Prints a signed checkpoint of a partition's Merkle tree as it is now.");
  if (loaded.exit_code >= 0) return loaded.exit_code;
  const Config& config = loaded.config;
  const int64_t partition = config.integer("partition");
  if (partition < 0 || config.text("private-key").empty()) {
    std::fprintf(stderr, "tenantry audit checkpoint: --partition and --private-key are required\n");
    return 2;
  }
  std::string error;
  auto pem = read_small_file(config.text("private-key"), error);
  if (!pem) {
    std::fprintf(stderr, "tenantry audit checkpoint: %s\n", error.c_str());
    return 1;
  }
  auto key = audit::PrivateKey::from_pem(*pem);
  if (!key) {
    std::fprintf(stderr, "tenantry audit checkpoint: %s: %s\n", config.text("private-key").c_str(),
                 key.error().message.c_str());
    return 1;
  }
  auto log = open_log("checkpoint", config);
  if (!log) return 1;
  audit::Checkpoint checkpoint;
  checkpoint.topic = config.text("topic");
  checkpoint.partition = static_cast<int32_t>(partition);
  auto leaves = audit::read_partition_leaves(*log, checkpoint.topic, checkpoint.partition);
  if (!leaves) {
    std::fprintf(stderr, "tenantry audit checkpoint: %s\n", leaves.error().message.c_str());
    return 1;
  }
  checkpoint.tree_size = leaves->leaf_hashes.size();
  checkpoint.root = audit::root_of(leaves->leaf_hashes);
  checkpoint.timestamp_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
  auto text = audit::sign_checkpoint(checkpoint, *key, config.text("key-name"));
  if (!text) {
    std::fprintf(stderr, "tenantry audit checkpoint: %s\n", text.error().message.c_str());
    return 1;
  }
  std::fputs(text->c_str(), stdout);
  return 0;
}

int run_keygen(const std::vector<std::string>& args) {
  const std::vector<OptionSpec> specs = {{"private-key", "file to create for the private key (0600)", ""},
                                         {"public-key", "file to create for the public key", ""}};
  auto loaded = load("keygen", specs, args, "tenantry audit keygen --private-key F --public-key F",
                     "Creates an Ed25519 key pair for signing checkpoints (never overwrites).");
  if (loaded.exit_code >= 0) return loaded.exit_code;
  const Config& config = loaded.config;
  if (config.text("private-key").empty() || config.text("public-key").empty()) {
    std::fprintf(stderr, "tenantry audit keygen: --private-key and --public-key are required\n");
    return 2;
  }
  auto key = audit::PrivateKey::generate();
  if (!key) {
    std::fprintf(stderr, "tenantry audit keygen: %s\n", key.error().message.c_str());
    return 1;
  }
  std::string error;
  if (!write_new_file(config.text("private-key"), key->pem(), 0600, error) ||
      !write_new_file(config.text("public-key"), key->public_key().pem(), 0644, error)) {
    std::fprintf(stderr, "tenantry audit keygen: %s\n", error.c_str());
    return 1;
  }
  return 0;
}

struct ParsedProof {
  std::string topic;
  int64_t partition = 0;
  int64_t offset = 0;
  uint64_t leaf_index = 0;
  uint64_t tree_size = 0;
  std::string event;
  std::optional<audit::Hash> leaf_hash;
  std::vector<audit::Hash> path;
};

// The proof object of a proof file: as `tenantry audit prove` writes it, or the /v1
// response envelope of /v1/audit/proofs/... (its "data"). Throws on malformed JSON.
Poco::JSON::Object::Ptr proof_object(const std::string& text) {
  auto object = Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
  if (object && object->has("success") && object->has("data") && object->isObject("data")) {
    return object->getObject("data");
  }
  return object;
}

struct ParsedConsistency {
  std::string topic;
  int64_t partition = 0;
  uint64_t old_size = 0;
  uint64_t new_size = 0;
  std::vector<audit::Hash> path;
};

std::expected<std::vector<audit::Hash>, std::string> hashes_of(const Poco::JSON::Object::Ptr& object) {
  auto path = object->getArray("proof");
  if (!path) return std::unexpected("field 'proof' is not an array");
  std::vector<audit::Hash> out;
  for (size_t i = 0; i < path->size(); ++i) {
    auto node = audit::hash_from_hex(path->getElement<std::string>(static_cast<unsigned>(i)));
    if (!node) return std::unexpected("proof[" + std::to_string(i) + "] is not 64 hex digits");
    out.push_back(*node);
  }
  return out;
}

// nullopt when the file is not a consistency proof (no old_size).
std::expected<std::optional<ParsedConsistency>, std::string> parse_consistency(const std::string& text) {
  try {
    auto object = proof_object(text);
    if (!object) return std::unexpected("not a JSON object");
    if (!object->has("old_size")) return std::optional<ParsedConsistency>();
    for (const char* field : {"topic", "partition", "old_size", "new_size", "proof"}) {
      if (!object->has(field)) return std::unexpected(std::string("missing field '") + field + "'");
    }
    ParsedConsistency proof;
    proof.topic = object->getValue<std::string>("topic");
    proof.partition = object->getValue<int64_t>("partition");
    const int64_t old_size = object->getValue<int64_t>("old_size");
    const int64_t new_size = object->getValue<int64_t>("new_size");
    if (old_size < 0 || new_size < 0) return std::unexpected("old_size and new_size must be non-negative");
    proof.old_size = static_cast<uint64_t>(old_size);
    proof.new_size = static_cast<uint64_t>(new_size);
    auto path = hashes_of(object);
    if (!path) return std::unexpected(path.error());
    proof.path = std::move(*path);
    return std::optional<ParsedConsistency>(std::move(proof));
  } catch (const std::exception& error) {
    return std::unexpected(std::string("malformed JSON: ") + error.what());
  } catch (...) {
    return std::unexpected("malformed JSON");
  }
}

// Exceptions stay inside: Poco's parser throws on malformed JSON and wrong types.
std::expected<ParsedProof, std::string> parse_proof(const std::string& text) {
  try {
    auto object = proof_object(text);
    if (!object) return std::unexpected("not a JSON object");
    ParsedProof proof;
    for (const char* field : {"topic", "partition", "offset", "leaf_index", "tree_size", "event", "proof"}) {
      if (!object->has(field)) return std::unexpected(std::string("missing field '") + field + "'");
    }
    proof.topic = object->getValue<std::string>("topic");
    proof.partition = object->getValue<int64_t>("partition");
    proof.offset = object->getValue<int64_t>("offset");
    const int64_t index = object->getValue<int64_t>("leaf_index");
    const int64_t size = object->getValue<int64_t>("tree_size");
    if (index < 0 || size < 0) return std::unexpected("leaf_index and tree_size must be non-negative");
    proof.leaf_index = static_cast<uint64_t>(index);
    proof.tree_size = static_cast<uint64_t>(size);
    auto event = audit::base64_decode(object->getValue<std::string>("event"));
    if (!event) return std::unexpected("field 'event' is not base64");
    proof.event = std::move(*event);
    if (object->has("leaf_hash")) {
      proof.leaf_hash = audit::hash_from_hex(object->getValue<std::string>("leaf_hash"));
      if (!proof.leaf_hash) return std::unexpected("field 'leaf_hash' is not 64 hex digits");
    }
    auto path = object->getArray("proof");
    if (!path) return std::unexpected("field 'proof' is not an array");
    for (size_t i = 0; i < path->size(); ++i) {
      auto node = audit::hash_from_hex(path->getElement<std::string>(static_cast<unsigned>(i)));
      if (!node) return std::unexpected("proof[" + std::to_string(i) + "] is not 64 hex digits");
      proof.path.push_back(*node);
    }
    return proof;
  } catch (const std::exception& error) {
    return std::unexpected(std::string("malformed JSON: ") + error.what());
  } catch (...) {
    return std::unexpected("malformed JSON");
  }
}

int check_consistency(const Config& config, const audit::PublicKey& key, const audit::Checkpoint& newer,
                      const ParsedConsistency& proof) {
  auto not_verified = [](const std::string& why) {
    std::fprintf(stderr, "NOT VERIFIED: %s\n", why.c_str());
    return 1;
  };
  if (config.text("old-checkpoint").empty()) {
    return not_verified("a consistency proof needs --old-checkpoint (the older signed checkpoint)");
  }
  std::string error;
  auto old_text = read_small_file(config.text("old-checkpoint"), error);
  if (!old_text) return not_verified(error);
  auto older = audit::verify_checkpoint(*old_text, key);
  if (!older) return not_verified("checkpoint " + config.text("old-checkpoint") + ": " + older.error().message);
  if (older->topic != newer.topic || older->partition != newer.partition || proof.topic != newer.topic ||
      proof.partition != newer.partition) {
    return not_verified("the checkpoints and the proof are not all of one partition (" + older->topic + "/" +
                        std::to_string(older->partition) + ", " + newer.topic + "/" + std::to_string(newer.partition) +
                        ", proof " + proof.topic + "/" + std::to_string(proof.partition) + ")");
  }
  if (proof.old_size != older->tree_size || proof.new_size != newer.tree_size) {
    return not_verified("the proof is from size " + std::to_string(proof.old_size) + " to " +
                        std::to_string(proof.new_size) + ", the checkpoints sign sizes " +
                        std::to_string(older->tree_size) + " and " + std::to_string(newer.tree_size));
  }
  if (auto consistent =
          audit::verify_consistency(older->tree_size, newer.tree_size, older->root, newer.root, proof.path);
      !consistent) {
    return not_verified("consistency: " + consistent.error().message);
  }
  std::printf("VERIFIED: the %llu-event tree of %s/%d (timestamp_us %lld) extends the %llu-event tree "
              "(timestamp_us %lld): its first %llu events are unchanged\n",
              static_cast<unsigned long long>(newer.tree_size), newer.topic.c_str(), newer.partition,
              static_cast<long long>(newer.timestamp_us), static_cast<unsigned long long>(older->tree_size),
              static_cast<long long>(older->timestamp_us), static_cast<unsigned long long>(older->tree_size));
  return 0;
}

int run_consistency(const std::vector<std::string>& args) {
  const auto specs = with_log_options(
      {topic_option(), partition_option(),
       {"from", "the older tree size (required)", "0", OptionKind::integer, {}, 0, INT64_MAX},
       {"to", "the newer tree size (0: the tree as it is now)", "0", OptionKind::integer, {}, 0, INT64_MAX}});
  auto loaded = load("consistency", specs, args, "tenantry audit consistency --partition P --from M [--to N]",
                     "Prints a consistency proof (JSON) that a partition's tree of N events extends its tree of M.");
  if (loaded.exit_code >= 0) return loaded.exit_code;
  const Config& config = loaded.config;
  const int64_t partition = config.integer("partition");
  const int64_t from = config.integer("from");
  if (partition < 0 || from <= 0) {
    std::fprintf(stderr, "tenantry audit consistency: --partition and --from (at least 1) are required\n");
    return 2;
  }
  auto log = open_log("consistency", config);
  if (!log) return 1;
  const std::string topic = config.text("topic");
  auto leaves = audit::read_partition_leaves(*log, topic, static_cast<int32_t>(partition));
  if (!leaves) {
    std::fprintf(stderr, "tenantry audit consistency: cannot read %s/%lld: %s\n", topic.c_str(),
                 static_cast<long long>(partition), leaves.error().message.c_str());
    return 1;
  }
  const uint64_t size = leaves->leaf_hashes.size();
  const uint64_t to = config.integer("to") > 0 ? static_cast<uint64_t>(config.integer("to")) : size;
  if (to > size || static_cast<uint64_t>(from) > to) {
    std::fprintf(stderr, "tenantry audit consistency: need --from %lld <= --to %llu <= the tree's size %llu\n",
                 static_cast<long long>(from), static_cast<unsigned long long>(to),
                 static_cast<unsigned long long>(size));
    return 1;
  }
  const auto all = std::span<const audit::Hash>(leaves->leaf_hashes);
  Poco::JSON::Object proof(Poco::JSON_PRESERVE_KEY_ORDER);
  proof.set("topic", topic);
  proof.set("partition", partition);
  proof.set("old_size", from);
  proof.set("new_size", to);
  proof.set("old_root", audit::to_hex(audit::root_of(all.first(static_cast<uint64_t>(from)))));
  proof.set("new_root", audit::to_hex(audit::root_of(all.first(to))));
  Poco::JSON::Array::Ptr path = new Poco::JSON::Array;
  for (const auto& node : audit::consistency_proof(all.first(to), static_cast<uint64_t>(from))) {
    path->add(audit::to_hex(node));
  }
  proof.set("proof", path);
  proof.stringify(std::cout, 2);
  std::cout << std::endl;
  return 0;
}

int run_check(const std::vector<std::string>& args) {
  const std::vector<OptionSpec> specs = {
      {"public-key", "the platform's Ed25519 public key PEM file", ""},
      {"checkpoint", "a signed checkpoint file (for a consistency proof: the newer one)", ""},
      {"old-checkpoint", "for a consistency proof: the older signed checkpoint file", ""},
      {"proof", "an inclusion or consistency proof file (from `tenantry audit prove|consistency` or /v1/audit/proofs)",
       ""}};
  auto loaded = load("check", specs, args,
                     "tenantry audit check --public-key F --checkpoint F [--old-checkpoint F] --proof F",
                     "Verifies, from these files alone, an event's inclusion under a signed checkpoint, or that\n"
                     "a newer signed checkpoint extends an older one (consistency: nothing removed or changed).");
  if (loaded.exit_code >= 0) return loaded.exit_code;
  const Config& config = loaded.config;
  for (const char* name : {"public-key", "checkpoint", "proof"}) {
    if (config.text(name).empty()) {
      std::fprintf(stderr, "tenantry audit check: --%s is required\n", name);
      return 2;
    }
  }
  auto not_verified = [](const std::string& why) {
    std::fprintf(stderr, "NOT VERIFIED: %s\n", why.c_str());
    return 1;
  };
  std::string error;
  auto key_text = read_small_file(config.text("public-key"), error);
  if (!key_text) return not_verified(error);
  auto key = audit::PublicKey::from_pem(*key_text);
  if (!key) return not_verified(config.text("public-key") + ": " + key.error().message);
  auto checkpoint_text = read_small_file(config.text("checkpoint"), error);
  if (!checkpoint_text) return not_verified(error);
  auto checkpoint = audit::verify_checkpoint(*checkpoint_text, *key);
  if (!checkpoint) return not_verified("checkpoint " + config.text("checkpoint") + ": " + checkpoint.error().message);
  auto proof_text = read_small_file(config.text("proof"), error);
  if (!proof_text) return not_verified(error);
  auto consistency = parse_consistency(*proof_text);
  if (!consistency) return not_verified("proof " + config.text("proof") + ": " + consistency.error());
  if (*consistency) return check_consistency(config, *key, *checkpoint, **consistency);
  if (!config.text("old-checkpoint").empty()) {
    return not_verified("--old-checkpoint is for consistency proofs; " + config.text("proof") + " is an inclusion proof");
  }
  auto proof = parse_proof(*proof_text);
  if (!proof) return not_verified("proof " + config.text("proof") + ": " + proof.error());
  if (proof->topic != checkpoint->topic || proof->partition != checkpoint->partition) {
    return not_verified("the proof is for " + proof->topic + "/" + std::to_string(proof->partition) +
                        ", the checkpoint for " + checkpoint->topic + "/" + std::to_string(checkpoint->partition));
  }
  if (proof->tree_size != checkpoint->tree_size) {
    return not_verified("the proof is for a tree of " + std::to_string(proof->tree_size) +
                        " events, the checkpoint signs a tree of " + std::to_string(checkpoint->tree_size) +
                        " (ask for a proof with --tree-size " + std::to_string(checkpoint->tree_size) + ")");
  }
  const audit::Hash leaf = audit::leaf_hash(proof->event);
  if (proof->leaf_hash && *proof->leaf_hash != leaf) return not_verified("leaf_hash is not the hash of the event's bytes");
  auto envelope = log::open_envelope(proof->event);
  if (!envelope) return not_verified("the event is not a sealed envelope: " + envelope.error().detail);
  if (auto included = audit::verify_inclusion(leaf, proof->leaf_index, checkpoint->tree_size, proof->path,
                                              checkpoint->root);
      !included) {
    return not_verified("inclusion: " + included.error().message);
  }
  // The offset is the proof file's word (leaves are events, not offsets); what is
  // proven is the event's bytes at this leaf under the signed root.
  std::printf("VERIFIED: the event of tenant %s, sequence %llu (%s) is leaf %llu of the %llu-event tree of %s/%d "
              "signed in the checkpoint (timestamp_us %lld); the proof places it at offset %lld\n",
              envelope->tenant_id().c_str(), static_cast<unsigned long long>(envelope->sequence()),
              envelope->event_type().c_str(), static_cast<unsigned long long>(proof->leaf_index),
              static_cast<unsigned long long>(checkpoint->tree_size), checkpoint->topic.c_str(),
              checkpoint->partition, static_cast<long long>(checkpoint->timestamp_us),
              static_cast<long long>(proof->offset));
  return 0;
}


// A TIME option: RFC 3339 or integer microseconds; unset when empty. A bad value is a
// usage error naming the option.
bool time_option(const std::string& action, const Config& config, const std::string& name,
                 std::optional<int64_t>& out) {
  const std::string& text = config.text(name);
  if (text.empty()) return true;
  out = audit::parse_time_us(text);
  if (out) return true;
  std::fprintf(stderr,
               "tenantry audit %s: --%s: '%s' is not a time (RFC 3339 such as 2026-11-26T10:00:00Z, or integer "
               "microseconds since the epoch)\n",
               action.c_str(), name.c_str(), text.c_str());
  return false;
}

OptionSpec sequence_option(const std::string& name, const std::string& help) {
  return {name, help, "0", OptionKind::integer, {}, 0, INT64_MAX};
}

void warn_passed_over(const std::string& action, const audit::ReadSummary& summary) {
  if (summary.violations == 0) return;
  std::fprintf(stderr,
               "tenantry audit %s: %lld record(s) broke the accepted-history rules and were passed over; "
               "`tenantry audit verify` names them\n",
               action.c_str(), static_cast<long long>(summary.violations));
}

int run_events(const std::vector<std::string>& args) {
  const auto specs = with_log_options(
      {topic_option(),
       {"tenant", "only this tenant's events (reads its partition only); default: every tenant", ""},
       {"type", "only events of this type (tenantry.v1.TenantSuspended or TenantSuspended)", ""},
       {"actor", "only events caused by this actor id", ""},
       {"from", "only events that occurred at or after TIME (RFC 3339 or integer microseconds)", ""},
       {"to", "only events that occurred at or before TIME (RFC 3339 or integer microseconds)", ""},
       sequence_option("from-sequence", "only events with a sequence at or above N (0: no bound)"),
       sequence_option("to-sequence", "only events with a sequence at or below N (0: no bound)"),
       {"format", "ndjson or csv", "ndjson", OptionKind::choice, {"ndjson", "csv"}}});
  auto loaded = load("events", specs, args, "tenantry audit events [--tenant T] [filters] [--format ndjson|csv]",
                     "Streams accepted events decoded to JSON (payload as protobuf JSON), in partition then offset "
                     "order.");
  if (loaded.exit_code >= 0) return loaded.exit_code;
  const Config& config = loaded.config;
  audit::EventFilter filter;
  if (!time_option("events", config, "from", filter.from_us) || !time_option("events", config, "to", filter.to_us)) {
    return 2;
  }
  if (!config.text("type").empty()) filter.event_type = config.text("type");
  if (!config.text("actor").empty()) filter.actor_id = config.text("actor");
  if (const int64_t from = config.integer("from-sequence"); from > 0) filter.from_sequence = static_cast<uint64_t>(from);
  if (const int64_t to = config.integer("to-sequence"); to > 0) filter.to_sequence = static_cast<uint64_t>(to);
  auto log = open_log("events", config);
  if (!log) return 1;
  audit::ReadOptions options;
  options.topic = config.text("topic");
  if (!config.text("tenant").empty()) options.tenant = config.text("tenant");
  const bool csv = config.text("format") == "csv";
  if (csv) std::cout << audit::event_csv_header();
  // Written as read: memory stays one batch whatever the log's size.
  auto summary = audit::read_accepted(*log, options, [&](const log::AcceptedRecord& accepted) {
    if (!filter.matches(accepted.envelope)) return true;
    if (csv) {
      std::cout << audit::event_csv_row(accepted);
    } else {
      std::cout << audit::event_json(accepted) << '\n';
    }
    return static_cast<bool>(std::cout);
  });
  std::cout.flush();
  if (!summary) {
    std::fprintf(stderr, "tenantry audit events: the log could not be read to its end: %s\n",
                 summary.error().message.c_str());
    return 1;
  }
  if (!std::cout) {
    std::fprintf(stderr, "tenantry audit events: cannot write the output\n");
    return 1;
  }
  warn_passed_over("events", *summary);
  return 0;
}

int run_state(const std::vector<std::string>& args) {
  const auto specs = with_log_options(
      {topic_option(),
       {"tenant", "the tenant (required)", ""},
       {"as-of", "the state after every event that occurred at or before TIME (RFC 3339 or integer microseconds)",
        ""},
       sequence_option("at-sequence", "the state after the tenant's events 1..N")});
  auto loaded = load("state", specs, args, "tenantry audit state --tenant T (--as-of TIME | --at-sequence N) [options]",
                     "Rebuilds a tenant's state from its accepted events as it was then; prints it as JSON.");
  if (loaded.exit_code >= 0) return loaded.exit_code;
  const Config& config = loaded.config;
  audit::StateQuery query;
  query.topic = config.text("topic");
  query.tenant = config.text("tenant");
  if (query.tenant.empty()) {
    std::fprintf(stderr, "tenantry audit state: --tenant is required\n");
    return 2;
  }
  if (!time_option("state", config, "as-of", query.as_of_us)) return 2;
  if (const int64_t at = config.integer("at-sequence"); at > 0) query.at_sequence = static_cast<uint64_t>(at);
  if (query.as_of_us.has_value() == query.at_sequence.has_value()) {
    std::fprintf(stderr, "tenantry audit state: give exactly one of --as-of and --at-sequence (N >= 1)\n");
    return 2;
  }
  auto log = open_log("state", config);
  if (!log) return 1;
  auto rebuilt = audit::rebuild_state(*log, query);
  if (!rebuilt) {
    std::fprintf(stderr, "tenantry audit state: the log could not be read: %s\n", rebuilt.error().message.c_str());
    return 1;
  }
  if (!rebuilt->tenant_has_events) {
    std::fprintf(stderr, "tenantry audit state: tenant '%s' has no events in %s (unknown tenant)\n",
                 query.tenant.c_str(), query.topic.c_str());
    return 1;
  }
  if (rebuilt->events_applied == 0) {
    const std::string when = query.as_of_us ? audit::format_time_us(*query.as_of_us)
                                            : "sequence " + std::to_string(*query.at_sequence);
    std::fprintf(stderr, "tenantry audit state: tenant '%s' had no events by %s (it did not exist yet)\n",
                 query.tenant.c_str(), when.c_str());
    return 1;
  }
  // Re-read with key order kept, to print it indented as the other actions do.
  try {
    Poco::JSON::Parser parser(new Poco::JSON::ParseHandler(true));
    auto object = parser.parse(audit::state_json(query, *rebuilt)).extract<Poco::JSON::Object::Ptr>();
    object->stringify(std::cout, 2);
    std::cout << std::endl;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "tenantry audit state: cannot render the state: %s\n", error.what());
    return 1;
  }
  return 0;
}

// Events after --from up to --to, with their actors, and the fields that differ
// between the state at --from and at --to.
int run_diff(const std::vector<std::string>& args) {
  const auto specs = with_log_options(
      {topic_option(),
       {"tenant", "the tenant (required)", ""},
       {"from", "the earlier instant (RFC 3339 or integer microseconds); required", ""},
       {"to", "the later instant (RFC 3339 or integer microseconds); required", ""}});
  auto loaded = load("diff", specs, args, "tenantry audit diff --tenant T --from TIME --to TIME [options]",
                     "What changed in a tenant between two instants: the events in (from, to] with their actors, and "
                     "the state's fields before and after, as JSON.");
  if (loaded.exit_code >= 0) return loaded.exit_code;
  const Config& config = loaded.config;
  const std::string tenant = config.text("tenant");
  std::optional<int64_t> from_us;
  std::optional<int64_t> to_us;
  if (!time_option("diff", config, "from", from_us) || !time_option("diff", config, "to", to_us)) return 2;
  if (tenant.empty() || !from_us || !to_us) {
    std::fprintf(stderr, "tenantry audit diff: --tenant, --from and --to are required\n");
    return 2;
  }
  if (*from_us > *to_us) {
    std::fprintf(stderr, "tenantry audit diff: option --from: after --to\n");
    return 2;
  }
  auto log = open_log("diff", config);
  if (!log) return 1;
  audit::StateQuery before_query{config.text("topic"), tenant, std::nullopt, *from_us};
  audit::StateQuery after_query{config.text("topic"), tenant, std::nullopt, *to_us};
  auto before = audit::rebuild_state(*log, before_query);
  auto after = before ? audit::rebuild_state(*log, after_query) : before;
  if (!before || !after) {
    std::fprintf(stderr, "tenantry audit diff: the log could not be read: %s\n",
                 (!before ? before : after).error().message.c_str());
    return 1;
  }
  if (!after->tenant_has_events) {
    std::fprintf(stderr, "tenantry audit diff: tenant '%s' has no events in %s (unknown tenant)\n", tenant.c_str(),
                 before_query.topic.c_str());
    return 1;
  }
  Poco::JSON::Object out(Poco::JSON_PRESERVE_KEY_ORDER);
  out.set("tenant", tenant);
  out.set("from", audit::format_time_us(*from_us));
  out.set("to", audit::format_time_us(*to_us));
  out.set("version_before", static_cast<uint64_t>(before->state.version));
  out.set("version_after", static_cast<uint64_t>(after->state.version));
  Poco::JSON::Array events;
  audit::EventFilter filter;
  filter.from_us = *from_us + 1;  // (from, to]
  filter.to_us = *to_us;
  audit::ReadOptions options;
  options.topic = before_query.topic;
  options.tenant = tenant;
  Poco::JSON::Parser parser(new Poco::JSON::ParseHandler(true));
  auto read = audit::read_accepted(*log, options, [&](const log::AcceptedRecord& accepted) {
    if (filter.matches(accepted.envelope)) {
      parser.reset();
      events.add(parser.parse(audit::event_json(accepted)));
    }
    return true;
  });
  if (!read) {
    std::fprintf(stderr, "tenantry audit diff: the log could not be read: %s\n", read.error().message.c_str());
    return 1;
  }
  out.set("events", events);
  Poco::JSON::Array changes;
  for (const auto& change : audit::diff_states(before->state, after->state)) {
    Poco::JSON::Object one(Poco::JSON_PRESERVE_KEY_ORDER);
    one.set("field", change.field);
    one.set("before", change.before);
    one.set("after", change.after);
    changes.add(one);
  }
  out.set("changes", changes);
  out.stringify(std::cout, 2);
  std::cout << std::endl;
  return 0;
}

}  // namespace

int run_audit(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string action = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (action == "verify") return run_verify(rest);
  if (action == "prove") return run_prove(rest);
  if (action == "checkpoint") return run_checkpoint(rest);
  if (action == "keygen") return run_keygen(rest);
  if (action == "check") return run_check(rest);
  if (action == "consistency") return run_consistency(rest);
  if (action == "events") return run_events(rest);
  if (action == "state") return run_state(rest);
  if (action == "diff") return run_diff(rest);
  std::fprintf(stderr, "tenantry audit: unknown action '%s'\n\n%s", action.c_str(), kUsage);
  return 2;
}

}  // namespace tenantry::app
