#include "batching/batch_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace infera {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

const BatchClock::time_point kT0 = BatchClock::time_point() + std::chrono::hours(1);

PendingRequest Req(int ms_ago_from_t0, int64_t rows = 1, uint64_t key = 0, int priority = 0) {
  PendingRequest r;
  r.enqueued = kT0 - milliseconds(ms_ago_from_t0);
  r.rows = rows;
  r.shape_key = key;
  r.priority = priority;
  return r;
}

BatchPolicyConfig Config(int64_t max_batch, int delay_ms) {
  BatchPolicyConfig c;
  c.max_batch_size = max_batch;
  c.max_queue_delay = milliseconds(delay_ms);
  return c;
}

TEST(BatchPolicyTest, EmptyQueueDecidesNothing) {
  BatchDecision d = DecideBatch({}, kT0, Config(4, 5));
  EXPECT_THAT(d.batch, IsEmpty());
  EXPECT_THAT(d.expired, IsEmpty());
  EXPECT_FALSE(d.wake_at.has_value());
}

TEST(BatchPolicyTest, FullBatchIsCutImmediately) {
  std::vector<PendingRequest> q = {Req(0), Req(0), Req(0), Req(0), Req(0)};
  BatchDecision d = DecideBatch(q, kT0, Config(4, 100));
  EXPECT_THAT(d.batch, ElementsAre(0, 1, 2, 3));
}

TEST(BatchPolicyTest, PartialBatchWaitsUntilOldestHasWaitedTheDelay) {
  std::vector<PendingRequest> q = {Req(3), Req(1)};
  BatchDecision d = DecideBatch(q, kT0, Config(8, 5));
  EXPECT_THAT(d.batch, IsEmpty());
  ASSERT_TRUE(d.wake_at.has_value());
  // The oldest was queued 3 ms before t0: the batch is due 2 ms after t0.
  EXPECT_EQ(*d.wake_at, kT0 + milliseconds(2));
}

TEST(BatchPolicyTest, PartialBatchIsCutWhenOldestDelayElapsed) {
  std::vector<PendingRequest> q = {Req(5), Req(1)};
  BatchDecision d = DecideBatch(q, kT0, Config(8, 5));
  EXPECT_THAT(d.batch, ElementsAre(0, 1));
}

TEST(BatchPolicyTest, ZeroDelayRunsAtOnce) {
  std::vector<PendingRequest> q = {Req(0)};
  BatchDecision d = DecideBatch(q, kT0, Config(8, 0));
  EXPECT_THAT(d.batch, ElementsAre(0));
}

TEST(BatchPolicyTest, DifferentShapesAreNotMixed) {
  std::vector<PendingRequest> q = {Req(10, 1, 7), Req(9, 1, 8), Req(8, 1, 7), Req(7, 1, 8)};
  BatchDecision d = DecideBatch(q, kT0, Config(8, 5));
  EXPECT_THAT(d.batch, ElementsAre(0, 2));
}

TEST(BatchPolicyTest, RowsCountTowardsMaxBatchSize) {
  std::vector<PendingRequest> q = {Req(0, 3), Req(0, 3), Req(0, 2)};
  BatchDecision d = DecideBatch(q, kT0, Config(6, 100));
  EXPECT_THAT(d.batch, ElementsAre(0, 1));  // 6 rows: full
}

TEST(BatchPolicyTest, RequestThatDoesNotFitIsSkippedForALaterOneThatDoes) {
  std::vector<PendingRequest> q = {Req(9, 4), Req(8, 4), Req(7, 2)};
  BatchDecision d = DecideBatch(q, kT0, Config(6, 5));
  EXPECT_THAT(d.batch, ElementsAre(0, 2));
}

TEST(BatchPolicyTest, ExpiredRequestsAreReportedAndNeverBatched) {
  std::vector<PendingRequest> q = {Req(10), Req(10), Req(10)};
  q[0].deadline = kT0 - milliseconds(1);
  q[2].deadline = kT0;  // a deadline equal to now has passed
  BatchDecision d = DecideBatch(q, kT0, Config(8, 5));
  EXPECT_THAT(d.expired, ElementsAre(0, 2));
  EXPECT_THAT(d.batch, ElementsAre(1));
}

TEST(BatchPolicyTest, WakesAtTheNextDeadlineWhenItComesFirst) {
  std::vector<PendingRequest> q = {Req(0), Req(0)};
  q[1].deadline = kT0 + milliseconds(1);
  BatchDecision d = DecideBatch(q, kT0, Config(8, 5));
  EXPECT_THAT(d.batch, IsEmpty());
  ASSERT_TRUE(d.wake_at.has_value());
  EXPECT_EQ(*d.wake_at, kT0 + milliseconds(1));
}

TEST(BatchPolicyTest, HigherPriorityRunsFirst) {
  std::vector<PendingRequest> q = {Req(10, 1, 0, 5), Req(9, 1, 0, 1), Req(8, 1, 0, 5)};
  BatchDecision d = DecideBatch(q, kT0, Config(2, 0));
  EXPECT_THAT(d.batch, ElementsAre(1, 0));
}

TEST(BatchPolicyTest, PriorityHeadSetsTheShape) {
  std::vector<PendingRequest> q = {Req(10, 1, 1, 5), Req(9, 1, 2, 0), Req(8, 1, 1, 0)};
  BatchDecision d = DecideBatch(q, kT0, Config(4, 0));
  EXPECT_THAT(d.batch, ElementsAre(1));
}

TEST(BatchPolicyTest, OversizedRequestFormsABatchOfItsOwn) {
  std::vector<PendingRequest> q = {Req(0, 10), Req(0, 1)};
  BatchDecision d = DecideBatch(q, kT0, Config(4, 100));
  EXPECT_THAT(d.batch, ElementsAre(0));
}

}  // namespace
}  // namespace infera
