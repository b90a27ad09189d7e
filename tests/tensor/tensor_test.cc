#include "tensor/tensor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace infera {
namespace {

TEST(TensorTest, DTypeNamesRoundTrip) {
  for (DType t : {DType::kBool, DType::kUInt8, DType::kUInt16, DType::kInt32, DType::kInt64,
                  DType::kFP16, DType::kFP32, DType::kFP64}) {
    auto parsed = ParseDType(DTypeName(t));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, t);
  }
  EXPECT_EQ(*ParseDType("float32"), DType::kFP32);
  EXPECT_EQ(ParseDType("FLOAT").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DTypeSize(DType::kFP16), 2u);
}

TEST(TensorTest, NumElementsRejectsNegativeAndOverflow) {
  EXPECT_EQ(*NumElements({2, 3, 4}), 24);
  EXPECT_EQ(*NumElements({}), 1);
  EXPECT_EQ(*NumElements({5, 0}), 0);
  EXPECT_EQ(NumElements({2, -1}).status().code(), absl::StatusCode::kInvalidArgument);
  const int64_t big = std::numeric_limits<int64_t>::max() / 2;
  EXPECT_EQ(NumElements({big, 3}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TensorTest, CreateRespectsByteLimit) {
  EXPECT_TRUE(Tensor::Create(DType::kFP32, {4, 4}, 64).ok());
  EXPECT_EQ(Tensor::Create(DType::kFP32, {4, 5}, 64).status().code(),
            absl::StatusCode::kResourceExhausted);
  const int64_t big = std::numeric_limits<int64_t>::max() / 4;
  EXPECT_EQ(Tensor::Create(DType::kFP64, {big}, size_t{1} << 30).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Tensor::Create(DType::kFP64, {big, 16}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TensorTest, ConcatAndSliceAlongDim0) {
  Tensor a(DType::kInt32, {1, 2});
  Tensor b(DType::kInt32, {2, 2});
  a.data_as<int32_t>()[0] = 1;
  a.data_as<int32_t>()[1] = 2;
  for (int i = 0; i < 4; ++i) b.data_as<int32_t>()[i] = 10 + i;
  const Tensor* parts[] = {&a, &b};
  auto joined = ConcatDim0(parts);
  ASSERT_TRUE(joined.ok());
  EXPECT_EQ(joined->shape(), (Shape{3, 2}));
  auto tail = SliceDim0(*joined, 1, 2);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->shape(), (Shape{2, 2}));
  EXPECT_EQ(tail->data_as<int32_t>()[0], 10);
  EXPECT_EQ(tail->data_as<int32_t>()[3], 13);
  EXPECT_EQ(SliceDim0(*joined, 2, 2).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TensorTest, ConcatRefusesMismatchedShapesAndTypes) {
  Tensor a(DType::kFP32, {1, 3});
  Tensor b(DType::kFP32, {1, 4});
  Tensor c(DType::kInt32, {1, 3});
  const Tensor* ab[] = {&a, &b};
  const Tensor* ac[] = {&a, &c};
  EXPECT_EQ(ConcatDim0(ab).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ConcatDim0(ac).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TensorTest, ReshapeKeepsElementCount) {
  Tensor t(DType::kFP32, {2, 6});
  EXPECT_TRUE(t.Reshape({3, 4}).ok());
  EXPECT_EQ(t.shape(), (Shape{3, 4}));
  EXPECT_EQ(t.Reshape({5}).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infera

namespace infera {
namespace {

TEST(HalfToFloatTest, NormalSubnormalInfinityNan) {
  EXPECT_EQ(HalfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(HalfToFloat(0xc000), -2.0f);
  EXPECT_EQ(HalfToFloat(0x7bff), 65504.0f);    // largest normal
  EXPECT_EQ(HalfToFloat(0x0001), 0x1.0p-24f);  // smallest subnormal
  EXPECT_EQ(HalfToFloat(0x8000), -0.0f);
  EXPECT_TRUE(std::signbit(HalfToFloat(0x8000)));
  EXPECT_EQ(HalfToFloat(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(HalfToFloat(0x7e00)));
}

}  // namespace
}  // namespace infera
