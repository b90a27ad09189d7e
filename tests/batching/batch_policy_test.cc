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

BatchPolicyConfig Preferred(int64_t max_batch, int delay_ms, std::vector<int64_t> sizes) {
  BatchPolicyConfig c = Config(max_batch, delay_ms);
  c.preferred_batch_sizes = std::move(sizes);
  return c;
}

// The example: 6 queued, preferred {1, 4}: 4 run now, the rest wait their turn.
TEST(BatchPolicyTest, PreferredSizesCutTheLargestThatFits) {
  std::vector<PendingRequest> q(6, Req(0));
  BatchDecision d = DecideBatch(q, kT0, Preferred(8, 0, {1, 4}));
  EXPECT_THAT(d.batch, ElementsAre(0, 1, 2, 3));
  // What is left (2 rows) runs as batches of 1.
  std::vector<PendingRequest> rest(2, Req(0));
  EXPECT_THAT(DecideBatch(rest, kT0, Preferred(8, 0, {1, 4})).batch, ElementsAre(0));
}

// The largest preferred size is "full": it is cut at once, without waiting the delay
// for a max_batch_size batch that would only be slower.
TEST(BatchPolicyTest, LargestPreferredSizeIsFull) {
  std::vector<PendingRequest> q(5, Req(0));
  BatchDecision d = DecideBatch(q, kT0, Preferred(8, 100, {1, 4}));
  EXPECT_THAT(d.batch, ElementsAre(0, 1, 2, 3));
}

// Below the largest preferred size the oldest request's delay still decides when: the
// batch waits, then runs the largest preferred size its rows reach.
TEST(BatchPolicyTest, PreferredSizesKeepTheOldestRequestDelay) {
  std::vector<PendingRequest> q = {Req(3), Req(2), Req(1)};
  BatchDecision waiting = DecideBatch(q, kT0, Preferred(8, 5, {1, 2, 4}));
  EXPECT_THAT(waiting.batch, IsEmpty());
  ASSERT_TRUE(waiting.wake_at.has_value());
  EXPECT_EQ(*waiting.wake_at, kT0 + milliseconds(2));
  BatchDecision due = DecideBatch(q, kT0 + milliseconds(2), Preferred(8, 5, {1, 2, 4}));
  EXPECT_THAT(due.batch, ElementsAre(0, 1));
}

TEST(BatchPolicyTest, PreferredSizesKeepPriorities) {
  std::vector<PendingRequest> q = {Req(10, 1, 0, 5), Req(9, 1, 0, 1), Req(8, 1, 0, 5),
                                   Req(7, 1, 0, 1), Req(6, 1, 0, 1)};
  BatchDecision d = DecideBatch(q, kT0, Preferred(8, 0, {1, 2}));
  EXPECT_THAT(d.batch, ElementsAre(1, 3));
}

// Requests of several rows are never split: those that do not fit the preferred size
// wait, later ones that fit join.
TEST(BatchPolicyTest, PreferredSizesPackWholeRequests) {
  std::vector<PendingRequest> q = {Req(0, 3), Req(0, 3), Req(0, 1)};
  BatchDecision d = DecideBatch(q, kT0, Preferred(8, 0, {1, 4, 8}));
  // 7 rows reach 4: the head (3) and the single row (1); the second 3 waits.
  EXPECT_THAT(d.batch, ElementsAre(0, 2));
}

TEST(BatchPolicyTest, HeadLargerThanEveryPreferredSizeRunsAlone) {
  std::vector<PendingRequest> q = {Req(0, 6), Req(0, 1)};
  EXPECT_THAT(DecideBatch(q, kT0, Preferred(8, 0, {1, 4})).batch, ElementsAre(0));
  std::vector<PendingRequest> three = {Req(0, 3), Req(0, 1)};
  EXPECT_THAT(DecideBatch(three, kT0, Preferred(8, 0, {2, 4})).batch, ElementsAre(0, 1));
  std::vector<PendingRequest> alone = {Req(0, 3)};
  EXPECT_THAT(DecideBatch(alone, kT0, Preferred(8, 0, {4})).batch, ElementsAre(0));
}

TEST(BatchPolicyTest, NoPreferredSizesCutWhateverIsQueued) {
  std::vector<PendingRequest> q(6, Req(0));
  EXPECT_THAT(DecideBatch(q, kT0, Config(8, 0)).batch, ElementsAre(0, 1, 2, 3, 4, 5));
}

}  // namespace
}  // namespace infera
