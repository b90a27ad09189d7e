// Tests for imaging/overlay.h: the palette, the preview base for every pixel type and
// channel count (16-bit and float contrast-stretched), label blending and errors.
#include "imaging/overlay.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

namespace infera {
namespace {

std::vector<int> Bytes(const Image& image) {
  return {image.pixels<uint8_t>(), image.pixels<uint8_t>() + image.data.size()};
}

TEST(PaletteTest, FixedDistinctColours) {
  EXPECT_EQ(LabelColor(0), (Rgb8{0, 0, 0}));
  EXPECT_EQ(LabelColor(-3), (Rgb8{0, 0, 0}));
  EXPECT_EQ(ColorHex(LabelColor(1)), "#e6194b");
  EXPECT_EQ(ColorHex(LabelColor(2)), "#3cb44b");
  EXPECT_EQ(ColorHex(LabelColor(4)), "#4363d8");
  EXPECT_EQ(LabelColor(1 + kPaletteSize), LabelColor(1));
  std::set<std::string> distinct;
  for (int k = 1; k <= kPaletteSize; ++k) distinct.insert(ColorHex(LabelColor(k)));
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kPaletteSize));
  EXPECT_EQ(ColorHex({1, 171, 255}), "#01abff");
}

TEST(PreviewBaseTest, EightBitGrayIsReplicated) {
  Image gray = MakeImage(2, 1, 1, PixelType::kUInt8);
  gray.pixels<uint8_t>()[0] = 10;
  gray.pixels<uint8_t>()[1] = 250;
  auto out = PreviewBase(gray);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->channels, 3);
  EXPECT_EQ(out->type, PixelType::kUInt8);
  EXPECT_EQ(Bytes(*out), (std::vector<int>{10, 10, 10, 250, 250, 250}));
}

TEST(PreviewBaseTest, ChannelMapping) {
  // gray+alpha -> gray; RGBA -> RGB; 5 channels -> the first three.
  Image ga = MakeImage(1, 1, 2, PixelType::kUInt8);
  ga.pixels<uint8_t>()[0] = 7;
  ga.pixels<uint8_t>()[1] = 99;
  EXPECT_EQ(Bytes(*PreviewBase(ga)), (std::vector<int>{7, 7, 7}));
  Image rgba = MakeImage(1, 1, 4, PixelType::kUInt8);
  for (int c = 0; c < 4; ++c) rgba.pixels<uint8_t>()[c] = static_cast<uint8_t>(c + 1);
  EXPECT_EQ(Bytes(*PreviewBase(rgba)), (std::vector<int>{1, 2, 3}));
  Image five = MakeImage(1, 1, 5, PixelType::kUInt8);
  for (int c = 0; c < 5; ++c) five.pixels<uint8_t>()[c] = static_cast<uint8_t>(10 * c);
  EXPECT_EQ(Bytes(*PreviewBase(five)), (std::vector<int>{0, 10, 20}));
}

TEST(PreviewBaseTest, SixteenBitIsContrastStretched) {
  // 101 samples 1000, 1010, ..., 2000: 1st percentile 1010, 99th 1990.
  Image image = MakeImage(101, 1, 1, PixelType::kUInt16);
  for (int i = 0; i <= 100; ++i) image.pixels<uint16_t>()[i] = static_cast<uint16_t>(1000 + 10 * i);
  auto out = PreviewBase(image);
  ASSERT_TRUE(out.ok()) << out.status();
  const std::vector<int> px = Bytes(*out);
  EXPECT_EQ(px[0], 0);             // below the 1st percentile: clipped
  EXPECT_EQ(px[3 * 1], 0);         // the 1st percentile
  EXPECT_EQ(px[3 * 50], 128);      // (1500 - 1010) / 980 * 255 = 127.5 -> 128
  EXPECT_EQ(px[3 * 99], 255);      // the 99th percentile
  EXPECT_EQ(px[3 * 100], 255);     // above: clipped
  EXPECT_EQ(px[3 * 50 + 1], 128);  // gray replicated
}

TEST(PreviewBaseTest, FloatChannelsAreStretchedSeparately) {
  Image image = MakeImage(2, 1, 3, PixelType::kFloat32);
  const float samples[6] = {-1.0f, 0.0f, 100.0f, 1.0f, 0.5f, 100.0f};  // R, G, flat B
  std::copy(samples, samples + 6, image.pixels<float>());
  auto out = PreviewBase(image);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Bytes(*out), (std::vector<int>{0, 0, 0, 255, 255, 0}));
}

TEST(OverlayLabelsTest, BlendsLabelledPixels) {
  Image source = MakeImage(3, 1, 3, PixelType::kUInt8);
  for (int i = 0; i < 9; ++i) source.pixels<uint8_t>()[i] = 100;
  Image labels = MakeImage(3, 1, 1, PixelType::kUInt8);
  labels.pixels<uint8_t>()[1] = 1;
  labels.pixels<uint8_t>()[2] = 2;
  auto out = OverlayLabels(source, labels);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Bytes(*out), (std::vector<int>{100, 100, 100, 165, 62, 88, 80, 140, 88}));

  OverlayOptions opaque;
  opaque.alpha = 1.0f;
  out = OverlayLabels(source, labels, opaque);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Bytes(*out), (std::vector<int>{100, 100, 100, 230, 25, 75, 60, 180, 75}));
}

TEST(OverlayLabelsTest, SixteenBitLabelsCycleThroughThePalette) {
  Image source = MakeImage(1, 1, 1, PixelType::kUInt8);
  Image labels = MakeImage(1, 1, 1, PixelType::kUInt16);
  labels.pixels<uint16_t>()[0] = 1 + 3 * kPaletteSize;
  OverlayOptions opaque;
  opaque.alpha = 1.0f;
  auto out = OverlayLabels(source, labels, opaque);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Bytes(*out), (std::vector<int>{230, 25, 75}));
}

TEST(OverlayLabelsTest, ErrorsAreInvalidArgument) {
  Image source = MakeImage(3, 2, 1, PixelType::kUInt8);
  const std::vector<Image> bad_labels = {
      MakeImage(2, 2, 1, PixelType::kUInt8),    // size
      MakeImage(3, 2, 2, PixelType::kUInt8),    // channels
      MakeImage(3, 2, 1, PixelType::kFloat32),  // type
      Image{},                                  // empty
  };
  for (const Image& labels : bad_labels) {
    auto out = OverlayLabels(source, labels);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument) << out.status();
  }
  OverlayOptions bad;
  bad.alpha = 1.5f;
  auto out = OverlayLabels(source, MakeImage(3, 2, 1, PixelType::kUInt8), bad);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  auto base = PreviewBase(Image{});
  ASSERT_FALSE(base.ok());
  EXPECT_EQ(base.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(InstanceColorTest, NeighbouringIdsGetDistinctColours) {
  EXPECT_EQ(InstanceColor(0), (Rgb8{0, 0, 0}));
  EXPECT_EQ(InstanceColor(-1), (Rgb8{0, 0, 0}));
  EXPECT_EQ(InstanceColor(7), InstanceColor(7));  // deterministic
  // Ids that are close (likely neighbours) differ clearly: max channel distance > 40.
  auto distance = [](Rgb8 a, Rgb8 b) {
    return std::max({std::abs(a.r - b.r), std::abs(a.g - b.g), std::abs(a.b - b.b)});
  };
  for (int k = 1; k < 2000; ++k) {
    for (int d = 1; d <= 3; ++d) {
      EXPECT_GT(distance(InstanceColor(k), InstanceColor(k + d)), 40) << k << " vs " << k + d;
    }
  }
  // Hundreds of objects: mostly different colours (not a 20-colour cycle).
  std::set<std::string> distinct;
  for (int k = 1; k <= 500; ++k) distinct.insert(ColorHex(InstanceColor(k)));
  EXPECT_GT(distinct.size(), 450u);
}

TEST(ColorizeLabelsTest, ZeroIsTransparentLabelsOpaque) {
  Image labels = MakeImage(3, 1, 1, PixelType::kUInt16);
  labels.pixels<uint16_t>()[0] = 0;
  labels.pixels<uint16_t>()[1] = 2;
  labels.pixels<uint16_t>()[2] = 300;
  auto classes = ColorizeLabels(labels, LabelPalette::kClasses);
  ASSERT_TRUE(classes.ok()) << classes.status();
  EXPECT_EQ(classes->channels, 4);
  EXPECT_EQ(classes->type, PixelType::kUInt8);
  const Rgb8 c2 = LabelColor(2), c300 = LabelColor(300);
  EXPECT_EQ(Bytes(*classes),
            (std::vector<int>{0, 0, 0, 0, c2.r, c2.g, c2.b, 255, c300.r, c300.g, c300.b, 255}));
  auto instances = ColorizeLabels(labels, LabelPalette::kInstances);
  ASSERT_TRUE(instances.ok()) << instances.status();
  const Rgb8 i2 = InstanceColor(2), i300 = InstanceColor(300);
  EXPECT_EQ(Bytes(*instances),
            (std::vector<int>{0, 0, 0, 0, i2.r, i2.g, i2.b, 255, i300.r, i300.g, i300.b, 255}));
}

TEST(ColorizeLabelsTest, BinaryMasksAreClassOne) {
  Image mask = MakeImage(2, 1, 1, PixelType::kUInt8);
  mask.pixels<uint8_t>()[0] = 255;
  auto out = ColorizeLabels(mask, LabelPalette::kClasses);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Bytes(*out), (std::vector<int>{0xe6, 0x19, 0x4b, 255, 0, 0, 0, 0}));
  // Any other value present: a class map, 255 keeps its own colour.
  mask.pixels<uint8_t>()[1] = 3;
  out = ColorizeLabels(mask, LabelPalette::kClasses);
  ASSERT_TRUE(out.ok());
  const Rgb8 c255 = LabelColor(255);
  const std::vector<int> bytes = Bytes(*out);
  EXPECT_EQ((std::vector<int>(bytes.begin(), bytes.begin() + 3)),
            (std::vector<int>{c255.r, c255.g, c255.b}));
}

TEST(ColorizeLabelsTest, FloatLabelsMustBeWholeNumbers) {
  Image labels = MakeImage(2, 1, 1, PixelType::kFloat32);
  labels.pixels<float>()[0] = 70000.0f;  // above 16 bits: 32-bit instance TIFFs
  auto out = ColorizeLabels(labels, LabelPalette::kInstances);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Bytes(*out)[3], 255);
  EXPECT_EQ(Bytes(*out)[7], 0);
  for (float bad : {0.5f, -1.0f, std::nanf("")}) {
    labels.pixels<float>()[1] = bad;
    auto r = ColorizeLabels(labels, LabelPalette::kInstances);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_FALSE(ColorizeLabels(MakeImage(2, 2, 3, PixelType::kUInt8), LabelPalette::kClasses).ok());
  EXPECT_FALSE(ColorizeLabels(Image{}, LabelPalette::kClasses).ok());
}

}  // namespace
}  // namespace infera
