// Slugs and custom domain names: the edges of the DNS rules, as tables.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "domain/tenant/slug.h"

using namespace tenantry::domain::tenant;

namespace {

struct SlugCase {
  std::string slug;
  std::optional<SlugProblem> problem;  // nullopt: valid
};

struct DomainCase {
  std::string name;
  std::optional<DomainNameProblem> problem;  // nullopt: valid
};

std::string repeat(char c, std::size_t count) { return std::string(count, c); }

}  // namespace

TEST_CASE("slugs follow the DNS label rules", "[domain]") {
  const std::vector<SlugCase> cases = {
      {"abc", std::nullopt},                           // 3: the shortest
      {repeat('a', 63), std::nullopt},                 // 63: the longest
      {"acme-corp", std::nullopt},
      {"ac--me", std::nullopt},                        // inner double hyphen is allowed
      {"123", std::nullopt},                           // digits may lead
      {"xn--bcher-kva", std::nullopt},
      {"ab", SlugProblem::too_short},                  // 2
      {"", SlugProblem::too_short},
      {repeat('a', 64), SlugProblem::too_long},        // 64
      {"Acme", SlugProblem::uppercase},
      {"ACME", SlugProblem::uppercase},
      {"-acme", SlugProblem::leading_hyphen},
      {"acme-", SlugProblem::trailing_hyphen},
      {"ac_me", SlugProblem::invalid_character},
      {"ac.me", SlugProblem::invalid_character},
      {"ac me", SlugProblem::invalid_character},
      {"acm\xc3\xa9", SlugProblem::invalid_character},  // non-ASCII
      {"www", SlugProblem::reserved},
      {"admin", SlugProblem::reserved},
  };
  for (const SlugCase& c : cases) {
    INFO("slug \"" << c.slug << "\"");
    const auto checked = check_slug(c.slug);
    if (!c.problem) {
      CHECK(checked.has_value());
      continue;
    }
    REQUIRE_FALSE(checked.has_value());
    CHECK(checked.error().problem == *c.problem);
    CHECK_FALSE(checked.error().message.empty());
  }
}

TEST_CASE("custom domains are lowercase fully qualified names", "[domain]") {
  const std::string label63 = repeat('a', 63);
  // 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 characters.
  const std::string name253 = label63 + "." + label63 + "." + label63 + "." + repeat('b', 61);
  const std::string name254 = label63 + "." + label63 + "." + label63 + "." + repeat('b', 62);
  REQUIRE(name253.size() == 253);
  REQUIRE(name254.size() == 254);
  const std::vector<DomainCase> cases = {
      {"example.com", std::nullopt},
      {"app.example.com", std::nullopt},
      {"xn--bcher-kva.example", std::nullopt},
      {"a.io", std::nullopt},                                    // one-character label
      {"my--app.example.com", std::nullopt},
      {"app.example2", std::nullopt},                            // digits inside a TLD
      {label63 + ".com", std::nullopt},                          // a 63-character label
      {name253, std::nullopt},                                   // 253 in all
      {"", DomainNameProblem::empty},
      {name254, DomainNameProblem::too_long},
      {repeat('a', 64) + ".com", DomainNameProblem::label_too_long},
      {"Example.com", DomainNameProblem::uppercase},
      {"example", DomainNameProblem::single_label},
      {"localhost", DomainNameProblem::single_label},
      {"example.com.", DomainNameProblem::trailing_dot},
      {"a..com", DomainNameProblem::empty_label},
      {".example.com", DomainNameProblem::empty_label},
      {"-app.example.com", DomainNameProblem::label_hyphen_edge},
      {"app-.example.com", DomainNameProblem::label_hyphen_edge},
      {"exa_mple.com", DomainNameProblem::invalid_character},
      {"exa mple.com", DomainNameProblem::invalid_character},
      {"192.168.0.1", DomainNameProblem::ip_literal},
      {"10.0.0.1", DomainNameProblem::ip_literal},
      {"::1", DomainNameProblem::ip_literal},
      {"[2001:db8::1]", DomainNameProblem::ip_literal},
      {"example.com:443", DomainNameProblem::ip_literal},       // a port is no name
  };
  for (const DomainCase& c : cases) {
    INFO("domain \"" << c.name << "\"");
    const auto checked = check_domain_name(c.name);
    if (!c.problem) {
      CHECK(checked.has_value());
      continue;
    }
    REQUIRE_FALSE(checked.has_value());
    CHECK(checked.error().problem == *c.problem);
    CHECK_FALSE(checked.error().message.empty());
  }
}
