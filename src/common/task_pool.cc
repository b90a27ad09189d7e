#include "common/task_pool.h"

#include <exception>

#include "common/logging.h"

namespace infera {

TaskPool::TaskPool(int threads, std::string name) : name_(std::move(name)) {
  if (threads < 1) threads = 1;
  threads_.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

TaskPool::~TaskPool() { Shutdown(); }

bool TaskPool::Post(std::function<void()> task) {
  {
    MutexLock lock(&mu_);
    if (stopping_) return false;
    tasks_.push_back(std::move(task));
  }
  cv_.Signal();
  return true;
}

void TaskPool::Shutdown() {
  {
    MutexLock lock(&mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  cv_.SignalAll();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

size_t TaskPool::pending() const {
  MutexLock lock(&mu_);
  return tasks_.size();
}

void TaskPool::Loop() {
  while (true) {
    std::function<void()> task;
    {
      MutexLock lock(&mu_);
      while (!stopping_ && tasks_.empty()) cv_.Wait(&mu_);
      if (tasks_.empty()) return;  // stopping and drained
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    try {
      task();
    } catch (const std::exception& e) {
      Log(LogLevel::kError, "task_failed", {{"pool", name_}, {"error", e.what()}});
    } catch (...) {
      Log(LogLevel::kError, "task_failed", {{"pool", name_}, {"error", "unknown exception"}});
    }
  }
}

}  // namespace infera
