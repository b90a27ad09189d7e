// WorkerPool: the serving core's threads for work that must stay off the batcher and
// engine threads (post-processing, encoding, building responses), shared fairly among
// models: each task is posted under a key (the model it belongs to); workers take keys
// in turn (round robin over the keys with tasks waiting), and with more than one worker
// no key holds more than workers - 1 of them. A model whose post-processing takes
// hundreds of ms (cellpose's mask reconstruction) thus never makes a small classifier's
// responses wait behind its queue: one worker is always left to the others.
//
// Thread-safety: Post and Shutdown are safe from any thread. Shutdown (also run by the
// destructor) stops accepting, runs every task already posted, and joins; Post after it
// returns false and drops the task. A task that throws is logged and the worker goes on.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"

namespace infera {

class WorkerPool {
 public:
  // `threads` < 1 means 1.
  WorkerPool(int threads, std::string name);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task` under `key` (any stable address, e.g. the model). False after Shutdown.
  bool Post(const void* key, std::function<void()> task);
  void Shutdown();

  // How many workers one key may hold at once: workers - 1, at least 1.
  int per_key_limit() const { return per_key_limit_; }

 private:
  struct KeyState {
    std::deque<std::function<void()>> tasks;
    int running = 0;
  };

  void Loop();
  // The next task a worker may run (round robin over keys under their limit), or false.
  bool TakeLocked(const void** key, std::function<void()>* task) REQUIRES(mu_);

  const std::string name_;
  const int per_key_limit_;
  Mutex mu_;
  CondVar cv_;
  std::map<const void*, KeyState> keys_ GUARDED_BY(mu_);
  std::deque<const void*> turn_ GUARDED_BY(mu_);  // keys with tasks waiting, in turn order
  size_t pending_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
  Mutex join_mu_;
  std::vector<std::thread> threads_;  // fixed after construction; joined under join_mu_
};

}  // namespace infera
