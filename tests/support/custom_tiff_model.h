// Test models with several output channels and no labels file, made from tiny_multiclass's
// network: one served by custom_tiff, one by multiclass_argmax (header-only, so that
// test_env stays as it is for the many tests that include it).
#pragma once

#include <filesystem>
#include <string>

#include "support/test_env.h"

namespace infera::testing {

// Writes `dest/name`: tiny_multiclass's network as version 1 and a model.yaml of `yaml`
// followed by the shared batching, instances and `warmup` lines.
inline void WriteTinyMulticlassNetworkAs(const std::filesystem::path& dest, const std::string& name,
                                         const std::string& yaml, bool warmup) {
  std::filesystem::create_directories(dest / name / "1");
  std::filesystem::copy_file(TestModelsDir() / "repo" / "tiny_multiclass" / "1" / "model.pt",
                             dest / name / "1" / "model.pt");
  WriteFile(dest / name / "model.yaml",
            yaml + "batching: {max_batch_size: 4, max_queue_delay_ms: 1}\n" +
                "instances: {count: 1, device: cpu}\nwarmup: " + (warmup ? "true" : "false") +
                "\n");
}

// Writes `dest/name`: tiny_multiclass's network ([N, 3, 64, 64] in, [N, 3, 64, 64] class
// scores out, no labels file) served by runner custom_tiff, so a custom_tiff model with
// K = 3 output channels taking 3-channel images resized to 64x64. With `warmup` the
// server runs it at load (its spec's rgb gives the 3 channels) and knows K from then on.
inline void WriteCustomTiffClassesModel(const std::filesystem::path& dest, const std::string& name,
                                        bool warmup) {
  WriteTinyMulticlassNetworkAs(
      dest, name,
      "backend: torchscript\nrunner: custom_tiff\n"
      "description: tiny_multiclass's network served by custom_tiff (K = 3)\n"
      "input: {color: rgb, size: [64, 64], interpolation: bilinear, layout: NCHW, "
      "dtype: float32}\n",
      warmup);
}

// Writes `dest/name`: tiny_multiclass's network and input spec (rgb, 64x64, ImageNet
// mean/std) served by its own runner, multiclass_argmax, but without its labels file, so
// that only the model's output (K = 3, known from warm-up with `warmup`) bounds the class
// indices it trains on.
inline void WriteUnlabelledMulticlassModel(const std::filesystem::path& dest,
                                           const std::string& name, bool warmup) {
  WriteTinyMulticlassNetworkAs(
      dest, name,
      "backend: torchscript\nrunner: multiclass_argmax\n"
      "description: tiny_multiclass's network without its labels file (K = 3)\n"
      "input: {color: rgb, size: [64, 64], interpolation: bilinear, "
      "scale: 0.00392156862745098, mean: [0.485, 0.456, 0.406], "
      "std: [0.229, 0.224, 0.225], layout: NCHW, dtype: float32}\n",
      warmup);
}

}  // namespace infera::testing
