// `tenantry bench audit` on a tiny log: what it reports and what it checks, never how
// fast (timings depend on the machine; the figures only have to be there).
#include <catch2/catch.hpp>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <filesystem>
#include <map>

#include "app/bench/audit_bench.h"
#include "audit/log_verifier.h"
#include "child_process.h"
#include "connectors/log/embedded/embedded_log.h"
#include "connectors/log/fenced_writer.h"
#include "test_support.h"

using namespace tenantry;

namespace {

bench::AuditBenchOptions tiny(const std::filesystem::path& dir) {
  bench::AuditBenchOptions options;
  options.dir = dir.string();
  options.events = 20000;
  options.tenants = 100;
  options.partitions = 4;
  options.proofs = 300;
  return options;
}

}  // namespace

TEST_CASE("bench audit verifies, replays and proves a log built as the real writer leaves it", "[audit][bench]") {
  testing::ScratchDir scratch;
  const auto options = tiny(scratch.path() / "bench");
  std::string error;
  const auto f = bench::bench_audit(options, &error);
  INFO(error);
  REQUIRE(error.empty());

  // Every event, plus one writer claim per partition.
  CHECK(f.events == 20000);
  CHECK(f.records == 20000 + 4);
  CHECK(f.bytes_per_record > 0);
  CHECK(f.raw_rocksdb_scan.records == 20004);
  CHECK(f.raw_read.records == 20004);
  CHECK(f.raw_read_parallel.records == 20004);

  CHECK(f.verified);
  CHECK(f.findings == 0);
  CHECK(f.first_finding.empty());
  CHECK(f.verified_events == 20000);
  CHECK(f.verify.records == 20000);
  CHECK(f.verify_parallel.records == 20000);

  CHECK(f.replay.records == 20000);
  CHECK(f.replayed_events == 20000);
  CHECK(f.replayed_tenants == 100);
  CHECK(f.states_match_sequences);

  CHECK(f.merkle_build.records == 20000);
  CHECK(f.roots_match);
  CHECK(f.proofs_verified);
  for (const auto* latency : {&f.inclusion, &f.consistency, &f.locate_and_inclusion}) {
    CHECK(latency->samples == 300);
    CHECK(latency->p50_us <= latency->p99_us);
    CHECK(latency->p99_us <= latency->max_us);
  }
  for (const auto* figure : {&f.raw_rocksdb_scan, &f.raw_read, &f.raw_read_parallel, &f.verify, &f.verify_parallel,
                             &f.replay, &f.merkle_build}) {
    CHECK(figure->seconds > 0);
    CHECK(figure->records_per_second > 0);
  }
  // Scratch removed afterwards.
  CHECK_FALSE(std::filesystem::exists(options.dir));
}

TEST_CASE("bench audit keeps a log that `audit verify` accepts when asked to", "[audit][bench]") {
  testing::ScratchDir scratch;
  auto options = tiny(scratch.path() / "bench");
  options.events = 3000;
  options.tenants = 30;
  options.proofs = 20;
  options.keep = true;
  std::string error;
  const auto f = bench::bench_audit(options, &error);
  INFO(error);
  REQUIRE(error.empty());
  REQUIRE(f.verified);
  auto verify = testing::run_to_end({TENANTRY_BINARY, "audit", "verify", "--data-dir", options.dir, "--partitions", "4"});
  INFO(verify.out << verify.err);
  CHECK(verify.code == 0);
  CHECK(verify.out.find("3000") != std::string::npos);
}

TEST_CASE("bench audit refuses a scratch directory holding anything but its own", "[audit][bench]") {
  testing::ScratchDir scratch;
  std::filesystem::create_directories(scratch.path() / "bench" / "precious");
  std::string error;
  bench::bench_audit(tiny(scratch.path() / "bench"), &error);
  CHECK(error.find("not a bench audit scratch directory") != std::string::npos);
  CHECK(std::filesystem::exists(scratch.path() / "bench" / "precious"));
}

TEST_CASE("tenantry bench audit prints the figures, ratios and targets as JSON", "[audit][bench]") {
  testing::ScratchDir scratch;
  const auto dir = scratch.path() / "bench";
  auto run = testing::run_to_end({TENANTRY_BINARY, "bench", "audit", "--events", "5000", "--tenants", "50",
                                  "--partitions", "2", "--proofs", "50", "--threads", "2", "--dir", dir.string()});
  INFO(run.err);
  REQUIRE(run.code == 0);
  auto json = Poco::JSON::Parser().parse(run.out).extract<Poco::JSON::Object::Ptr>();
  CHECK(json->getValue<std::string>("benchmark") == "audit");
  auto figures = json->getObject("figures");
  for (const char* name : {"raw_rocksdb_scan", "raw_read", "raw_read_parallel", "verify", "verify_parallel",
                           "replay_to_state", "merkle_build"}) {
    INFO(name);
    REQUIRE(figures->has(name));
    CHECK(figures->getObject(name)->getValue<int64_t>("records_per_second") > 0);
  }
  auto checks = json->getObject("checks");
  CHECK(checks->getValue<bool>("verified"));
  CHECK(checks->getValue<bool>("stored_roots_match_verify"));
  CHECK(checks->getValue<bool>("proofs_verified"));
  auto ratios = json->getObject("ratios");
  CHECK(ratios->has("verify_to_raw_read"));
  CHECK(ratios->has("verify_parallel_to_raw_read_parallel"));
  CHECK(ratios->has("replay_to_raw_read_parallel"));
  auto proofs = json->getObject("proofs");
  for (const char* name : {"inclusion", "consistency", "locate_and_inclusion"}) {
    CHECK(proofs->getObject(name)->getValue<int64_t>("samples") == 50);
  }
  auto targets = json->getArray("targets");
  REQUIRE(targets->size() == 4);  // verify at 1 and at 2 threads, the two proof kinds
  for (size_t i = 0; i < targets->size(); ++i) CHECK(targets->getObject(static_cast<unsigned>(i))->has("met"));
  CHECK_FALSE(std::filesystem::exists(dir));
}

// The bench measures verify_log on several threads: the report must be the one a single
// thread gives, findings in partition order included.
TEST_CASE("verify_log on several threads reports what one thread reports", "[audit][verify]") {
  testing::ScratchDir scratch;
  auto log = log::embedded::open_embedded_log({(scratch.path() / "log").string()});
  REQUIRE(log.has_value());
  const std::string topic = "tenantry.events";
  constexpr int32_t kPartitions = 5;
  REQUIRE((*log)->create_topic({topic, kPartitions}).has_value());
  std::vector<std::unique_ptr<log::FencedWriter>> writers;
  for (int32_t p = 0; p < kPartitions; ++p) {
    auto writer = log::FencedWriter::claim(**log, topic, p, "test", 1);
    REQUIRE(writer.has_value());
    writers.push_back(std::move(*writer));
  }
  std::map<int32_t, std::string> tenant_of;
  for (int round = 0; round < 4; ++round) {
    for (int t = 0; t < 40; ++t) {
      const std::string tenant = "tenant-" + std::to_string(t);
      const int32_t p = log::partition_for_key(tenant, kPartitions);
      tenant_of[p] = tenant;
      log::WriterAppend append;
      log::EventDraft draft;
      draft.envelope.set_event_id(tenant + "-" + std::to_string(round));
      draft.envelope.set_tenant_id(tenant);
      draft.envelope.set_event_type("tenantry.v1.TestEvent");
      draft.envelope.set_payload("payload " + std::to_string(round));
      append.events.push_back(std::move(draft));
      REQUIRE(writers[static_cast<size_t>(p)]->append(std::move(append)).has_value());
    }
  }
  // Unreadable records in two partitions, the later one first.
  for (const int32_t p : {3, 1}) {
    REQUIRE(tenant_of.count(p) == 1);
    log::AppendRequest forged;
    forged.records.push_back(log::Record{topic, tenant_of[p], "not an envelope",
                                         {{std::string(log::kEpochHeader), std::to_string(writers[static_cast<size_t>(p)]->epoch())}},
                                         p});
    REQUIRE((*log)->append(std::move(forged)).has_value());
  }
  audit::VerifyOptions one;
  one.threads = 1;
  auto alone = audit::verify_log(**log, one);
  REQUIRE(alone.has_value());
  for (const size_t threads : {2, 3, 8}) {
    audit::VerifyOptions several;
    several.threads = threads;
    auto together = audit::verify_log(**log, several);
    REQUIRE(together.has_value());
    CHECK(together->findings == 2);
    CHECK(together->findings == alone->findings);
    REQUIRE(together->first_finding.has_value());
    CHECK(together->first_finding->partition == 1);
    CHECK(together->first_finding->describe() == alone->first_finding->describe());
    REQUIRE(together->partitions.size() == alone->partitions.size());
    for (size_t i = 0; i < alone->partitions.size(); ++i) {
      CHECK(together->partitions[i].partition == static_cast<int32_t>(i));
      CHECK(together->partitions[i].root == alone->partitions[i].root);
      CHECK(together->partitions[i].events == alone->partitions[i].events);
      CHECK(together->partitions[i].tenants == alone->partitions[i].tenants);
    }
  }
}
