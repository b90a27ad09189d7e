#include "batching/dynamic_batcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

namespace infera {
namespace {

using std::chrono::milliseconds;

// A request whose single input is a [rows, 2] FP32 tensor filled with `value`.
InferenceRequest MakeRequest(float value, int64_t rows, std::promise<StatusOr<InferenceResult>>* p,
                             int64_t width = 2) {
  InferenceRequest r;
  Tensor t(DType::kFP32, {rows, width});
  for (int64_t i = 0; i < rows * width; ++i) t.data_as<float>()[i] = value + static_cast<float>(i);
  r.inputs.push_back(std::move(t));
  r.done = [p](StatusOr<InferenceResult> result) { p->set_value(std::move(result)); };
  return r;
}

// Execute: output = input * 2, records batch sizes.
struct Doubler {
  std::mutex mu;
  std::vector<int64_t> batch_rows;
  StatusOr<std::vector<Tensor>> operator()(size_t, std::vector<Tensor>& inputs) {
    {
      std::lock_guard<std::mutex> lock(mu);
      batch_rows.push_back(inputs[0].shape()[0]);
    }
    Tensor out(inputs[0].dtype(), inputs[0].shape());
    for (int64_t i = 0; i < out.num_elements(); ++i) {
      out.data_as<float>()[i] = inputs[0].data_as<float>()[i] * 2;
    }
    std::vector<Tensor> outs;
    outs.push_back(std::move(out));
    return outs;
  }
};

DynamicBatcher::Options Opts(int64_t max_batch, int delay_ms, size_t max_queue = 256) {
  DynamicBatcher::Options o;
  o.model_name = "m";
  o.policy.max_batch_size = max_batch;
  o.policy.max_queue_delay = milliseconds(delay_ms);
  o.max_queue_size = max_queue;
  return o;
}

TEST(DynamicBatcherTest, EachConcurrentClientGetsItsOwnRows) {
  Doubler doubler;
  DynamicBatcher batcher(Opts(8, 2), std::ref(doubler));
  constexpr int kClients = 16;
  constexpr int kPerClient = 25;
  std::atomic<int> wrong{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int k = 0; k < kPerClient; ++k) {
        const float value = static_cast<float>(c * 1000 + k * 10);
        const int64_t rows = 1 + (c + k) % 3;
        std::promise<StatusOr<InferenceResult>> p;
        auto f = p.get_future();
        ASSERT_TRUE(batcher.Enqueue(MakeRequest(value, rows, &p)).ok());
        ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
        StatusOr<InferenceResult> r = f.get();
        ASSERT_TRUE(r.ok()) << r.status();
        const Tensor& out = r->outputs[0];
        if (out.shape() != Shape{rows, 2}) ++wrong;
        for (int64_t i = 0; i < rows * 2; ++i) {
          if (out.data_as<float>()[i] != 2 * (value + static_cast<float>(i))) ++wrong;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(wrong.load(), 0);
  const BatcherStats stats = batcher.stats();
  EXPECT_EQ(stats.success, static_cast<uint64_t>(kClients * kPerClient));
  EXPECT_LT(stats.executions, stats.success);  // some batching happened
  // Engine busy time counts each batch once; compute time counts it per request.
  EXPECT_GT(stats.execute_ns, 0u);
  EXPECT_LT(stats.execute_ns, stats.compute_ns);
}

// An execute function that blocks until released, to hold the only instance busy.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  int entered = 0;
  std::vector<int64_t> batch_rows;
  StatusOr<std::vector<Tensor>> operator()(size_t, std::vector<Tensor>& inputs) {
    std::unique_lock<std::mutex> lock(mu);
    ++entered;
    batch_rows.push_back(inputs[0].shape()[0]);
    cv.notify_all();
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return open; });
    std::vector<Tensor> outs;
    outs.push_back(inputs[0]);
    return outs;
  }
  void WaitEntered(int n) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return entered >= n; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
    cv.notify_all();
  }
};

TEST(DynamicBatcherTest, PendingBatchGrowsWhileTheInstanceIsBusy) {
  Gate gate;
  DynamicBatcher batcher(Opts(8, 0), std::ref(gate));
  std::vector<std::promise<StatusOr<InferenceResult>>> promises(6);
  ASSERT_TRUE(batcher.Enqueue(MakeRequest(0, 1, &promises[0])).ok());
  gate.WaitEntered(1);
  for (int i = 1; i < 6; ++i) ASSERT_TRUE(batcher.Enqueue(MakeRequest(i, 1, &promises[i])).ok());
  gate.Open();
  for (auto& p : promises) {
    auto f = p.get_future();
    ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    ASSERT_TRUE(f.get().ok());
  }
  std::lock_guard<std::mutex> lock(gate.mu);
  EXPECT_EQ(gate.batch_rows, (std::vector<int64_t>{1, 5}));
}

TEST(DynamicBatcherTest, FullQueueIsRefusedWithUnavailable) {
  Gate gate;
  DynamicBatcher batcher(Opts(1, 0, /*max_queue=*/2), std::ref(gate));
  std::vector<std::promise<StatusOr<InferenceResult>>> promises(4);
  ASSERT_TRUE(batcher.Enqueue(MakeRequest(0, 1, &promises[0])).ok());
  gate.WaitEntered(1);  // the first is executing, not queued
  ASSERT_TRUE(batcher.Enqueue(MakeRequest(1, 1, &promises[1])).ok());
  ASSERT_TRUE(batcher.Enqueue(MakeRequest(2, 1, &promises[2])).ok());
  Status full = batcher.Enqueue(MakeRequest(3, 1, &promises[3]));
  EXPECT_EQ(full.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(full.message().find("queue is full"), std::string::npos);
  EXPECT_EQ(batcher.stats().rejected, 1u);
  gate.Open();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(promises[i].get_future().get().ok());
}

// A group (one caller request's tiles) counts once against max_queue_size while any of
// its items waits, and is admitted or refused whole.
TEST(DynamicBatcherTest, AGroupCountsOnceAgainstTheQueueBound) {
  Gate gate;
  DynamicBatcher batcher(Opts(1, 0, /*max_queue=*/2), std::ref(gate));
  std::vector<std::promise<StatusOr<InferenceResult>>> promises(9);
  ASSERT_TRUE(batcher.Enqueue(MakeRequest(0, 1, &promises[0])).ok());
  gate.WaitEntered(1);  // executing, not queued
  std::vector<InferenceRequest> tiles;
  for (int i = 1; i <= 5; ++i) tiles.push_back(MakeRequest(static_cast<float>(i), 1, &promises[i]));
  ASSERT_TRUE(batcher.EnqueueGroup(std::move(tiles)).ok());  // 5 items, one request
  EXPECT_EQ(batcher.queue_size(), 5u);
  ASSERT_TRUE(batcher.Enqueue(MakeRequest(6, 1, &promises[6])).ok());
  // Two requests wait: a third group is refused whole, and none of its callbacks runs.
  std::vector<InferenceRequest> refused;
  refused.push_back(MakeRequest(7, 1, &promises[7]));
  refused.push_back(MakeRequest(8, 1, &promises[8]));
  EXPECT_EQ(batcher.EnqueueGroup(std::move(refused)).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(batcher.queue_size(), 6u);
  gate.Open();
  for (int i = 0; i <= 6; ++i) {
    auto f = promises[i].get_future();
    ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    EXPECT_TRUE(f.get().ok()) << i;
  }
  for (int i = 7; i <= 8; ++i) {
    EXPECT_EQ(promises[i].get_future().wait_for(milliseconds(0)), std::future_status::timeout);
  }
  // Once the group has left the queue, its place is free again.
  std::promise<StatusOr<InferenceResult>> later;
  ASSERT_TRUE(batcher.Enqueue(MakeRequest(9, 1, &later)).ok());
  EXPECT_TRUE(later.get_future().get().ok());
}

TEST(DynamicBatcherTest, AGroupWithABadMemberIsRefusedWhole) {
  Doubler doubler;
  DynamicBatcher batcher(Opts(4, 0), std::ref(doubler));
  std::promise<StatusOr<InferenceResult>> ok, bad;
  std::vector<InferenceRequest> group;
  group.push_back(MakeRequest(0, 1, &ok));
  group.push_back(MakeRequest(0, 5, &bad));  // more rows than max_batch_size
  EXPECT_EQ(batcher.EnqueueGroup(std::move(group)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(batcher.stats().enqueued, 0u);
  EXPECT_EQ(ok.get_future().wait_for(milliseconds(50)), std::future_status::timeout);
}

TEST(DynamicBatcherTest, ExpiredRequestIsFailedAndNeverExecuted) {
  Gate gate;
  DynamicBatcher batcher(Opts(4, 0), std::ref(gate));
  std::promise<StatusOr<InferenceResult>> first, late;
  ASSERT_TRUE(batcher.Enqueue(MakeRequest(0, 1, &first)).ok());
  gate.WaitEntered(1);
  InferenceRequest r = MakeRequest(1, 1, &late);
  r.context.deadline = BatchClock::now();  // passes while the only instance is busy
  ASSERT_TRUE(batcher.Enqueue(std::move(r)).ok());
  auto f = late.get_future();
  // It is failed as soon as an instance is free to look at the queue.
  gate.Open();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  StatusOr<InferenceResult> result = f.get();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(result.status().message().find("timed out"), std::string::npos);
  EXPECT_TRUE(first.get_future().get().ok());
  std::lock_guard<std::mutex> lock(gate.mu);
  EXPECT_EQ(gate.entered, 1);  // the expired request never reached execute
  EXPECT_EQ(batcher.stats().timed_out, 1u);
}

TEST(DynamicBatcherTest, CanceledRequestsLeaveTheQueueUnrun) {
  Gate gate;
  DynamicBatcher batcher(Opts(4, 0), std::ref(gate));
  std::promise<StatusOr<InferenceResult>> first, dropped1, dropped2, kept;
  ASSERT_TRUE(batcher.Enqueue(MakeRequest(0, 1, &first)).ok());
  gate.WaitEntered(1);  // the only instance is busy: the rest stays queued
  auto flag = std::make_shared<std::atomic<bool>>(false);
  for (auto* p : {&dropped1, &dropped2}) {
    InferenceRequest r = MakeRequest(1, 1, p);
    r.context.canceled = flag;
    ASSERT_TRUE(batcher.Enqueue(std::move(r)).ok());
  }
  ASSERT_TRUE(batcher.Enqueue(MakeRequest(2, 1, &kept)).ok());
  flag->store(true);  // the caller gives up while they wait
  gate.Open();
  for (auto* p : {&dropped1, &dropped2}) {
    auto f = p->get_future();
    ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    StatusOr<InferenceResult> result = f.get();
    EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled);
    EXPECT_NE(result.status().message().find("canceled"), std::string::npos);
  }
  EXPECT_TRUE(kept.get_future().get().ok());  // others are not affected
  EXPECT_TRUE(first.get_future().get().ok());
  std::lock_guard<std::mutex> lock(gate.mu);
  EXPECT_EQ(gate.batch_rows, (std::vector<int64_t>{1, 1}));  // first, then kept alone
  EXPECT_EQ(batcher.stats().canceled, 2u);
}

// A finished request's callback (and what it owns: a model holding this batcher) is
// released at once, not kept until the next batch.
TEST(DynamicBatcherTest, FinishedCallbacksAreReleasedAtOnce) {
  Doubler doubler;
  DynamicBatcher batcher(Opts(4, 0), std::ref(doubler));
  auto owned = std::make_shared<int>(7);
  std::promise<StatusOr<InferenceResult>> done;
  InferenceRequest r = MakeRequest(1, 1, &done);
  r.done = [owned, &done](StatusOr<InferenceResult> result) { done.set_value(std::move(result)); };
  ASSERT_TRUE(batcher.Enqueue(std::move(r)).ok());
  ASSERT_TRUE(done.get_future().get().ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (owned.use_count() > 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  EXPECT_EQ(owned.use_count(), 1);
}

TEST(DynamicBatcherTest, ExpiresWhileWaitingForTheBatchDelay) {
  Doubler doubler;
  DynamicBatcher batcher(Opts(8, 5000), std::ref(doubler));
  std::promise<StatusOr<InferenceResult>> p;
  InferenceRequest r = MakeRequest(1, 1, &p);
  r.context.deadline = BatchClock::now() + milliseconds(10);
  ASSERT_TRUE(batcher.Enqueue(std::move(r)).ok());
  auto f = p.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(f.get().status().code(), absl::StatusCode::kUnavailable);
  std::lock_guard<std::mutex> lock(doubler.mu);
  EXPECT_TRUE(doubler.batch_rows.empty());
}

TEST(DynamicBatcherTest, DifferentShapesRunInSeparateBatches) {
  Gate gate;
  DynamicBatcher batcher(Opts(8, 0), std::ref(gate));
  std::vector<std::promise<StatusOr<InferenceResult>>> promises(5);
  ASSERT_TRUE(batcher.Enqueue(MakeRequest(0, 1, &promises[0])).ok());
  gate.WaitEntered(1);
  ASSERT_TRUE(batcher.Enqueue(MakeRequest(1, 1, &promises[1], 2)).ok());
  ASSERT_TRUE(batcher.Enqueue(MakeRequest(2, 1, &promises[2], 3)).ok());
  ASSERT_TRUE(batcher.Enqueue(MakeRequest(3, 1, &promises[3], 2)).ok());
  ASSERT_TRUE(batcher.Enqueue(MakeRequest(4, 1, &promises[4], 3)).ok());
  gate.Open();
  for (int i = 0; i < 5; ++i) {
    StatusOr<InferenceResult> r = promises[i].get_future().get();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->outputs[0].shape()[1], i == 0 ? 2 : (i % 2 ? 2 : 3));
  }
  std::lock_guard<std::mutex> lock(gate.mu);
  EXPECT_EQ(gate.batch_rows, (std::vector<int64_t>{1, 2, 2}));
}

TEST(DynamicBatcherTest, RejectsBadRequests) {
  Doubler doubler;
  DynamicBatcher batcher(Opts(4, 0), std::ref(doubler));
  std::promise<StatusOr<InferenceResult>> p;
  EXPECT_EQ(batcher.Enqueue(MakeRequest(0, 5, &p)).code(), absl::StatusCode::kInvalidArgument);
  InferenceRequest empty;
  EXPECT_EQ(batcher.Enqueue(std::move(empty)).code(), absl::StatusCode::kInvalidArgument);
  InferenceRequest mismatched = MakeRequest(0, 2, &p);
  mismatched.inputs.emplace_back(DType::kFP32, Shape{3, 1});
  EXPECT_EQ(batcher.Enqueue(std::move(mismatched)).code(), absl::StatusCode::kInvalidArgument);
}

TEST(DynamicBatcherTest, EngineErrorsReachEveryRequestOfTheBatch) {
  DynamicBatcher batcher(Opts(4, 50),
                         [](size_t, std::vector<Tensor>&) -> StatusOr<std::vector<Tensor>> {
                           return absl::InternalError("engine exploded");
                         });
  std::vector<std::promise<StatusOr<InferenceResult>>> promises(4);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(batcher.Enqueue(MakeRequest(i, 1, &promises[i])).ok());
  for (auto& p : promises) {
    StatusOr<InferenceResult> r = p.get_future().get();
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal);
    EXPECT_EQ(r.status().message(), "engine exploded");
  }
  EXPECT_EQ(batcher.stats().failed, 4u);
}

TEST(DynamicBatcherTest, WrongOutputRowCountIsAnInternalError) {
  DynamicBatcher batcher(Opts(4, 0),
                         [](size_t, std::vector<Tensor>&) -> StatusOr<std::vector<Tensor>> {
                           std::vector<Tensor> outs;
                           outs.emplace_back(DType::kFP32, Shape{7, 1});
                           return outs;
                         });
  std::promise<StatusOr<InferenceResult>> p;
  ASSERT_TRUE(batcher.Enqueue(MakeRequest(0, 2, &p)).ok());
  EXPECT_EQ(p.get_future().get().status().code(), absl::StatusCode::kInternal);
}

TEST(DynamicBatcherTest, ShutdownRunsWhatIsQueuedThenRefuses) {
  Doubler doubler;
  DynamicBatcher batcher(Opts(8, 60000), std::ref(doubler));
  std::vector<std::promise<StatusOr<InferenceResult>>> promises(3);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(batcher.Enqueue(MakeRequest(i, 1, &promises[i])).ok());
  batcher.Shutdown();  // the 60 s delay is not waited for
  for (auto& p : promises) EXPECT_TRUE(p.get_future().get().ok());
  std::promise<StatusOr<InferenceResult>> after;
  EXPECT_EQ(batcher.Enqueue(MakeRequest(0, 1, &after)).code(), absl::StatusCode::kUnavailable);
}

TEST(DynamicBatcherTest, SeveralInstancesShareOneQueue) {
  std::atomic<int> concurrent{0};
  std::atomic<int> max_concurrent{0};
  std::mutex mu;
  std::condition_variable cv;
  DynamicBatcher::Options o = Opts(1, 0);
  o.instances = 2;
  std::vector<size_t> seen;
  DynamicBatcher batcher(
      o, [&](size_t instance, std::vector<Tensor>& in) -> StatusOr<std::vector<Tensor>> {
        int now = ++concurrent;
        int prev = max_concurrent.load();
        while (now > prev && !max_concurrent.compare_exchange_weak(prev, now)) {
        }
        {
          std::unique_lock<std::mutex> lock(mu);
          seen.push_back(instance);
          cv.notify_all();
          // Wait (bounded) until both instances have been seen at once.
          cv.wait_for(lock, std::chrono::seconds(5), [&] { return max_concurrent.load() >= 2; });
        }
        --concurrent;
        std::vector<Tensor> outs;
        outs.push_back(in[0]);
        return outs;
      });
  std::vector<std::promise<StatusOr<InferenceResult>>> promises(2);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(batcher.Enqueue(MakeRequest(i, 1, &promises[i])).ok());
  for (auto& p : promises) EXPECT_TRUE(p.get_future().get().ok());
  EXPECT_EQ(max_concurrent.load(), 2);
}

}  // namespace
}  // namespace infera
