// Reads a partition's accepted history, from offset 0 to its end at the time of the
// call, for tests that check what a writer left in the log.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>

#include "connectors/log/accepted_reader.h"

namespace tenantry::testing {

inline log::AcceptedBatch read_back(log::EventLog& log, const std::string& topic, int32_t partition,
                                    log::TopicKind kind) {
  auto reader = log::AcceptedReader::open(log, topic, partition, 0, kind);
  REQUIRE(reader.has_value());
  auto end = log.end_offset(topic, partition);
  REQUIRE(end.has_value());
  log::AcceptedBatch all;
  while ((*reader)->position() < *end) {
    auto batch = (*reader)->read(1000, std::chrono::milliseconds(5000));
    REQUIRE(batch.has_value());
    REQUIRE(batch->records_read > 0);
    for (auto& r : batch->records) all.records.push_back(std::move(r));
    for (auto& v : batch->violations) all.violations.push_back(std::move(v));
    all.fenced += batch->fenced;
    all.claims += batch->claims;
    all.records_read += batch->records_read;
  }
  return all;
}

}  // namespace tenantry::testing
