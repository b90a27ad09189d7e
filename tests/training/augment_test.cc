#include "training/augment.h"

#include <gtest/gtest.h>

#include "support/status_matchers.h"

namespace infera {
namespace {

// An 8-bit gray image whose pixel (x, y) is 1 + x + width * y (distinct values).
Image Ramp(int width, int height) {
  Image image = MakeImage(width, height, 1, PixelType::kUInt8);
  for (int i = 0; i < width * height; ++i) image.pixels<uint8_t>()[i] = static_cast<uint8_t>(1 + i);
  return image;
}

uint8_t At(const Image& image, int x, int y) {
  return image.pixels<uint8_t>()[y * image.width + x];
}

TEST(AugmentTest, GeometryMatchesNumpy) {
  const Image r = Ramp(3, 2);  // 1 2 3 / 4 5 6
  const Image lr = FlipLeftRight(r);
  EXPECT_EQ(At(lr, 0, 0), 3);
  EXPECT_EQ(At(lr, 2, 1), 4);
  const Image ud = FlipUpDown(r);
  EXPECT_EQ(At(ud, 0, 0), 4);
  // np.rot90 (counter-clockwise): [[3, 6], [2, 5], [1, 4]].
  const Image q = Rotate90(r, 1);
  ASSERT_EQ(q.width, 2);
  ASSERT_EQ(q.height, 3);
  EXPECT_EQ(At(q, 0, 0), 3);
  EXPECT_EQ(At(q, 1, 0), 6);
  EXPECT_EQ(At(q, 0, 2), 1);
  EXPECT_EQ(Rotate90(r, 4).data, r.data);
  EXPECT_EQ(Rotate90(Rotate90(r, 1), 3).data, r.data);
  const Image c = Crop(r, 1, 0, 2, 2);
  EXPECT_EQ(At(c, 0, 0), 2);
  EXPECT_EQ(At(c, 1, 1), 6);
}

// The mask is a function of the image (mask = 255 where the image's value is odd): the
// geometric steps must keep that relation pixel for pixel, whatever they draw. The
// intensity step changes the image, so it is checked through the positions instead: the
// mask's value map is followed by the image's ramp map, which a wrong alignment breaks.
TEST(AugmentTest, ImageAndMaskStayAligned) {
  const int size = 16;
  // A float "image" carrying each pixel's own index, and a 16-bit mask with the same
  // index: after augmentation, nearest-sampled mask labels must name a pixel close to
  // where the (bilinear) image says it came from.
  Image image = MakeImage(size, size, 1, PixelType::kFloat32);
  Image mask = MakeImage(size, size, 1, PixelType::kUInt16);
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      image.pixels<float>()[y * size + x] = static_cast<float>(x);
      mask.pixels<uint16_t>()[y * size + x] = static_cast<uint16_t>(x * 100 + y);
    }
  }
  std::mt19937_64 rng(3);
  int cropped = 0;
  for (int trial = 0; trial < 40; ++trial) {
    ASSERT_OK_AND_ASSIGN(auto pair, Augment(image, mask, rng));
    const auto& [img, msk] = pair;
    ASSERT_EQ(img.width, size);
    ASSERT_EQ(msk.width, size);
    ASSERT_EQ(msk.type, PixelType::kUInt16);
    // Undo the intensity jitter (an affine map of the values) by its two extremes: the
    // image's values are an affine function of the source column the pixel came from.
    float lo = 1e9f, hi = -1e9f;
    int min_col = 1 << 20, max_col = -1;
    for (int i = 0; i < size * size; ++i) {
      lo = std::min(lo, img.pixels<float>()[i]);
      hi = std::max(hi, img.pixels<float>()[i]);
      min_col = std::min(min_col, msk.pixels<uint16_t>()[i] / 100);
      max_col = std::max(max_col, msk.pixels<uint16_t>()[i] / 100);
    }
    cropped += max_col - min_col < size - 1;
    ASSERT_GT(hi, lo);
    for (int i = 0; i < size * size; ++i) {
      const double col_from_image =
          min_col + (img.pixels<float>()[i] - lo) / (hi - lo) * (max_col - min_col);
      const int col_from_mask = msk.pixels<uint16_t>()[i] / 100;
      ASSERT_NEAR(col_from_image, col_from_mask, 1.5) << "trial " << trial << " pixel " << i;
    }
  }
  EXPECT_GT(cropped, 0);  // the crop step ran in some trials
}

// Multi-channel float images (custom_tiff's float TIFF sources): every channel moves with
// the others and with the mask. Channel 0 carries the source column, channel 1 the source
// row (at an offset), channel 2 is blank; the 16-bit mask names (column, row).
TEST(AugmentTest, MultiChannelFloatChannelsMoveTogether) {
  const int size = 16;
  Image image = MakeImage(size, size, 3, PixelType::kFloat32);
  Image mask = MakeImage(size, size, 1, PixelType::kUInt16);
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      float* px = image.pixels<float>() + 3 * (y * size + x);
      px[0] = static_cast<float>(x);
      px[1] = 1000.0f + static_cast<float>(y);
      px[2] = 7.0f;
      mask.pixels<uint16_t>()[y * size + x] = static_cast<uint16_t>(x * 100 + y);
    }
  }
  std::mt19937_64 rng(17);
  int turned = 0;
  for (int trial = 0; trial < 40; ++trial) {
    ASSERT_OK_AND_ASSIGN(auto pair, Augment(image, mask, rng));
    const auto& [img, msk] = pair;
    ASSERT_EQ(img.channels, 3);
    ASSERT_EQ(img.type, PixelType::kFloat32);
    // Per channel, undo the (affine) jitter by the extremes, as above; the mask's range
    // of columns and rows is what the crop kept.
    const float* v = img.pixels<float>();
    float lo[2] = {1e9f, 1e9f}, hi[2] = {-1e9f, -1e9f};
    int min_of[2] = {1 << 20, 1 << 20}, max_of[2] = {-1, -1};
    for (int i = 0; i < size * size; ++i) {
      const int of[2] = {msk.pixels<uint16_t>()[i] / 100, msk.pixels<uint16_t>()[i] % 100};
      for (int c = 0; c < 2; ++c) {
        lo[c] = std::min(lo[c], v[3 * i + c]);
        hi[c] = std::max(hi[c], v[3 * i + c]);
        min_of[c] = std::min(min_of[c], of[c]);
        max_of[c] = std::max(max_of[c], of[c]);
      }
      ASSERT_EQ(v[3 * i + 2], 7.0f) << "the blank channel changed, trial " << trial;
    }
    // Only a quarter turn puts other source rows side by side along a row.
    turned += msk.pixels<uint16_t>()[1] % 100 != msk.pixels<uint16_t>()[0] % 100;
    for (int i = 0; i < size * size; ++i) {
      const int of[2] = {msk.pixels<uint16_t>()[i] / 100, msk.pixels<uint16_t>()[i] % 100};
      for (int c = 0; c < 2; ++c) {
        ASSERT_GT(hi[c], lo[c]);
        const double from_image =
            min_of[c] + (v[3 * i + c] - lo[c]) / (hi[c] - lo[c]) * (max_of[c] - min_of[c]);
        ASSERT_NEAR(from_image, of[c], 1.5)
            << "trial " << trial << " channel " << c << " pixel " << i;
      }
    }
  }
  EXPECT_GT(turned, 0);  // rot90 ran in some trials
}

// The intensity step leaves a constant channel constant (the runner's normalisation skips
// such a channel, so a shifted blank channel would reach the model as large raw values).
TEST(AugmentTest, BlankChannelsStayBlank) {
  Image image = MakeImage(8, 8, 2, PixelType::kUInt16);
  for (int i = 0; i < 64; ++i) image.pixels<uint16_t>()[2 * i] = static_cast<uint16_t>(100 * i);
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 20; ++trial) {
    ASSERT_OK_AND_ASSIGN(auto pair, Augment(image, Image{}, rng));
    for (int i = 0; i < 64; ++i) ASSERT_EQ(pair.first.pixels<uint16_t>()[2 * i + 1], 0) << trial;
  }
}

TEST(AugmentTest, SeededAndRefusesMismatchedSizes) {
  const Image r = Ramp(8, 8);
  std::mt19937_64 a(11), b(11);
  ASSERT_OK_AND_ASSIGN(auto x, Augment(r, r, a));
  ASSERT_OK_AND_ASSIGN(auto y, Augment(r, r, b));
  EXPECT_EQ(x.first.data, y.first.data);
  EXPECT_EQ(x.second.data, y.second.data);
  std::mt19937_64 c(1);
  EXPECT_FALSE(Augment(r, Ramp(4, 8), c).ok());
  // An empty mask (image labels) is allowed.
  ASSERT_OK_AND_ASSIGN(auto z, Augment(r, Image{}, c));
  EXPECT_EQ(z.second.width, 0);
}

}  // namespace
}  // namespace infera
