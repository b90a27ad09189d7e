// Polygon rasterisation: pixel centres inside by the even-odd rule; bad polygons refused.
#include "annotations/polygon.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "support/status_matchers.h"

namespace infera {
namespace {

std::set<std::pair<int, int>> Fill(std::vector<double> xy, int w, int h) {
  std::set<std::pair<int, int>> out;
  Status s = RasterizePolygon(xy, w, h, [&](int x, int y) { out.insert({x, y}); });
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

TEST(PolygonTest, ARectangleCoversThePixelsWhoseCentresItHolds) {
  // [1, 3] x [1, 2]: centres 1.5, 2.5 in x, 1.5 in y.
  EXPECT_EQ(Fill({1, 1, 3, 1, 3, 2, 1, 2}, 5, 4), (std::set<std::pair<int, int>>{{1, 1}, {2, 1}}));
  // The whole image.
  EXPECT_EQ(Fill({0, 0, 4, 0, 4, 3, 0, 3}, 4, 3).size(), 12u);
}

TEST(PolygonTest, ATriangleAndAHole) {
  // Right triangle (0,0) (4,0) (0,4): centre (x+.5, y+.5) inside when x + y + 1 < 4.
  auto tri = Fill({0, 0, 4, 0, 0, 4}, 4, 4);
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) EXPECT_EQ(tri.count({x, y}), x + y + 1 < 4 ? 1u : 0u) << x << y;
  }
  // A self-overlapping ring (even-odd): outer square with the same inner square twice.
  auto ring = Fill({0, 0, 6, 0, 6, 6, 0, 6, 0, 0, 2, 2, 4, 2, 4, 4, 2, 4, 2, 2}, 6, 6);
  EXPECT_EQ(ring.count({3, 3}), 0u);
  EXPECT_EQ(ring.count({0, 0}), 1u);
  EXPECT_EQ(ring.size(), 32u);
}

TEST(PolygonTest, BadPolygonsAreRefused) {
  auto code = [](std::vector<double> xy) {
    return RasterizePolygon(xy, 10, 10, [](int, int) {}).code();
  };
  EXPECT_EQ(code({1, 1, 2, 2}), absl::StatusCode::kInvalidArgument);     // two points
  EXPECT_EQ(code({1, 1, 2, 2, 3}), absl::StatusCode::kInvalidArgument);  // odd
  EXPECT_EQ(code({1, 1, 11, 2, 3, 3}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code({1, 1, 2, -0.5, 3, 3}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code({1, 1, 2, std::nan(""), 3, 3}), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infera
