#include "backends/torchscript/cpu_engine.h"

#include <ATen/Parallel.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <future>

namespace infera {

namespace {
thread_local bool on_lane = false;  // true on lane threads
}  // namespace

CpuEngine& CpuEngine::Get() {
  static CpuEngine engine;
  return engine;
}

CpuEngine::CpuEngine() {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < cores; ++i) lanes_.push_back(std::make_unique<Lane>());
  background_ = std::make_unique<Lane>();
  background_->nice = 10;
}

CpuEngine::~CpuEngine() {
  std::vector<Lane*> all;
  for (auto& lane : lanes_) all.push_back(lane.get());
  all.push_back(background_.get());
  for (Lane* lane : all) {
    {
      MutexLock lock(&lane->mu);
      lane->stopping = true;
    }
    lane->cv.SignalAll();
  }
  MutexLock lock(&start_mu_);
  for (Lane* lane : all) {
    if (lane->thread.joinable()) lane->thread.join();
  }
}

void CpuEngine::Run(int lane_index, int intra_op_threads, const std::function<void()>& task) {
  if (intra_op_threads <= 0) {
    intra_op_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  if (on_lane) {  // defensive: never self-deadlock
    task();
    return;
  }
  RunOn(lanes_[static_cast<size_t>(std::max(0, lane_index)) % lanes_.size()].get(),
        intra_op_threads, task);
}

void CpuEngine::RunBackground(const std::function<void()>& task) {
  if (on_lane) {  // defensive: never self-deadlock
    task();
    return;
  }
  RunOn(background_.get(), 1, task);
}

void CpuEngine::RunOn(Lane* lane, int intra_op_threads, const std::function<void()>& task) {
  {
    MutexLock lock(&start_mu_);
    if (!lane->thread.joinable()) lane->thread = std::thread([this, lane] { Loop(lane); });
  }
  std::promise<void> done;
  std::future<void> finished = done.get_future();
  {
    MutexLock lock(&lane->mu);
    lane->tasks.push_back([lane, intra_op_threads, &task, &done] {
      if (lane->current_threads != intra_op_threads) {
        at::set_num_threads(intra_op_threads);
        lane->current_threads = intra_op_threads;
      }
      task();
      done.set_value();
    });
  }
  lane->cv.Signal();
  finished.wait();
}

void CpuEngine::Loop(Lane* lane) {
  on_lane = true;
  // Named for profilers and per-thread CPU accounting (bench/request_cost.cc).
  (void)pthread_setname_np(pthread_self(), lane->nice != 0 ? "infera-load" : "infera-lane");
  // Linux gives each thread its own nice value (PRIO_PROCESS with a thread id).
  if (lane->nice != 0) {
    const id_t tid = static_cast<id_t>(gettid());
    errno = 0;
    const int current = getpriority(PRIO_PROCESS, tid);
    if (errno == 0) (void)setpriority(PRIO_PROCESS, tid, std::min(19, current + lane->nice));
  }
  // LibTorch sets a thread's OpenMP thread count from a process-wide value on the
  // thread's first parallel operation. Do that now, so that the count this lane sets
  // before its first task is not replaced by whatever another lane set last.
  (void)at::get_num_threads();
  while (true) {
    std::function<void()> task;
    {
      MutexLock lock(&lane->mu);
      while (!lane->stopping && lane->tasks.empty()) lane->cv.Wait(&lane->mu);
      if (lane->tasks.empty()) return;  // stopping with nothing left
      task = std::move(lane->tasks.front());
      lane->tasks.pop_front();
    }
    task();
  }
}

}  // namespace infera
