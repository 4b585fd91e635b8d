#include "sagas/periodic.h"

namespace tenantry::sagas {

void Periodic::start(std::chrono::milliseconds interval, std::function<void()> pass) {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this, interval, pass = std::move(pass)] {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      pass();
      lock.lock();
      wake_.wait_for(lock, interval, [this] { return stopping_; });
    }
  });
}

void Periodic::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace tenantry::sagas
