// The bootstrap platform_admin key: issued only while no usable one exists, written to
// a new 0600 file, never over an existing one.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "connectors/http/auth/bootstrap_key.h"
#include "test_support.h"

using namespace tenantry::http::auth;

namespace {

constexpr int64_t kNow_us = 1'700'000'000'000'000;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  return text;
}

}  // namespace

TEST_CASE("bootstrap key: issued once into a new 0600 file, then left alone", "[auth]") {
  tenantry::testing::ScratchDir dir;
  InMemoryApiKeyStore store;
  ApiKeyRegistry registry(store);
  const auto path = dir.path() / "admin.key";

  auto first = bootstrap_admin_key(registry, path.string(), kNow_us);
  REQUIRE(first);
  CHECK(first->issued);
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  auto principal = registry.verify(read_file(path), kNow_us + 1);
  REQUIRE(principal);
  CHECK(principal->has(Role::platform_admin));
  CHECK(principal->is_platform());
  CHECK(principal->key_id == first->key_id);

  // A usable platform_admin key exists: nothing happens, even with the file gone.
  std::filesystem::remove(path);
  auto second = bootstrap_admin_key(registry, path.string(), kNow_us + 2);
  REQUIRE(second);
  CHECK(!second->issued);
  CHECK(!std::filesystem::exists(path));
  CHECK(registry.list("")->size() == 1);
}

TEST_CASE("bootstrap key: never overwrites a file, and issues again once every platform_admin key is revoked", "[auth]") {
  tenantry::testing::ScratchDir dir;
  InMemoryApiKeyStore store;
  ApiKeyRegistry registry(store);
  const auto path = dir.path() / "admin.key";
  { std::ofstream(path) << "something else\n"; }

  auto refused = bootstrap_admin_key(registry, path.string(), kNow_us);
  REQUIRE(!refused);
  CHECK(refused.error().code == AuthErrorCode::invalid_configuration);
  CHECK(read_file(path) == "something else");
  CHECK(registry.list("")->empty());

  std::filesystem::remove(path);
  // A platform key with other roles does not count: only platform_admin can issue keys.
  REQUIRE(registry.issue("auditor", "", {Role::auditor}, kNow_us));
  auto issued = bootstrap_admin_key(registry, path.string(), kNow_us);
  REQUIRE(issued);
  REQUIRE(issued->issued);
  REQUIRE(registry.revoke(issued->key_id, kNow_us + 1));
  std::filesystem::remove(path);
  auto again = bootstrap_admin_key(registry, path.string(), kNow_us + 2);
  REQUIRE(again);
  CHECK(again->issued);
  CHECK(again->key_id != issued->key_id);
}
