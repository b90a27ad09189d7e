// The C++ trainer's step against PyTorch's (issue 18's "Done when"): from the same scripted
// modules (a small U-Net with BatchNorm, a small classifier) and the same 20 batches,
// TrainSteps with SGD (no augmentation, one thread) must give the loss PyTorch gives at
// every step within 1e-4 relative. tests/training/parity/make_parity_data.py writes the
// modules, the batches and PyTorch's losses; it runs with Debian's /usr/bin/python3
// (python3-torch). A missing interpreter or module fails the test.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "support/status_matchers.h"
#include "support/test_env.h"
#include "training/train_steps.h"

namespace infera {
namespace {

Tensor ReadTensor(const std::filesystem::path& dir, const nlohmann::json& entry) {
  const std::string dtype = entry["dtype"];
  Tensor t(dtype == "int64" ? DType::kInt64 : DType::kFP32, entry["shape"].get<Shape>());
  const std::string bytes = testing::ReadFile(dir / entry["file"].get<std::string>());
  EXPECT_EQ(bytes.size(), t.byte_size()) << entry.dump();
  std::memcpy(t.data(), bytes.data(), std::min(bytes.size(), t.byte_size()));
  return t;
}

class TrainerParityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    const std::string command = "timeout 300 /usr/bin/python3 " + std::string(INFERA_SOURCE_DIR) +
                                "/tests/training/parity/make_parity_data.py " +
                                dir_->path().string() + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::array<char, 4096> buffer;
    while (size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) {
      output_.append(buffer.data(), n);
    }
    status_ = ::pclose(pipe);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  void ExpectParity(const std::string& key) {
    ASSERT_EQ(status_, 0) << output_;
    const nlohmann::json manifest =
        nlohmann::json::parse(testing::ReadFile(dir_->path() / "manifest.json"));
    ASSERT_OK_AND_ASSIGN(TrainingParams params, ParseTrainingParams(manifest["params"]));
    const nlohmann::json& m = manifest[key];
    std::vector<TrainingBatch> batches;
    for (const nlohmann::json& b : m["batches"]) {
      batches.push_back(
          {ReadTensor(dir_->path(), b["input"]), ReadTensor(dir_->path(), b["target"])});
    }
    ASSERT_EQ(batches.size(), 20u);
    ASSERT_OK_AND_ASSIGN(std::vector<double> losses,
                         TrainSteps(dir_->path() / m["module"].get<std::string>(),
                                    m["runner"].get<std::string>(), params, batches));
    const std::vector<double> expected = m["losses"];
    ASSERT_EQ(losses.size(), expected.size());
    for (size_t i = 0; i < losses.size(); ++i) {
      EXPECT_NEAR(losses[i], expected[i], 1e-4 * std::abs(expected[i]))
          << key << " step " << i + 1 << ": C++ " << losses[i] << ", PyTorch " << expected[i];
    }
    // The model learned something (the steps were not no-ops).
    EXPECT_LT(losses.back(), losses.front());
  }

  static testing::TempDir* dir_;
  static std::string output_;
  static int status_;
};

testing::TempDir* TrainerParityTest::dir_ = nullptr;
std::string TrainerParityTest::output_;
int TrainerParityTest::status_ = -1;

TEST_F(TrainerParityTest, UNetLossMatchesPyTorchAtEveryStep) { ExpectParity("unet"); }

TEST_F(TrainerParityTest, ClassifierLossMatchesPyTorchAtEveryStep) { ExpectParity("classifier"); }

}  // namespace
}  // namespace infera
