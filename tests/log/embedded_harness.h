#pragma once

#include <catch2/catch.hpp>

#include "connectors/log/embedded/embedded_log.h"
#include "test_support.h"

// The embedded engine on a scratch directory, for the conformance suite.
struct EmbeddedHarness {
  static constexpr const char* name = "embedded";
  EmbeddedHarness() {
    tenantry::log::embedded::EmbeddedOptions options;
    options.path = (dir.path() / "log").string();
    auto opened = tenantry::log::embedded::open_embedded_log(options);
    REQUIRE(opened.has_value());
    engine = std::move(*opened);
  }
  tenantry::log::EventLog& log() { return *engine; }

  tenantry::testing::ScratchDir dir;
  std::unique_ptr<tenantry::log::EventLog> engine;
};
