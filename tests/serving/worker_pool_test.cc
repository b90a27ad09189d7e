// WorkerPool: turns by key, and no key holds every worker, so a slow model's tasks never
// keep another model's task waiting for a worker.
#include "serving/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

namespace infera {
namespace {

constexpr auto kWait = std::chrono::seconds(20);

TEST(WorkerPoolTest, AKeyWithBlockedTasksLeavesAWorkerToTheOthers) {
  WorkerPool pool(2, "test");
  EXPECT_EQ(pool.per_key_limit(), 1);
  std::mutex mu;
  std::condition_variable cv;
  bool release = false, other_ran = false;
  std::atomic<int> slow_started{0};
  int slow_key = 0, fast_key = 0;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(pool.Post(&slow_key, [&] {
      ++slow_started;
      std::unique_lock lock(mu);
      cv.wait_for(lock, kWait, [&] { return release; });
    }));
  }
  ASSERT_TRUE(pool.Post(&fast_key, [&] {
    std::lock_guard lock(mu);
    other_ran = true;
    cv.notify_all();
  }));
  {
    std::unique_lock lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, kWait, [&] { return other_ran; }));
    EXPECT_EQ(slow_started.load(), 1);  // the slow key holds one worker, not both
    release = true;
    cv.notify_all();
  }
  pool.Shutdown();  // runs the rest
  EXPECT_EQ(slow_started.load(), 3);
  EXPECT_FALSE(pool.Post(&fast_key, [] {}));
}

TEST(WorkerPoolTest, KeysTakeTurnsAndOneWorkerRunsEverything) {
  WorkerPool pool(1, "test");
  EXPECT_EQ(pool.per_key_limit(), 1);
  std::mutex mu;
  std::condition_variable cv;
  bool started = false, release = false;
  std::string order;
  int a = 0, b = 0, c = 0;
  // A task of key c holds the only worker; a's three tasks and b's two queue meanwhile.
  ASSERT_TRUE(pool.Post(&c, [&] {
    std::unique_lock lock(mu);
    started = true;
    cv.notify_all();
    cv.wait_for(lock, kWait, [&] { return release; });
    order += 'C';
  }));
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, kWait, [&] { return started; }));
  }
  auto note = [&](char what) {
    return [&, what] {
      std::lock_guard lock(mu);
      order += what;
    };
  };
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(pool.Post(&a, note('a')));
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(pool.Post(&b, note('b')));
  {
    std::lock_guard lock(mu);
    release = true;
    cv.notify_all();
  }
  pool.Shutdown();
  EXPECT_EQ(order, "Cababa");  // turns, not arrival order
}

}  // namespace
}  // namespace infera
