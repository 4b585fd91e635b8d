// Runs the `tenantry` binary (or any program) as a child process for end-to-end
// tests: its stdout is read line by line with a deadline, stderr is collected.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace tenantry::testing {

class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& argv);
  ~ChildProcess();  // kills the child if it still runs
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The next line of stdout, or nullopt on end of output or deadline.
  std::optional<std::string> read_line(std::chrono::milliseconds deadline);
  // Reads stdout lines until one contains `needle`; returns it.
  std::optional<std::string> wait_for_line(const std::string& needle, std::chrono::milliseconds deadline);
  void signal(int number);
  // Waits for exit and returns the exit code (128 + signal when killed); drains output.
  int wait();
  const std::string& stdout_text() const { return out_; }
  const std::string& stderr_text() const { return err_; }
  int pid() const { return pid_; }

 private:
  void pump(std::chrono::milliseconds deadline);

  int pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
  size_t consumed_ = 0;
  std::optional<int> status_;
};

// Runs to completion and returns {exit code, stdout, stderr}.
struct Finished {
  int code;
  std::string out;
  std::string err;
};
Finished run_to_end(const std::vector<std::string>& argv);

}  // namespace tenantry::testing
