#include "backends/torchscript/cpu_engine.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <set>
#include <thread>
#include <vector>

namespace infera {
namespace {

// Records the peak of `running` into `max_running`.
void NotePeak(std::atomic<int>& running, std::atomic<int>& max_running) {
  const int now = ++running;
  int prev = max_running.load();
  while (now > prev && !max_running.compare_exchange_weak(prev, now)) {
  }
}

TEST(CpuEngineTest, RunsEveryTaskOfALaneOnOneThreadOneAtATimeAndWaitsForIt) {
  std::mutex mu;
  std::set<std::thread::id> ids;
  std::atomic<int> running{0}, max_running{0}, done{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      for (int k = 0; k < 25; ++k) {
        int before = done.load();
        CpuEngine::Get().Run(0, 1, [&] {
          NotePeak(running, max_running);
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

TEST(CpuEngineTest, LanesRunAtOnceWithTheirOwnIntraOpThreads) {
  CpuEngine& engine = CpuEngine::Get();
  if (engine.lanes() < 2) GTEST_SKIP() << "one core: one lane";
  // Lane 1 holds its task until lane 0's task has run: both must be running at once.
  std::promise<void> lane0_ran;
  std::shared_future<void> lane0_done = lane0_ran.get_future().share();
  std::thread::id id0, id1;
  int threads0 = 0, threads1 = 0;
  bool lane1_saw_lane0 = false;
  std::thread other([&] {
    engine.Run(1, 1, [&] {
      id1 = std::this_thread::get_id();
      lane1_saw_lane0 = lane0_done.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
      threads1 = at::get_num_threads();
    });
  });
  engine.Run(0, 2, [&] {
    id0 = std::this_thread::get_id();
    threads0 = at::get_num_threads();
  });
  lane0_ran.set_value();
  other.join();
  EXPECT_TRUE(lane1_saw_lane0);
  EXPECT_NE(id0, id1);
  EXPECT_EQ(threads0, 2);
  EXPECT_EQ(threads1, 1);  // not the count lane 0 set meanwhile
  // Lanes wrap around: lane `lanes()` is lane 0.
  std::thread::id wrapped;
  engine.Run(engine.lanes(), 2, [&] { wrapped = std::this_thread::get_id(); });
  EXPECT_EQ(wrapped, id0);
}

// Loads run on the background lane: a thread of its own (no serving lane is held), one
// intra-op thread, and a lower OS priority than the caller's.
TEST(CpuEngineTest, BackgroundTasksRunOnTheirOwnLowPriorityThread) {
  CpuEngine& engine = CpuEngine::Get();
  std::set<std::thread::id> lanes;
  for (int i = 0; i < engine.lanes(); ++i) {
    engine.Run(i, 0, [&] { lanes.insert(std::this_thread::get_id()); });
  }
  const int caller_nice = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  std::thread::id background;
  int threads = 0;
  int nice = 0;
  // A serving lane stays free while a background task runs.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::thread loader([&] {
    engine.RunBackground([&] {
      background = std::this_thread::get_id();
      threads = at::get_num_threads();
      nice = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
      released.wait_for(std::chrono::seconds(20));
    });
  });
  bool lane_ran = false;
  engine.Run(0, 0, [&] { lane_ran = true; });
  EXPECT_TRUE(lane_ran);
  release.set_value();
  loader.join();
  EXPECT_EQ(lanes.count(background), 0u);
  EXPECT_NE(background, std::this_thread::get_id());
  EXPECT_EQ(threads, 1);
  EXPECT_EQ(nice, std::min(19, caller_nice + 10));
}

TEST(CpuEngineTest, NestedRunDoesNotDeadlock) {
  int inner = 0;
  CpuEngine::Get().Run(0, 1, [&] { CpuEngine::Get().Run(1, 1, [&] { inner = 7; }); });
  EXPECT_EQ(inner, 7);
}

}  // namespace
}  // namespace infera
