#include "models/repository_poller.h"

#include "common/logging.h"
#include "common/strings.h"

namespace infera {

RepositoryPoller::RepositoryPoller(ModelManager* manager, std::chrono::milliseconds interval)
    : manager_(manager), interval_(interval) {}

RepositoryPoller::~RepositoryPoller() { Stop(); }

void RepositoryPoller::Start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { Loop(); });
}

void RepositoryPoller::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RepositoryPoller::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, interval_, [this] { return stopping_; })) {
    lock.unlock();
    StatusOr<int> changed = manager_->Poll();
    if (!changed.ok()) {
      Log(LogLevel::kWarning, "repository_poll_failed",
          {{"error", std::string(ToStd(changed.status().message()))}});
    }
    lock.lock();
  }
}

}  // namespace infera
