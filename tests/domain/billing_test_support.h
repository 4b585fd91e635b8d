// What the billing tests share: exact decimals written as text.
#pragma once

#include <catch2/catch.hpp>

#include <string_view>

#include "domain/billing/money.h"

namespace tenantry::domain::billing::testing {

// The decimal `text` spells; the test fails if it is not one.
inline Decimal d(std::string_view text) {
  auto value = parse_decimal(text, "value");
  REQUIRE(value.has_value());
  return *value;
}

}  // namespace tenantry::domain::billing::testing
