// A pass repeated on a thread of its own every interval until stopped: how the sagas
// run. A failed pass is simply tried again at the next interval.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace tenantry::sagas {

class Periodic {
 public:
  Periodic() = default;
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;
  ~Periodic() { stop(); }

  // Starts calling `pass` now and then every `interval`; does nothing when started.
  void start(std::chrono::milliseconds interval, std::function<void()> pass);
  // Waits for the pass in hand, if any, to end.
  void stop();

 private:
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
};

}  // namespace tenantry::sagas
