// Helpers for the segmentation runner tests: hand-made model outputs, images and
// configs, and pixel access. Header-only; used by tests/runners/*_test.cc.
#pragma once

#include <gtest/gtest.h>

#include <concepts>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "imaging/image.h"
#include "runners/model_description.h"
#include "tensor/tensor.h"

namespace infera::testing {

// An FP32 tensor of `shape` holding `values` (row-major).
inline Tensor FloatTensor(Shape shape, const std::vector<float>& values) {
  Tensor t(DType::kFP32, std::move(shape));
  EXPECT_EQ(static_cast<size_t>(t.num_elements()), values.size());
  if (!values.empty()) std::memcpy(t.data(), values.data(), values.size() * sizeof(float));
  return t;
}

// The outputs of one model call with one output tensor.
inline std::vector<std::vector<Tensor>> OneOutput(Tensor t) {
  std::vector<std::vector<Tensor>> outputs(1);
  outputs[0].push_back(std::move(t));
  return outputs;
}

// A 1-channel 8-bit image whose pixel (x, y) is f(x, y).
template <typename F>
requires std::invocable<F, int, int> Image Gray8(int width, int height, F&& f) {
  Image image = MakeImage(width, height, 1, PixelType::kUInt8);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) image.pixels<uint8_t>()[y * width + x] = f(x, y);
  }
  return image;
}

inline Image Gray8(int width, int height, uint8_t value) {
  return Gray8(width, height, [value](int, int) { return value; });
}

// All samples of an 8-bit or 16-bit image, widened.
inline std::vector<int> Samples(const Image& image) {
  std::vector<int> out;
  const size_t n = static_cast<size_t>(image.width) * image.height * image.channels;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(image.type == PixelType::kUInt8 ? image.pixels<uint8_t>()[i]
                                                  : image.pixels<uint16_t>()[i]);
  }
  return out;
}

// A segmentation model config: `color` input of height x width (no resize when
// `keep`), scale 1/255, no mean/std.
inline ModelDescription SegConfig(ColorMode color, int height, int width, bool keep = false) {
  ModelDescription config;
  config.name = "seg_model";
  config.input.color = color;
  if (keep) {
    config.input.size.reset();
  } else {
    config.input.size = std::pair<int, int>{height, width};
  }
  config.input.mean.clear();
  config.input.std.clear();
  return config;
}

}  // namespace infera::testing
