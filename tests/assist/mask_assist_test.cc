// The assist tools on synthetic images: GrabCut from a box recovers a disk on noise (IoU >
// 0.9), watershed from seeds separates two touching-free disks from the background, and
// bad boxes and seeds are refused with reasons.
#include "assist/mask_assist.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>

#include "support/status_matchers.h"

namespace infera {
namespace {

struct Disk {
  int cx, cy, r;
  bool Contains(int x, int y) const { return (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r; }
};

// An RGB image of noise (uniform, +-50 around a dark gray) with each disk a noisy colour of
// its own (+-20).
Image DisksOnNoise(int w, int h, const std::vector<Disk>& disks, uint32_t seed = 7) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> noise(30, 130), jitter(-20, 20);
  const uint8_t colours[][3] = {{230, 40, 40}, {40, 220, 60}};
  Image image = MakeImage(w, h, 3, PixelType::kUInt8);
  uint8_t* p = image.pixels<uint8_t>();
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      uint8_t* px = p + (static_cast<size_t>(y) * w + x) * 3;
      int inside = -1;
      for (size_t d = 0; d < disks.size(); ++d) {
        if (disks[d].Contains(x, y)) inside = static_cast<int>(d);
      }
      for (int c = 0; c < 3; ++c) {
        px[c] =
            inside < 0
                ? static_cast<uint8_t>(noise(rng))
                : static_cast<uint8_t>(std::clamp(colours[inside % 2][c] + jitter(rng), 0, 255));
      }
    }
  }
  return image;
}

int LabelAt(const Image& m, int x, int y) {
  const size_t i = static_cast<size_t>(y) * m.width + x;
  return m.type == PixelType::kUInt8 ? m.pixels<uint8_t>()[i] : m.pixels<uint16_t>()[i];
}

// IoU of {label == value} with the disk.
double IoU(const Image& m, int value, const Disk& d) {
  int64_t both = 0, either = 0;
  for (int y = 0; y < m.height; ++y) {
    for (int x = 0; x < m.width; ++x) {
      const bool a = LabelAt(m, x, y) == value, b = d.Contains(x, y);
      both += a && b;
      either += a || b;
    }
  }
  return either == 0 ? 0.0 : static_cast<double>(both) / either;
}

TEST(MaskAssistTest, GrabCutFromABoxRecoversADiskOnNoise) {
  const Disk disk{64, 60, 25};
  const Image image = DisksOnNoise(128, 128, {disk});
  ASSERT_OK_AND_ASSIGN(Image mask, GrabCutFromBox(image, {30, 26, 68, 68}, 3));
  EXPECT_EQ(mask.width, 128);
  EXPECT_EQ(mask.channels, 1);
  EXPECT_EQ(mask.type, PixelType::kUInt8);
  EXPECT_GT(IoU(mask, 3, disk), 0.9);
  // Nothing outside the box.
  for (int y = 0; y < 128; ++y) {
    for (int x = 0; x < 128; ++x) {
      if (x < 30 || y < 26 || x >= 98 || y >= 94) {
        ASSERT_EQ(LabelAt(mask, x, y), 0);
      }
    }
  }
  ASSERT_OK_AND_ASSIGN(Image wide, GrabCutFromBox(image, {30, 26, 68, 68}, 300));
  EXPECT_EQ(wide.type, PixelType::kUInt16) << "a label above 255 needs 16 bits";
}

TEST(MaskAssistTest, GrabCutWorksOnSixteenBitGrayImages) {
  const Disk disk{40, 40, 15};
  Image image = MakeImage(80, 80, 1, PixelType::kUInt16);
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> noise(0, 20000);
  for (int y = 0; y < 80; ++y) {
    for (int x = 0; x < 80; ++x) {
      image.pixels<uint16_t>()[y * 80 + x] =
          static_cast<uint16_t>(disk.Contains(x, y) ? 60000 : noise(rng));
    }
  }
  ASSERT_OK_AND_ASSIGN(Image mask, GrabCutFromBox(image, {20, 20, 41, 41}));
  EXPECT_GT(IoU(mask, 1, disk), 0.9);
}

TEST(MaskAssistTest, WatershedFromSeedsSeparatesTwoDisksFromTheBackground) {
  const Disk a{35, 40, 18}, b{90, 80, 22};
  const Image image = DisksOnNoise(128, 128, {a, b});
  ASSERT_OK_AND_ASSIGN(Image labels, WatershedFromSeeds(image, {{35, 40, 1},
                                                                {90, 80, 2},
                                                                {5, 5, 0},
                                                                {120, 10, 0},
                                                                {5, 120, 0},
                                                                {64, 64, 0},
                                                                {120, 120, 0}}));
  EXPECT_GT(IoU(labels, 1, a), 0.85);
  EXPECT_GT(IoU(labels, 2, b), 0.85);
  EXPECT_EQ(LabelAt(labels, 5, 64), 0);
}

void ExpectInvalid(const Status& s, const std::string& text) {
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(std::string(s.message()).find(text), std::string::npos) << s;
}

TEST(MaskAssistTest, BadBoxesAndSeedsAreRefused) {
  const Image image = DisksOnNoise(32, 32, {{16, 16, 6}});
  ExpectInvalid(GrabCutFromBox(image, {0, 0, 0, 5}).status(), "not inside");
  ExpectInvalid(GrabCutFromBox(image, {20, 20, 20, 5}).status(), "not inside");
  ExpectInvalid(GrabCutFromBox(image, {0, 0, 32, 32}).status(), "whole image");
  ExpectInvalid(GrabCutFromBox(image, {4, 4, 10, 10}, 0).status(), "label 0");
  ExpectInvalid(WatershedFromSeeds(image, {}).status(), "no seeds");
  ExpectInvalid(WatershedFromSeeds(image, {{1, 1, 1}, {40, 1, 0}}).status(), "outside");
  ExpectInvalid(WatershedFromSeeds(image, {{1, 1, 1}, {3, 1, 1}}).status(), "two labels");
  ExpectInvalid(WatershedFromSeeds(image, {{1, 1, 70000}, {3, 1, 0}}).status(), "70000");
}

}  // namespace
}  // namespace infera
