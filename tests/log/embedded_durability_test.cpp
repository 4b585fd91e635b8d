// The embedded engine across process death: what was acknowledged is there after
// kill -9, and no append is ever half there.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <set>

#include "connectors/log/embedded/embedded_log.h"
#include "test_support.h"

using namespace tenantry::log;
using namespace std::chrono_literals;

namespace {

constexpr int kRecordsPerAppend = 5;

std::unique_ptr<EventLog> open_at(const std::filesystem::path& path) {
  embedded::EmbeddedOptions options;
  options.path = path.string();
  auto opened = embedded::open_embedded_log(options);
  REQUIRE(opened.has_value());
  return std::move(*opened);
}

// In a child process: appends numbered batches from two threads forever, writing
// each acknowledged batch number to `ack_fd` after its append returned.
[[noreturn]] void append_until_killed(const std::filesystem::path& path, int ack_fd) {
  embedded::EmbeddedOptions options;
  options.path = path.string();
  auto log = embedded::open_embedded_log(options);
  if (!log || !(*log)->create_topic({"t", 3})) _exit(3);
  auto worker = [&](int first) {
    for (int batch = first;; batch += 2) {
      AppendRequest request;
      for (int i = 0; i < kRecordsPerAppend; ++i) {
        const std::string key = "tenant-" + std::to_string((batch + i) % 11);
        request.records.push_back(Record{"t", key, std::to_string(batch) + "/" + std::to_string(i), {}, std::nullopt});
      }
      request.group = "g";
      request.offsets.push_back(PartitionOffset{"t", 0, batch});
      if (!(*log)->append(std::move(request))) _exit(4);
      const std::string line = std::to_string(batch) + "\n";
      if (write(ack_fd, line.data(), line.size()) < 0) _exit(5);
    }
  };
  std::thread other([&] { worker(1); });
  worker(0);
  _exit(0);
}

}  // namespace

TEST_CASE("embedded: every acknowledged append survives kill -9, and none is half written",
          "[embedded][durability]") {
  tenantry::testing::ScratchDir dir;
  const auto path = dir.path() / "log";
  for (int round = 0; round < 3; ++round) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      close(fds[0]);
      append_until_killed(path, fds[1]);
    }
    close(fds[1]);
    // Let the child get a few hundred acknowledgements in, then kill it mid-stream.
    std::set<int> acknowledged;
    FILE* acks = fdopen(fds[0], "r");
    int batch = 0;
    while (acknowledged.size() < static_cast<size_t>(150 + 100 * round) && std::fscanf(acks, "%d", &batch) == 1) {
      acknowledged.insert(batch);
    }
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    // Whatever the child acknowledged before it died, the pipe still holds.
    while (std::fscanf(acks, "%d", &batch) == 1) acknowledged.insert(batch);
    std::fclose(acks);
    REQUIRE(WIFSIGNALED(status));
    REQUIRE(acknowledged.size() >= 150u);

    auto log = open_at(path);
    std::map<int, std::set<int>> found;  // batch -> record indexes present
    for (int32_t p = 0; p < 3; ++p) {
      auto reader = log->open_reader("t", p, 0);
      REQUIRE(reader.has_value());
      int64_t expected_offset = 0;
      for (;;) {
        auto records = (*reader)->read(10000, 0ms);
        REQUIRE(records.has_value());
        if (records->empty()) break;
        for (const auto& record : *records) {
          REQUIRE(record.offset == expected_offset++);
          const auto slash = record.value.find('/');
          found[std::stoi(record.value.substr(0, slash))].insert(std::stoi(record.value.substr(slash + 1)));
        }
      }
      CHECK(log->end_offset("t", p).value() == expected_offset);
    }
    for (int acked : acknowledged) {
      INFO("acknowledged batch " << acked);
      REQUIRE(found.count(acked) == 1);
    }
    for (const auto& [number, indexes] : found) {
      INFO("batch " << number);
      CHECK(indexes.size() == static_cast<size_t>(kRecordsPerAppend));  // all or nothing
    }
    // The group offset committed with the records is one of the batches that landed.
    auto committed = log->committed_offset("g", "t", 0);
    REQUIRE(committed.has_value());
    REQUIRE(committed->has_value());
    CHECK(found.count(static_cast<int>(**committed)) == 1);
  }
}

TEST_CASE("embedded: topics, records and group offsets are there after a clean reopen", "[embedded]") {
  tenantry::testing::ScratchDir dir;
  const auto path = dir.path() / "log";
  {
    auto log = open_at(path);
    REQUIRE(log->create_topic({"a", 2}).has_value());
    AppendRequest request;
    for (int i = 0; i < 10; ++i) request.records.push_back(Record{"a", "k" + std::to_string(i), "v", {{"x", "y"}}, std::nullopt});
    request.group = "g";
    request.offsets.push_back({"a", 1, 4});
    REQUIRE(log->append(std::move(request)).has_value());
  }
  auto log = open_at(path);
  CHECK(log->partition_count("a").value() == 2);
  CHECK(log->end_offset("a", 0).value() + log->end_offset("a", 1).value() == 10);
  CHECK(log->committed_offset("g", "a", 1).value() == std::optional<int64_t>(4));
  auto records = (*log->open_reader("a", 0, 0))->read(100, 0ms);
  REQUIRE(records.has_value());
  REQUIRE_FALSE(records->empty());
  CHECK(records->front().headers.size() == 1);
  CHECK(records->front().timestamp_ms > 0);
  // Appending after the reopen continues the offsets.
  AppendRequest more;
  more.records.push_back(Record{"a", "k", "v", {}, 0});
  auto appended = log->append(std::move(more));
  REQUIRE(appended.has_value());
  CHECK(appended->positions[0].offset == log->end_offset("a", 0).value() - 1);
}
