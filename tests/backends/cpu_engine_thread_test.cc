#include "backends/torchscript/cpu_engine_thread.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

namespace infera {
namespace {

TEST(CpuEngineThreadTest, RunsEveryTaskOnOneThreadOneAtATimeAndWaitsForIt) {
  std::mutex mu;
  std::set<std::thread::id> ids;
  std::atomic<int> running{0}, max_running{0}, done{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      for (int k = 0; k < 25; ++k) {
        int before = done.load();
        CpuEngineThread::Get().Run(1, [&] {
          const int now = ++running;
          int prev = max_running.load();
          while (now > prev && !max_running.compare_exchange_weak(prev, now)) {
          }
          {
            std::lock_guard<std::mutex> lock(mu);
            ids.insert(std::this_thread::get_id());
          }
          --running;
          ++done;
        });
        EXPECT_GT(done.load(), before);  // Run returned only after the task ran
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(done.load(), 100);
  EXPECT_EQ(max_running.load(), 1);
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids.count(std::this_thread::get_id()), 0u);
}

TEST(CpuEngineThreadTest, NestedRunDoesNotDeadlock) {
  int inner = 0;
  CpuEngineThread::Get().Run(1, [&] { CpuEngineThread::Get().Run(1, [&] { inner = 7; }); });
  EXPECT_EQ(inner, 7);
}

}  // namespace
}  // namespace infera
