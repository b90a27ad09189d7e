// Tests for runners/instance_mask.h: the 16-bit PNG / 32-bit TIFF switch at
// 65535 labels, exact round trips through EncodeArtifact and DecodeImage, and
// the errors.
#include "runners/instance_mask.h"

#include <gtest/gtest.h>

#include <vector>

#include "imaging/codec.h"

namespace infera {
namespace {

std::vector<uint32_t> Decoded(const RunnerArtifact& artifact) {
  auto bytes = EncodeArtifact(artifact);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  if (!bytes.ok()) return {};
  auto image = DecodeImage(*bytes);
  EXPECT_TRUE(image.ok()) << image.status();
  if (!image.ok()) return {};
  std::vector<uint32_t> out;
  const size_t n = static_cast<size_t>(image->width) * image->height;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(image->type == PixelType::kUInt16
                      ? image->pixels<uint16_t>()[i]
                      : static_cast<uint32_t>(image->pixels<float>()[i]));
  }
  return out;
}

TEST(InstanceMaskTest, UpTo65535LabelsIsASixteenBitPng) {
  const std::vector<uint32_t> labels = {0, 1, 2, 65535, 7, 0};
  auto artifact = InstanceMaskArtifact(labels, 3, 2);
  ASSERT_TRUE(artifact.ok()) << artifact.status();
  EXPECT_EQ(artifact->kind, "instance_mask");
  EXPECT_EQ(artifact->format, ArtifactFormat::kPng);
  EXPECT_EQ(artifact->image.type, PixelType::kUInt16);
  EXPECT_EQ(artifact->image.width, 3);
  EXPECT_EQ(artifact->image.height, 2);
  EXPECT_EQ(Decoded(*artifact), labels);
}

TEST(InstanceMaskTest, MoreThan65535LabelsIsAThirtyTwoBitTiff) {
  const std::vector<uint32_t> labels = {0, 65536, 1, 16777216};
  auto artifact = InstanceMaskArtifact(labels, 2, 2);
  ASSERT_TRUE(artifact.ok()) << artifact.status();
  EXPECT_EQ(artifact->format, ArtifactFormat::kTiff);
  EXPECT_EQ(artifact->image.type, PixelType::kFloat32);
  EXPECT_EQ(Decoded(*artifact), labels);
}

TEST(InstanceMaskTest, Errors) {
  const std::vector<uint32_t> too_large = {16777217};
  auto artifact = InstanceMaskArtifact(too_large, 1, 1);
  ASSERT_FALSE(artifact.ok());
  EXPECT_EQ(artifact.status().code(), absl::StatusCode::kOutOfRange);
  const std::vector<uint32_t> three = {1, 2, 3};
  artifact = InstanceMaskArtifact(three, 2, 2);
  ASSERT_FALSE(artifact.ok());
  EXPECT_EQ(artifact.status().code(), absl::StatusCode::kInvalidArgument);
  artifact = InstanceMaskArtifact({}, 0, 0);
  ASSERT_FALSE(artifact.ok());
  EXPECT_EQ(artifact.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infera
