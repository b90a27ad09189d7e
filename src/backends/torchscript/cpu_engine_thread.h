// CpuEngineThread: the one thread on which every CPU TorchScript forward of the process
// runs (warm-ups included).
//
// Why: LibTorch here parallelises with OpenMP, and libgomp keeps one worker pool per
// thread that ever ran a parallel region. When the pooled threads outnumber the cores,
// libgomp stops spinning at barriers and every layer pays a futex wake-up: measured,
// MobileNetV2 batch 1 took 8.0 ms per forward in the server instead of 5.2 ms once a
// second thread (the model loader's warm-up) had its own pool. Running all CPU work on
// one thread keeps one pool of intra-op threads, sized to the machine.
// Cost: one hand-off per batch (tens of microseconds); CPU batches of different models
// run one after the other, each using every core.
//
// Thread-safety: Run may be called from any thread; it blocks until the task has run.
// A task that calls Run runs the inner task inline (no deadlock).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace infera {

class CpuEngineThread {
 public:
  // The process-wide instance, started on first use.
  static CpuEngineThread& Get();

  // Runs `task` on the engine thread with `intra_op_threads` OpenMP threads (0: one per
  // core) and returns when it is done.
  void Run(int intra_op_threads, const std::function<void()>& task);

  ~CpuEngineThread();

 private:
  CpuEngineThread();
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                    // GUARDED_BY(mu_)
  int current_threads_ = -1;                 // engine thread only
  std::thread thread_;
};

}  // namespace infera
