// Small helpers shared by tests: scratch directories and waiting with a deadline.
#pragma once

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

namespace tenantry::testing {

// A fresh directory under the system temp dir, removed with the object.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tenantry-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Calls `step` until it returns true or the deadline passes; true if it succeeded.
// For conditions reached through other parties (a broker's rebalance) where there
// is nothing to block on; each step itself blocks (e.g. a poll with a timeout).
inline bool eventually(std::chrono::milliseconds deadline, const std::function<bool()>& step) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (step()) return true;
  }
  return step();
}

}  // namespace tenantry::testing
