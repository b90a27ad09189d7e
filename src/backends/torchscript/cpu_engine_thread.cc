#include "backends/torchscript/cpu_engine_thread.h"

#include <ATen/Parallel.h>

#include <future>

namespace infera {

CpuEngineThread& CpuEngineThread::Get() {
  static CpuEngineThread engine;
  return engine;
}

CpuEngineThread::CpuEngineThread() : thread_([this] { Loop(); }) {}

CpuEngineThread::~CpuEngineThread() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CpuEngineThread::Run(int intra_op_threads, const std::function<void()>& task) {
  if (intra_op_threads <= 0) {
    intra_op_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  if (std::this_thread::get_id() == thread_.get_id()) {  // defensive: never self-deadlock
    task();
    return;
  }
  std::promise<void> done;
  std::future<void> finished = done.get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.push_back([this, intra_op_threads, &task, &done] {
      if (current_threads_ != intra_op_threads) {
        at::set_num_threads(intra_op_threads);
        current_threads_ = intra_op_threads;
      }
      task();
      done.set_value();
    });
  }
  cv_.notify_one();
  finished.wait();
}

void CpuEngineThread::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
    if (tasks_.empty()) return;  // stopping with nothing left
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    task();
    lock.lock();
  }
}

}  // namespace infera
