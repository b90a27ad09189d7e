#include "dicom/series.h"

#include <gtest/gtest.h>

namespace infera {
namespace {

DicomInstanceInfo Slice(std::string series, std::string sop, std::optional<int> number,
                        std::optional<double> z) {
  DicomInstanceInfo info;
  info.series_instance_uid = std::move(series);
  info.sop_instance_uid = std::move(sop);
  info.instance_number = number;
  info.rows = info.columns = 4;
  if (z) {
    info.image_position = std::array<double, 3>{0, 0, *z};
    info.image_orientation = std::array<double, 6>{1, 0, 0, 0, 1, 0};
  }
  return info;
}

TEST(SeriesTest, GroupsBySeriesAndOrdersByPositionAlongTheNormal) {
  // Instance numbers disagree with the positions: positions win.
  const std::vector<DicomInstanceInfo> all = {
      Slice("A", "a3", 1, 30.0),  Slice("B", "b1", 2, std::nullopt),
      Slice("A", "a1", 3, -10.0), Slice("B", "b2", 1, std::nullopt),
      Slice("A", "a2", 2, 5.5),
  };
  const std::vector<DicomSeries> series = GroupSeries(all);
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0].series_instance_uid, "A");
  EXPECT_EQ(series[0].ordered_by, "position");
  EXPECT_EQ(series[0].members, (std::vector<size_t>{2, 4, 0}));
  EXPECT_EQ(series[1].series_instance_uid, "B");
  EXPECT_EQ(series[1].ordered_by, "instance_number");
  EXPECT_EQ(series[1].members, (std::vector<size_t>{3, 1}));
}

TEST(SeriesTest, OrdersAlongTheNormalOfObliqueSlices) {
  // Sagittal slices (rows along y, columns along -z): the normal row x column is -x, so
  // the slice at the largest x comes first.
  std::vector<DicomInstanceInfo> all;
  for (double x : {2.0, -1.0, 0.5}) {
    DicomInstanceInfo info = Slice("S", "s" + std::to_string(x), std::nullopt, 0.0);
    info.image_position = std::array<double, 3>{x, 100, 100};
    info.image_orientation = std::array<double, 6>{0, 1, 0, 0, 0, -1};
    all.push_back(info);
  }
  const std::vector<DicomSeries> series = GroupSeries(all);
  ASSERT_EQ(series.size(), 1u);
  EXPECT_EQ(series[0].members, (std::vector<size_t>{0, 2, 1}));
}

TEST(SeriesTest, FallsBackToTheSopInstanceUid) {
  const std::vector<DicomInstanceInfo> all = {Slice("C", "c2", std::nullopt, std::nullopt),
                                              Slice("C", "c1", 4, std::nullopt)};
  const std::vector<DicomSeries> series = GroupSeries(all);
  ASSERT_EQ(series.size(), 1u);
  EXPECT_EQ(series[0].ordered_by, "sop_instance_uid");
  EXPECT_EQ(series[0].members, (std::vector<size_t>{1, 0}));
}

TEST(SeriesTest, NamesSizeMismatches) {
  DicomInstanceInfo a = Slice("A", "a", 1, std::nullopt);
  DicomInstanceInfo b = a;
  EXPECT_EQ(SeriesMismatch(a, b), "");
  b.rows = 8;
  EXPECT_NE(SeriesMismatch(a, b).find("differs"), std::string::npos);
}

}  // namespace
}  // namespace infera
