// CpuEngine: the threads ("lanes") on which every CPU TorchScript forward of the process
// runs (loads, freezing and warm-ups included).
//
// Why threads of our own: LibTorch here parallelises with OpenMP, and libgomp keeps one
// worker pool per thread that ever ran a parallel region. When the pooled threads
// outnumber the cores, libgomp stops spinning at barriers and every layer pays a futex
// wake-up: measured, MobileNetV2 batch 1 took 8.0 ms per forward in the server instead
// of 5.2 ms once a second thread (the model loader's warm-up) had its own pool. So CPU
// work never runs on the callers' threads (batcher, loader, HTTP): it runs on a lane.
//
// Lanes: instance i of a model runs on lane i (modulo the number of lanes, one per
// core). A model with one instance uses lane 0 with every core (its batches and those of
// other models run one after the other); a model with N instances runs N forwards at
// once, each on its own lane with cores / N intra-op threads (see the backend), which
// keeps the pooled threads within the cores. On 2 cores a 512×512 U-Net forward gains
// only 1.14× from its second intra-op thread, while two single-threaded lanes give 1.4×
// the throughput of one two-threaded lane (docs/PERFORMANCE.md).
//
// Loads (reading, freezing and optimising a module) run on a background lane of their own
// instead: one thread at a lower OS priority (nice +10) with one intra-op thread, so that
// a model (re)loading while others serve takes a core's leftover time rather than a
// serving lane — on a serving lane a 14 MB model's load held every request of that lane
// for seconds (issue 22 item 7, docs/RELIABILITY.md). One OpenMP thread makes no worker
// pool, so the pooled threads stay within the cores.
//
// Thread-safety: Run and RunBackground may be called from any thread; they block until
// the task has run.
// A task that calls Run (on any lane) runs the inner task inline (no deadlock).
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "common/mutex.h"

namespace infera {

class CpuEngine {
 public:
  // The process-wide instance. Lane threads start on first use.
  static CpuEngine& Get();

  // How many lanes there are (one per core, at least 1). Thread-safe.
  int lanes() const { return static_cast<int>(lanes_.size()); }

  // Runs `task` on lane `lane % lanes()` with `intra_op_threads` OpenMP threads (0: one
  // per core) and returns when it is done. Tasks on one lane run one at a time, in order.
  void Run(int lane, int intra_op_threads, const std::function<void()>& task);

  // Runs `task` on the background lane (see above) and returns when it is done.
  void RunBackground(const std::function<void()>& task);

  ~CpuEngine();

 private:
  struct Lane {
    Mutex mu;
    CondVar cv;
    std::deque<std::function<void()>> tasks GUARDED_BY(mu);
    bool stopping GUARDED_BY(mu) = false;
    int current_threads = -1;  // the lane's thread only
    int nice = 0;              // added to the thread's OS priority when it starts
    std::thread thread;        // started under start_mu_
  };

  CpuEngine();
  void RunOn(Lane* lane, int intra_op_threads, const std::function<void()>& task);
  void Loop(Lane* lane);

  Mutex start_mu_;  // serialises starting lane threads
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::unique_ptr<Lane> background_;
};

}  // namespace infera
