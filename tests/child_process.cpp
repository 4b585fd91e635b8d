#include "child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

namespace tenantry::testing {

ChildProcess::ChildProcess(const std::vector<std::string>& argv) {
  int out[2];
  int err[2];
  if (pipe(out) != 0 || pipe(err) != 0) throw std::runtime_error("pipe failed");
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(out[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    close(out[0]);
    close(err[0]);
    // The test binary may have blocked signals; the child starts with none blocked.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  out_fd_ = out[0];
  err_fd_ = err[0];
  fcntl(out_fd_, F_SETFL, O_NONBLOCK);
  fcntl(err_fd_, F_SETFL, O_NONBLOCK);
}

ChildProcess::~ChildProcess() {
  if (!status_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
}

void ChildProcess::pump(std::chrono::milliseconds deadline) {
  pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  const int ready = ::poll(fds, 2, static_cast<int>(deadline.count()));
  if (ready <= 0) return;
  char buffer[4096];
  for (auto& fd : fds) {
    if (fd.revents == 0) continue;
    for (;;) {
      const ssize_t n = ::read(fd.fd, buffer, sizeof buffer);
      if (n <= 0) break;
      (fd.fd == out_fd_ ? out_ : err_).append(buffer, static_cast<size_t>(n));
    }
  }
}

std::optional<std::string> ChildProcess::read_line(std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    const auto newline = out_.find('\n', consumed_);
    if (newline != std::string::npos) {
      std::string line = out_.substr(consumed_, newline - consumed_);
      consumed_ = newline + 1;
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    const size_t before = out_.size() + err_.size();
    pump(left);
    if (out_.size() + err_.size() == before) {
      // Nothing arrived: either the deadline passed or the child closed its output.
      int status = 0;
      if (!status_ && waitpid(pid_, &status, WNOHANG) == pid_) status_ = status;
      if (status_) return std::nullopt;
    }
  }
}

std::optional<std::string> ChildProcess::wait_for_line(const std::string& needle, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto line = read_line(left);
    if (!line) return std::nullopt;
    if (line->find(needle) != std::string::npos) return line;
  }
}

void ChildProcess::signal(int number) { kill(pid_, number); }

int ChildProcess::wait() {
  if (!status_) {
    int status = 0;
    waitpid(pid_, &status, 0);
    status_ = status;
  }
  // Drain what is left in the pipes.
  for (int i = 0; i < 100; ++i) {
    const size_t before = out_.size() + err_.size();
    pump(std::chrono::milliseconds(10));
    if (out_.size() + err_.size() == before) break;
  }
  if (WIFEXITED(*status_)) return WEXITSTATUS(*status_);
  return 128 + WTERMSIG(*status_);
}

Finished run_to_end(const std::vector<std::string>& argv) {
  ChildProcess child(argv);
  const int code = child.wait();
  return Finished{code, child.stdout_text(), child.stderr_text()};
}

}  // namespace tenantry::testing
