// domain/ stays pure: no I/O library, no clock. Checked on the sources themselves so
// a violation fails the build's tests, not only a review.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

TEST_CASE("domain/ includes no I/O library and reads no clock", "[purity]") {
  const std::filesystem::path domain = std::filesystem::path(TENANTRY_SOURCE_DIR) / "domain";
  REQUIRE(std::filesystem::exists(domain));
  const std::regex forbidden_include(R"(#\s*include\s*[<"](rocksdb|librdkafka|rdkafka|Poco|openssl|connectors|commands|projections|app)[/.])");
  const std::regex forbidden_io(R"(#\s*include\s*<(fstream|iostream|cstdio|thread|filesystem|random)>)");
  const std::regex clock_read(R"((system_clock|steady_clock|high_resolution_clock)::now|\btime\s*\(\s*(NULL|nullptr|0)\s*\)|std::random_device)");
  size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(domain)) {
    const auto extension = entry.path().extension();
    if (extension != ".h" && extension != ".cpp") continue;
    ++files;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    const std::string source = text.str();
    INFO(entry.path().string());
    CHECK_FALSE(std::regex_search(source, forbidden_include));
    CHECK_FALSE(std::regex_search(source, forbidden_io));
    CHECK_FALSE(std::regex_search(source, clock_read));
  }
  // The rules above must actually catch a violation.
  CHECK(std::regex_search(std::string("#include <rocksdb/db.h>"), forbidden_include));
  CHECK(std::regex_search(std::string("auto t = std::chrono::system_clock::now();"), clock_read));
  SUCCEED(files << " domain sources checked");
}
