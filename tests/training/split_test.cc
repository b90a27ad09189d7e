#include "training/split.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace infera {
namespace {

TEST(SplitTest, SameSeedSameSplitAndEverySampleOnce) {
  const SampleSplit a = SplitSamples(20, 0.25, 7);
  const SampleSplit b = SplitSamples(20, 0.25, 7);
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.validation, b.validation);
  EXPECT_EQ(a.validation.size(), 5u);
  EXPECT_EQ(a.train.size(), 15u);
  std::vector<int> all = a.train;
  all.insert(all.end(), a.validation.begin(), a.validation.end());
  std::sort(all.begin(), all.end());
  for (int i = 0; i < 20; ++i) EXPECT_EQ(all[static_cast<size_t>(i)], i);
  EXPECT_TRUE(std::is_sorted(a.validation.begin(), a.validation.end()));
}

TEST(SplitTest, OtherSeedsGiveOtherSplits) {
  const SampleSplit a = SplitSamples(20, 0.25, 7);
  int differing = 0;
  for (uint64_t seed = 8; seed < 13; ++seed) {
    differing += SplitSamples(20, 0.25, seed).validation != a.validation;
  }
  EXPECT_GE(differing, 4);
}

TEST(SplitTest, AtLeastOneEachSide) {
  EXPECT_EQ(SplitSamples(2, 0.0, 1).validation.size(), 1u);
  EXPECT_EQ(SplitSamples(2, 0.0, 1).train.size(), 1u);
  EXPECT_EQ(SplitSamples(3, 0.9, 1).train.size(), 1u);
  const SampleSplit one = SplitSamples(1, 0.25, 1);
  EXPECT_EQ(one.train, std::vector<int>{0});
  EXPECT_EQ(one.validation, std::vector<int>{0});
}

}  // namespace
}  // namespace infera
