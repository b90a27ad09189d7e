// Tests for serving/classification.h: top N per batch row, best first, labels when there
// are some, ties to the lower index, NaN last, every numeric type, and the errors.
#include "serving/classification.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

namespace infera {
namespace {

template <typename T>
Tensor Make(DType dtype, Shape shape, const std::vector<T>& values) {
  Tensor t(dtype, std::move(shape));
  std::memcpy(t.data(), values.data(), values.size() * sizeof(T));
  return t;
}

TEST(ClassifyOutputTest, TopNPerRowWithLabels) {
  const Tensor logits = Make<float>(DType::kFP32, {2, 3}, {0.5f, 2.0f, -1.0f, 3.0f, 3.0f, 9.0f});
  auto top = ClassifyOutput(logits, 2, {"cat", "dog", "bird"});
  ASSERT_TRUE(top.ok()) << top.status();
  EXPECT_EQ(top->shape, (Shape{2, 2}));
  EXPECT_EQ(top->elements, (std::vector<std::string>{"2.000000:1:dog", "0.500000:0:cat",
                                                     "9.000000:2:bird", "3.000000:0:cat"}));
}

TEST(ClassifyOutputTest, NoLabelsAndMoreThanTheClasses) {
  const Tensor scores = Make<int32_t>(DType::kInt32, {1, 2}, {7, 8});
  auto top = ClassifyOutput(scores, 5, {});
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(top->shape, (Shape{1, 2}));
  EXPECT_EQ(top->elements, (std::vector<std::string>{"8.000000:1", "7.000000:0"}));
  // Labels shorter than the classes: only those that exist are written.
  top = ClassifyOutput(scores, 2, {"a"});
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(top->elements, (std::vector<std::string>{"8.000000:1", "7.000000:0:a"}));
}

TEST(ClassifyOutputTest, RowsFlattenTrailingDimensionsAndNanIsLast) {
  const Tensor t = Make<double>(DType::kFP64, {1, 2, 2}, {std::nan(""), 1.0, 4.0, 1.0});
  auto top = ClassifyOutput(t, 4, {});
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(top->shape, (Shape{1, 4}));
  EXPECT_EQ(top->elements[0], "4.000000:2");
  EXPECT_EQ(top->elements[1], "1.000000:1");  // tie: the lower index first
  EXPECT_EQ(top->elements[2], "1.000000:3");
  EXPECT_EQ(top->elements[3].substr(top->elements[3].size() - 2), ":0");  // NaN last
}

TEST(ClassifyOutputTest, HalfPrecisionScores) {
  const Tensor t = Make<uint16_t>(DType::kFP16, {1, 2}, {0x3c00, 0xc000});  // 1.0, -2.0
  auto top = ClassifyOutput(t, 1, {});
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(top->elements, (std::vector<std::string>{"1.000000:0"}));
}

TEST(ClassifyOutputTest, Errors) {
  const Tensor logits = Make<float>(DType::kFP32, {1, 3}, {1, 2, 3});
  EXPECT_EQ(ClassifyOutput(logits, 0, {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ClassifyOutput(Tensor(DType::kFP32, {}), 1, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ClassifyOutput(Tensor(DType::kFP32, {2, 0}), 1, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infera
