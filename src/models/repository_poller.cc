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
    MutexLock lock(&mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { Loop(); });
}

void RepositoryPoller::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  cv_.SignalAll();
  if (thread_.joinable()) thread_.join();
}

bool RepositoryPoller::WaitForStop() {
  const auto deadline = std::chrono::steady_clock::now() + interval_;
  MutexLock lock(&mu_);
  while (!stopping_) {
    if (cv_.WaitUntil(&mu_, deadline)) break;
  }
  return stopping_;
}

void RepositoryPoller::Loop() {
  while (!WaitForStop()) {
    StatusOr<int> changed = manager_->Poll();
    if (!changed.ok()) {
      Log(LogLevel::kWarning, "repository_poll_failed",
          {{"error", std::string(ToStd(changed.status().message()))}});
    }
  }
}

}  // namespace infera
