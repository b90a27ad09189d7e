#include "batching/preferred_batch_sizes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace infera {
namespace {

using ::testing::ElementsAre;

// Times in milliseconds per batch, index = batch size - 1; negative: untimed.
std::vector<BatchSizeTiming> Times(const std::vector<double>& ms) {
  std::vector<BatchSizeTiming> out;
  for (size_t i = 0; i < ms.size(); ++i) {
    BatchSizeTiming t;
    t.batch_size = static_cast<int64_t>(i) + 1;
    if (ms[i] >= 0) {
      t.seconds = ms[i] / 1000.0;
      t.samples = 3;
    }
    out.push_back(t);
  }
  return out;
}

// docs/PERFORMANCE.md's LibTorch figures for MobileNetV2 on 2 cores.
TEST(PreferredBatchSizesTest, SizesBeatenBySplittingAreDropped) {
  // 2 is beaten by 1 + 1 (10 ms), 3 by 1 + 1 + 1 (15 ms, more than 5% under 16), 5..7 by
  // 4 + the rest, 8 by 4 + 4 (32 ms).
  EXPECT_THAT(ChoosePreferredBatchSizes(Times({5, 15, 16, 16, 40, 45, 60, 92}), 8),
              ElementsAre(1, 4));
}

TEST(PreferredBatchSizesTest, EveryBatchSizeKeptWhenBatchingPays) {
  EXPECT_THAT(ChoosePreferredBatchSizes(Times({4, 6, 8, 10}), 4), ElementsAre(1, 2, 3, 4));
}

TEST(PreferredBatchSizesTest, OnlyOneWhenBatchingNeverPays) {
  EXPECT_THAT(ChoosePreferredBatchSizes(Times({5, 12, 18, 25}), 4), ElementsAre(1));
}

// A split must be faster by more than the margin: equal times keep the whole batch.
TEST(PreferredBatchSizesTest, TiesKeepTheWholeBatch) {
  EXPECT_THAT(ChoosePreferredBatchSizes(Times({5, 10}), 2), ElementsAre(1, 2));
  const double just_beaten = 10.0 / (1.0 - kPreferredSplitMargin) + 0.01;
  EXPECT_THAT(ChoosePreferredBatchSizes(Times({5, just_beaten}), 2), ElementsAre(1));
}

// Splits into unequal parts count: 6 = 4 + 2 beats a slow 6 even though 3 + 3 does not.
TEST(PreferredBatchSizesTest, UnequalSplitsCount) {
  EXPECT_THAT(ChoosePreferredBatchSizes(Times({10, 12, 30, 14, 40, 40}), 6), ElementsAre(1, 2, 4));
}

// Sizes the budget did not reach stay preferred and beat nothing.
TEST(PreferredBatchSizesTest, UntimedSizesStayPreferred) {
  EXPECT_THAT(ChoosePreferredBatchSizes(Times({5, 15, -1, -1}), 4), ElementsAre(1, 3, 4));
  EXPECT_THAT(ChoosePreferredBatchSizes({}, 3), ElementsAre(1, 2, 3));
}

TEST(PreferredBatchSizesTest, SizesOutsideTheRangeAreIgnored) {
  EXPECT_THAT(ChoosePreferredBatchSizes(Times({5, 1, 1, 1}), 1), ElementsAre(1));
  EXPECT_THAT(ChoosePreferredBatchSizes(Times({5, 12}), 0), ElementsAre(1));
}

}  // namespace
}  // namespace infera
