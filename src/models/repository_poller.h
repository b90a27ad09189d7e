// RepositoryPoller: model_control mode poll — a thread that calls ModelManager::Poll
// every `interval` (Triton's --repository-poll-secs), so that adding, changing or
// removing a model folder loads, reloads or unloads it without a request.
//
// Thread-safety: Start and Stop from one controlling thread; Stop waits for a poll in
// progress (a model load) to finish, then joins. The manager must outlive the poller.
#pragma once

#include <chrono>
#include <thread>

#include "common/mutex.h"
#include "models/model_manager.h"

namespace infera {

class RepositoryPoller {
 public:
  RepositoryPoller(ModelManager* manager, std::chrono::milliseconds interval);
  ~RepositoryPoller();
  RepositoryPoller(const RepositoryPoller&) = delete;
  RepositoryPoller& operator=(const RepositoryPoller&) = delete;

  void Start() EXCLUDES(mu_);
  void Stop() EXCLUDES(mu_);

 private:
  void Loop() EXCLUDES(mu_);
  // Waits up to `interval_` for Stop; whether it was called.
  bool WaitForStop() EXCLUDES(mu_);

  ModelManager* const manager_;
  const std::chrono::milliseconds interval_;
  Mutex mu_;
  CondVar cv_;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace infera
