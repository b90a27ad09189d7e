#include "active_learning/rank_strategy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "support/status_matchers.h"

namespace infera {
namespace {

TEST(RankStrategyTest, ParsesTheFourStrategiesAndNamesThemOnError) {
  for (const std::string& name : RankStrategyNames()) {
    ASSERT_OK_AND_ASSIGN(RankStrategy s, ParseRankStrategy(name));
    EXPECT_EQ(RankStrategyName(s), name);
  }
  StatusOr<RankStrategy> bad = ParseRankStrategy("margin");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(bad.status().message()).find("uncertainty, tta, random, first"),
            std::string::npos);
  EXPECT_TRUE(StrategyNeedsModel(RankStrategy::kUncertainty));
  EXPECT_TRUE(StrategyNeedsModel(RankStrategy::kTta));
  EXPECT_FALSE(StrategyNeedsModel(RankStrategy::kRandom));
  EXPECT_FALSE(StrategyNeedsModel(RankStrategy::kFirst));
}

TEST(RankStrategyTest, RandomScoreIsSeededAndSpread) {
  EXPECT_EQ(RandomScore(7, 42), RandomScore(7, 42));
  EXPECT_NE(RandomScore(7, 42), RandomScore(8, 42));
  std::set<double> seen;
  double sum = 0;
  for (int64_t id = 1; id <= 1000; ++id) {
    const double r = RandomScore(3, id);
    EXPECT_GE(r, 0.0);
    EXPECT_LT(r, 1.0);
    seen.insert(r);
    sum += r;
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_NEAR(sum / 1000, 0.5, 0.05);
}

TEST(RankStrategyTest, SortsByScoreThenDatasetOrderWithNanLast) {
  auto image = [](int64_t id, int64_t position, double score) {
    ScoredImage s;
    s.file_id = id;
    s.position = position;
    s.score = score;
    return s;
  };
  std::vector<ScoredImage> images = {image(10, 0, 0.2), image(11, 1, std::nan("")),
                                     image(12, 2, 0.9), image(13, 3, 0.2)};
  SortBestFirst(images);
  EXPECT_EQ(images[0].file_id, 12);
  EXPECT_EQ(images[1].file_id, 10);
  EXPECT_EQ(images[2].file_id, 13);
  EXPECT_EQ(images[3].file_id, 11);
}

}  // namespace
}  // namespace infera
