#include "serving/worker_pool.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "common/logging.h"

namespace infera {

WorkerPool::WorkerPool(int threads, std::string name)
    : name_(std::move(name)), per_key_limit_(std::max(1, threads - 1)) {
  threads = std::max(1, threads);
  threads_.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

WorkerPool::~WorkerPool() { Shutdown(); }

bool WorkerPool::Post(const void* key, std::function<void()> task) {
  {
    MutexLock lock(&mu_);
    if (stopping_) return false;
    KeyState& state = keys_[key];
    if (state.tasks.empty()) turn_.push_back(key);
    state.tasks.push_back(std::move(task));
    ++pending_;
  }
  cv_.SignalAll();
  return true;
}

void WorkerPool::Shutdown() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  cv_.SignalAll();
  MutexLock join(&join_mu_);
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

bool WorkerPool::TakeLocked(const void** key, std::function<void()>* task) {
  for (auto it = turn_.begin(); it != turn_.end(); ++it) {
    KeyState& state = keys_[*it];
    if (state.running >= per_key_limit_) continue;
    *key = *it;
    *task = std::move(state.tasks.front());
    state.tasks.pop_front();
    ++state.running;
    --pending_;
    turn_.erase(it);
    if (!state.tasks.empty()) turn_.push_back(*key);  // its next task waits its turn
    return true;
  }
  return false;
}

void WorkerPool::Loop() {
  while (true) {
    const void* key = nullptr;
    std::function<void()> task;
    {
      MutexLock lock(&mu_);
      while (!TakeLocked(&key, &task)) {
        if (stopping_ && pending_ == 0) return;
        cv_.Wait(&mu_);
      }
    }
    try {
      task();
    } catch (const std::exception& e) {
      Log(LogLevel::kError, "task_failed", {{"pool", name_}, {"error", e.what()}});
    }
    task = nullptr;  // the task's captures go before the next one starts
    {
      MutexLock lock(&mu_);
      KeyState& state = keys_[key];
      --state.running;
      if (state.running == 0 && state.tasks.empty()) keys_.erase(key);
    }
    cv_.SignalAll();  // a task of this key may now run
  }
}

}  // namespace infera
