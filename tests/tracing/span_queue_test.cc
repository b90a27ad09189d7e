#include "tracing/span_queue.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "metrics/metrics.h"

namespace infera {
namespace {

SpanData Named(const std::string& name) {
  SpanData d;
  d.name = name;
  return d;
}

TEST(SpanQueueTest, DropsBeyondItsBoundAndCounts) {
  MetricsRegistry metrics;
  Counter& dropped = metrics.AddCounter("dropped_total", "test", {}).Get({});
  SpanQueue queue(3, &dropped);
  for (int i = 0; i < 5; ++i) queue.Push(Named("s" + std::to_string(i)));
  EXPECT_EQ(queue.size(), 3u);
  EXPECT_EQ(queue.dropped(), 2u);
  EXPECT_NE(metrics.Expose().find("dropped_total 2"), std::string::npos);
  std::vector<SpanData> out;
  EXPECT_EQ(queue.PopBatch(10, std::chrono::steady_clock::now(), &out), 3u);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].name, "s0");  // oldest first: the newest were dropped
  EXPECT_EQ(out[2].name, "s2");
  EXPECT_TRUE(queue.Push(Named("again")));
}

TEST(SpanQueueTest, PopBatchTakesAtMostTheBatch) {
  SpanQueue queue(100);
  for (int i = 0; i < 10; ++i) queue.Push(Named("s"));
  std::vector<SpanData> out;
  EXPECT_EQ(queue.PopBatch(4, std::chrono::steady_clock::now() + std::chrono::seconds(5), &out),
            4u);
  EXPECT_EQ(queue.size(), 6u);
}

TEST(SpanQueueTest, AFullBatchWakesTheWaiter) {
  SpanQueue queue(100);
  std::thread producer([&queue] {
    for (int i = 0; i < 8; ++i) queue.Push(Named("s"));
  });
  std::vector<SpanData> out;
  // Bounded by the deadline; returns as soon as 8 are there.
  queue.PopBatch(8, std::chrono::steady_clock::now() + std::chrono::seconds(30), &out);
  producer.join();
  EXPECT_EQ(out.size(), 8u);
}

TEST(SpanQueueTest, ClosedQueueRefusesAndReleasesWaiters) {
  SpanQueue queue(10);
  queue.Push(Named("kept"));
  std::vector<SpanData> out;
  std::thread closer([&queue] { queue.Close(); });
  queue.PopBatch(5, std::chrono::steady_clock::now() + std::chrono::seconds(30), &out);
  closer.join();
  EXPECT_TRUE(queue.closed());
  EXPECT_EQ(out.size(), 1u);
  EXPECT_FALSE(queue.Push(Named("late")));
  EXPECT_EQ(queue.dropped(), 1u);
}

}  // namespace
}  // namespace infera
