#include "common/mutex.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace infera {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// A counter that threads bump under the lock; waiters wait for a value.
class Counter {
 public:
  void Add() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    ++value_;
    cv_.SignalAll();
  }
  // Waits until the value reaches `target` or the deadline; whether it did.
  bool WaitFor(int target, steady_clock::time_point deadline) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    while (value_ < target) {
      if (cv_.WaitUntil(&mu_, deadline)) return value_ >= target;
    }
    return true;
  }
  int value() const EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    return value_;
  }

 private:
  mutable Mutex mu_;
  CondVar cv_;
  int value_ GUARDED_BY(mu_) = 0;
};

TEST(MutexTest, MutexLockSerializesWriters) {
  Counter counter;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&counter] {
      for (int i = 0; i < 10000; ++i) counter.Add();
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(counter.value(), 40000);
}

TEST(MutexTest, TryLockFailsWhileHeldAndSucceedsWhenFree) {
  Mutex mu;
  ASSERT_TRUE(mu.TryLock());
  bool other_got_it = true;
  std::thread([&] {
    other_got_it = mu.TryLock();
    if (other_got_it) mu.Unlock();
  }).join();
  EXPECT_FALSE(other_got_it);
  mu.Unlock();
  {
    MutexLock lock(&mu);  // free again
  }
  ASSERT_TRUE(mu.TryLock());
  mu.Unlock();
}

TEST(MutexTest, CondVarWakesAWaiterOnSignal) {
  Counter counter;
  std::thread adder([&counter] {
    for (int i = 0; i < 3; ++i) counter.Add();
  });
  EXPECT_TRUE(counter.WaitFor(3, steady_clock::now() + std::chrono::seconds(30)));
  adder.join();
}

TEST(MutexTest, CondVarWaitsTimeOutWithoutASignal) {
  Mutex mu;
  CondVar cv;
  MutexLock lock(&mu);
  const auto start = steady_clock::now();
  bool timed_out = false;
  while (!timed_out) timed_out = cv.WaitFor(&mu, milliseconds(20));  // spurious wake-ups
  EXPECT_GE(steady_clock::now() - start, milliseconds(20));
  timed_out = false;
  const auto deadline = steady_clock::now() + milliseconds(10);
  while (!timed_out) timed_out = cv.WaitUntil(&mu, deadline);
  EXPECT_GE(steady_clock::now(), deadline);
  mu.AssertHeld();  // the waits return with the lock held again
}

}  // namespace
}  // namespace infera
