// TaskPool: a fixed set of threads running posted tasks in FIFO order — for work that
// blocks (disk, database, image decoding of uploads) and must stay off the HTTP I/O
// threads.
//
// Thread-safety: Post is safe from any thread. Shutdown (also run by the destructor)
// stops accepting, runs the tasks already posted, and joins; Post after it returns
// false and drops the task. A task that throws is logged and the thread goes on.
#pragma once

#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"

namespace infera {

class TaskPool {
 public:
  TaskPool(int threads, std::string name);
  ~TaskPool();
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  bool Post(std::function<void()> task) EXCLUDES(mu_);
  void Shutdown() EXCLUDES(mu_);
  // Tasks posted and not yet started.
  size_t pending() const EXCLUDES(mu_);

 private:
  void Loop();

  const std::string name_;
  mutable Mutex mu_;
  CondVar cv_;
  std::deque<std::function<void()>> tasks_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;  // the constructor and Shutdown (one caller) only
};

}  // namespace infera
