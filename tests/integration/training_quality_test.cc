// Retraining quality (issue 18's "Done when"), end to end through the binary: a small
// U-Net trained by PyTorch on bright blobs on a dark background
// (model_tools/make_training_quality_data.py, run here with Debian's /usr/bin/python3)
// scores IoU <= 0.5 on dark blobs on a bright, striped background; `infera train` on 8
// annotated images of that kind writes version 2, and `infera infer` (the runner through
// the job pipeline) with version 2 scores IoU >= 0.9 on 8 held-out images. The same for
// cellpose_tiny on a new cell appearance (model_tools/make_cellpose_retraining_data.py:
// dark cells on an uneven bright background, no nucleus channel): AP@0.5 before and after.
// And for custom_tiff (model_tools/make_tiff_retraining_data.py): a small U-Net on
// 2-channel 16-bit fluorescence TIFFs (bright nuclei, percentile-normalised as the runner
// does, probabilities out) on transmitted-light TIFFs (dark objects on a bright, striped,
// unevenly lit background): held-out IoU of the runner's label maps before and after.
// The wall time and the training images/s go to the test's output (docs/PERFORMANCE.md
// records them).
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "cellpose/average_precision.h"
#include "imaging/codec.h"
#include "support/status_matchers.h"
#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;

// Runs `command` (stderr folded into stdout); its exit status and output.
std::pair<int, std::string> RunCommand(const std::string& command) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::string output;
  std::array<char, 4096> buffer;
  while (size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) {
    output.append(buffer.data(), n);
  }
  return {::pclose(pipe), output};
}

Image ReadPng(const fs::path& path) {
  const std::string bytes = testing::ReadFile(path);
  auto image = DecodeImage(
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
  EXPECT_TRUE(image.ok()) << path << ": " << image.status();
  return image.ok() ? *image : Image{};
}

// Pooled IoU of `infer`'s label maps (OUT/masks/NAME_mask.*, 8- or 16-bit, any format
// the decoder reads; non-zero is foreground) against the truth (TRUTH/NAME.png).
double HeldOutIou(const fs::path& out, const fs::path& truth) {
  auto value = [](const Image& image, size_t i) -> int {
    return image.type == PixelType::kUInt16 ? image.pixels<uint16_t>()[i]
                                            : image.pixels<uint8_t>()[i];
  };
  int64_t tp = 0, fp = 0, fn = 0;
  int images = 0;
  for (const fs::directory_entry& e : fs::directory_iterator(truth)) {
    const std::string prefix = e.path().stem().string() + "_mask.";
    fs::path mask;
    for (const fs::directory_entry& m : fs::directory_iterator(out / "masks")) {
      if (m.path().filename().string().starts_with(prefix)) mask = m.path();
    }
    if (mask.empty()) {
      ADD_FAILURE() << "no mask of " << e.path() << " in " << out / "masks";
      return 0;
    }
    const Image t = ReadPng(e.path());
    const Image p = ReadPng(mask);
    if (p.width != t.width || p.height != t.height || p.channels != 1) {
      ADD_FAILURE() << mask << " is not a label map of " << e.path() << "'s size";
      return 0;
    }
    for (size_t i = 0; i < static_cast<size_t>(t.width) * t.height; ++i) {
      const bool pi = value(p, i) != 0, ti = value(t, i) != 0;
      tp += pi && ti;
      fp += pi && !ti;
      fn += !pi && ti;
    }
    ++images;
  }
  EXPECT_EQ(images, 8);
  return tp + fp + fn == 0 ? 1.0 : static_cast<double>(tp) / static_cast<double>(tp + fp + fn);
}

// The mean over images of AP@0.5 of `infer`'s instance masks (OUT/masks/NAME_instances.png)
// against the truth (TRUTH/NAME.png, 16-bit labels).
double HeldOutAp50(const fs::path& out, const fs::path& truth) {
  auto labels = [](const Image& image) {
    cellpose::LabelImage l = cellpose::MakeLabelImage(image.height, image.width);
    for (size_t i = 0; i < l.size(); ++i) {
      l.labels[i] = image.type == PixelType::kUInt16 ? image.pixels<uint16_t>()[i]
                                                     : image.pixels<uint8_t>()[i];
    }
    return l;
  };
  double sum = 0;
  int images = 0;
  for (const fs::directory_entry& e : fs::directory_iterator(truth)) {
    const cellpose::LabelImage t = labels(ReadPng(e.path()));
    const cellpose::LabelImage p =
        labels(ReadPng(out / "masks" / (e.path().stem().string() + "_instances.png")));
    if (p.size() != t.size()) {
      ADD_FAILURE() << "instances of " << e.path() << " have another size";
      return 0;
    }
    sum += cellpose::AveragePrecision(t, p, 0.5).ap;
    ++images;
  }
  EXPECT_EQ(images, 8);
  return images == 0 ? 0 : sum / images;
}

// A quality case: a data script (model_tools/) writes DATA/repo (the model, version 1),
// DATA/train/{images,masks} (8 annotated images of a new kind) and
// DATA/heldout/{images,masks} (8 more); `prepare` (may be empty) then edits DATA.
struct QualityCase {
  std::string script;  // model_tools/<script>, run with Debian's /usr/bin/python3
  std::function<void(const fs::path& data)> prepare;
  std::string model;         // in DATA/repo
  std::string train_params;  // `infera train`'s --param flags
  std::function<double(const fs::path& out, const fs::path& truth)> score;  // held out
};

// What one quality case measured.
struct Retrained {
  double before = 0, after = 0;  // the held-out score of version 1, of version 2
  double train_seconds = 0;      // `infera train`'s wall time
  double total_seconds = 0;      // the whole flow's
  nlohmann::json record;         // version 2's training.json
};

// The flow every quality case shares, through the binary: `infera infer` scores version 1
// on the held-out images, `infera train` on the 8 training images must write version 2
// (not held back), and `infera infer` (now serving version 2) scores it. Fatal failures
// end the flow (callers wrap it in ASSERT_NO_FATAL_FAILURE).
void RetrainAndScore(const QualityCase& c, const fs::path& data, Retrained* out) {
  const std::string bin = testing::InferaBinary().string();
  const auto start = std::chrono::steady_clock::now();
  auto [made, made_out] =
      RunCommand("timeout 300 /usr/bin/python3 " + std::string(INFERA_SOURCE_DIR) +
                 "/model_tools/" + c.script + " " + data.string());
  ASSERT_EQ(made, 0) << made_out;
  if (c.prepare) c.prepare(data);
  const std::string model = " --repository " + (data / "repo").string() + " --model " + c.model;
  auto infer = [&](const std::string& name) {
    auto [code, output] =
        RunCommand("timeout 120 " + bin + " infer" + model + " --input " +
                   (data / "heldout" / "images").string() + " --output " + (data / name).string());
    EXPECT_EQ(code, 0) << output;
    return output;
  };
  infer("before");
  ASSERT_FALSE(::testing::Test::HasFailure());
  out->before = c.score(data / "before", data / "heldout" / "masks");

  const auto train_start = std::chrono::steady_clock::now();
  auto [trained, train_out] =
      RunCommand("timeout 300 " + bin + " train" + model + " --images " +
                 (data / "train" / "images").string() + " --masks " +
                 (data / "train" / "masks").string() + " " + c.train_params);
  out->train_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - train_start).count();
  ASSERT_EQ(trained, 0) << train_out;
  EXPECT_NE(train_out.find("version 2 written"), std::string::npos) << train_out;
  EXPECT_EQ(train_out.find("held back"), std::string::npos) << train_out;
  const fs::path v2 = data / "repo" / c.model / "2";
  ASSERT_TRUE(fs::exists(v2 / "model.pt"));
  out->record = nlohmann::json::parse(testing::ReadFile(v2 / "training.json"));
  EXPECT_EQ(out->record["parent_version"], 1);
  EXPECT_EQ(out->record["held_back"], false);
  EXPECT_EQ(out->record["split"]["train"].size() + out->record["split"]["validation"].size(), 8u);

  const std::string after_out = infer("after");
  ASSERT_FALSE(::testing::Test::HasFailure());
  EXPECT_NE(after_out.find(c.model + " v2"), std::string::npos) << after_out;
  out->after = c.score(data / "after", data / "heldout" / "masks");
  out->total_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(TrainingQualityTest, RetrainingOnEightImagesOfANewKindReachesIou90) {
  testing::TempDir dir;
  Retrained r;
  ASSERT_NO_FATAL_FAILURE(RetrainAndScore(
      {"make_training_quality_data.py", nullptr, "blobs_unet",
       "--param epochs=60 --param lr=0.01 --param schedule=cosine --param batch_size=2",
       HeldOutIou},
      dir.path(), &r));
  EXPECT_LE(r.before, 0.5);
  EXPECT_GE(r.after, 0.9);
  EXPECT_EQ(r.record["epochs"].size(), 61u);
  std::printf(
      "training quality: held-out IoU %.3f before, %.3f after; infera train %.1f s wall "
      "(training %.1f s, %.1f images/s); whole test %.1f s\n",
      r.before, r.after, r.train_seconds, r.record["duration_s"].get<double>(),
      r.record["images_per_second"].get<double>(), r.total_seconds);
}

TEST(TrainingQualityTest, CellposeTinyOnANewCellAppearance) {
  testing::TempDir dir;
  // cellpose_tiny reads [cyto, nucleus] as channels [1, 2]: the model's default params.
  auto prepare = [](const fs::path& data) {
    testing::CopyModel("cellpose_tiny", data / "repo");
    std::ofstream yaml(data / "repo" / "cellpose_tiny" / "model.yaml", std::ios::app);
    yaml << "params: {channels: [1, 2]}\n";
  };
  Retrained r;
  ASSERT_NO_FATAL_FAILURE(
      RetrainAndScore({"make_cellpose_retraining_data.py", prepare, "cellpose_tiny",
                       "--param epochs=30 --param lr=0.003 --param batch_size=2", HeldOutAp50},
                      dir.path(), &r));
  EXPECT_LE(r.before, 0.2);
  EXPECT_GE(r.after, 0.8);
  EXPECT_TRUE(r.record["epochs"][0]["metrics"].contains("ap50"));
  std::printf(
      "cellpose_tiny retraining: held-out AP@0.5 %.3f before, %.3f after; training "
      "%.1f s, %.1f images/s\n",
      r.before, r.after, r.record["duration_s"].get<double>(),
      r.record["images_per_second"].get<double>());
}

TEST(TrainingQualityTest, CustomTiffOnANewKindOf16BitImage) {
  testing::TempDir dir;
  // model.yaml's params: output labels (a 16-bit label TIFF), output_is_probability.
  Retrained r;
  ASSERT_NO_FATAL_FAILURE(RetrainAndScore(
      {"make_tiff_retraining_data.py", nullptr, "tiff_unet",
       "--param epochs=60 --param lr=0.01 --param schedule=cosine --param batch_size=2",
       HeldOutIou},
      dir.path(), &r));
  EXPECT_LE(r.before, 0.3);
  EXPECT_GE(r.after, 0.85);
  EXPECT_EQ(r.record["runner"], "custom_tiff") << r.record.dump();
  EXPECT_EQ(r.record["epochs"].size(), 61u);
  EXPECT_TRUE(r.record["epochs"][0]["metrics"].contains("iou")) << r.record["epochs"][0].dump();
  EXPECT_TRUE(r.record["epochs"][0]["metrics"].contains("dice")) << r.record["epochs"][0].dump();
  std::printf(
      "custom_tiff retraining: held-out IoU %.3f before, %.3f after; infera train %.1f s wall "
      "(training %.1f s, %.1f images/s); whole test %.1f s\n",
      r.before, r.after, r.train_seconds, r.record["duration_s"].get<double>(),
      r.record["images_per_second"].get<double>(), r.total_seconds);
}

}  // namespace
}  // namespace infera
