// `infera train` (src/cli/train.cc) as a user runs it: a classify model trained from a
// labels.csv (class names and indices), the next version folder with training.json, a
// resumed run from --work, runner params through --param, and the refusals (unknown
// param, unknown class, no images).
#include <gtest/gtest.h>

#include <filesystem>

#include "imaging/codec.h"
#include "support/child_process.h"
#include "support/status_matchers.h"
#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;

void WritePng(const fs::path& path, int value) {
  Image image = MakeImage(32, 32, 1, PixelType::kUInt8);
  for (int i = 0; i < 32 * 32; ++i)
    image.pixels<uint8_t>()[i] = static_cast<uint8_t>(value + i % 7);
  auto png = EncodePng(image);
  ASSERT_TRUE(png.ok()) << png.status();
  testing::WriteFile(path, std::string(reinterpret_cast<const char*>(png->data()), png->size()));
}

class TrainCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::CopyModel("gray_cls", dir_.path() / "repo");
    fs::create_directories(dir_.path() / "images");
    for (int i = 0; i < 6; ++i) {
      WritePng(dir_.path() / "images" / ("img" + std::to_string(i) + ".png"), 20 + 40 * i);
    }
    WritePng(dir_.path() / "images" / "unlabelled.png", 0);
  }

  testing::RunResult Train(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {testing::InferaBinary().string(),
                                     "train",
                                     "--repository",
                                     (dir_.path() / "repo").string(),
                                     "--model",
                                     "gray_cls",
                                     "--images",
                                     (dir_.path() / "images").string(),
                                     "--masks",
                                     (dir_.path() / "labels.csv").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return testing::RunToExit(args, std::chrono::seconds(120));
  }

  testing::TempDir dir_;
};

TEST_F(TrainCliTest, ClassifyFromLabelsCsvWritesTheNextVersion) {
  testing::WriteFile(dir_.path() / "labels.csv",
                     "file,label\nimg0.png,gray_a\nimg1.png,gray_b\nimg2.png,0\nimg3.png,1\n"
                     "img4.png,gray_a\nimg5.png,gray_b\n");
  const testing::RunResult run = Train({"--param", "epochs=2", "--param", "optimizer=sgd", "--work",
                                        (dir_.path() / "work").string()});
  ASSERT_EQ(run.code, 0) << run.out << run.err;
  EXPECT_NE(run.err.find("6 annotated images, 1 without a mask skipped"), std::string::npos)
      << run.err;
  EXPECT_NE(run.err.find("epoch 2/2"), std::string::npos) << run.err;
  EXPECT_NE(run.out.find("version 2 written"), std::string::npos) << run.out;
  const fs::path v2 = dir_.path() / "repo" / "gray_cls" / "2";
  ASSERT_TRUE(fs::exists(v2 / "model.pt"));
  const nlohmann::json record = nlohmann::json::parse(testing::ReadFile(v2 / "training.json"));
  EXPECT_EQ(record["parent_version"], 1);
  EXPECT_EQ(record["runner"], "classify");
  EXPECT_EQ(record["params"]["optimizer"], "sgd");
  EXPECT_EQ(record["epochs"].size(), 3u);
  EXPECT_TRUE(record["epochs"][1]["metrics"].contains("accuracy"));
  EXPECT_EQ(record["held_back"], record["best_score"] < record["parent_score"]);

  // The same run again from version 1 (version 2 moved out of the repository): the work
  // folder's checkpoint has every epoch, so it resumes after epoch 2 and writes the same
  // best module as version 2 again.
  fs::rename(v2, dir_.path() / "first");
  const testing::RunResult again = Train({"--param", "epochs=2", "--param", "optimizer=sgd",
                                          "--work", (dir_.path() / "work").string()});
  ASSERT_EQ(again.code, 0) << again.out << again.err;
  EXPECT_NE(again.err.find("resuming after epoch 2"), std::string::npos) << again.err;
  ASSERT_TRUE(fs::exists(v2 / "model.pt"));
  EXPECT_EQ(testing::ReadFile(v2 / "model.pt"),
            testing::ReadFile(dir_.path() / "first" / "model.pt"));
  // From version 2 the checkpoint is another run's: training starts over.
  fs::rename(dir_.path() / "first", dir_.path() / "repo" / "gray_cls" / "3");
  const testing::RunResult other = Train({"--param", "epochs=1", "--param", "optimizer=sgd",
                                          "--work", (dir_.path() / "work").string()});
  ASSERT_EQ(other.code, 0) << other.out << other.err;
  EXPECT_NE(other.err.find("from another run: starting over"), std::string::npos) << other.err;
  EXPECT_NE(other.out.find("(parent v3:"), std::string::npos) << other.out;
}

TEST_F(TrainCliTest, RunnerParamsGoToTheRunnerAndTheRecord) {
  testing::WriteFile(dir_.path() / "labels.csv", "img0.png,gray_a\nimg1.png,gray_b\n");
  // top_k is classify's (runner) param, epochs a training param.
  testing::RunResult run = Train({"--param", "epochs=1", "--param", "top_k=2"});
  ASSERT_EQ(run.code, 0) << run.out << run.err;
  const nlohmann::json record = nlohmann::json::parse(
      testing::ReadFile(dir_.path() / "repo" / "gray_cls" / "2" / "training.json"));
  EXPECT_EQ(record["sources"]["runner_params"], (nlohmann::json{{"top_k", 2}})) << record.dump();
  EXPECT_EQ(record["params"]["epochs"], 1);
  // The runner checks its own.
  run = Train({"--param", "epochs=1", "--param", "top_k=0"});
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.err.find("runner params: "), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("top_k"), std::string::npos) << run.err;
  EXPECT_FALSE(fs::exists(dir_.path() / "repo" / "gray_cls" / "3"));
}

TEST_F(TrainCliTest, RefusesBadParamsClassesAndFolders) {
  testing::WriteFile(dir_.path() / "labels.csv", "img0.png,gray_a\nimg1.png,gray_b\n");
  testing::RunResult run = Train({"--param", "epochs=zero"});
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.err.find("epochs must be an integer"), std::string::npos) << run.err;
  run = Train({"--param", "learning_rate=0.1"});
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.err.find("unknown training param 'learning_rate'"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("runner classify's params: "), std::string::npos) << run.err;

  testing::WriteFile(dir_.path() / "labels.csv", "img0.png,zebra\n");
  run = Train({});
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.err.find("'zebra' is neither a label of model 'gray_cls'"), std::string::npos)
      << run.err;

  // The server's labels_csv rules (annotations/labels_csv.h): a second label for an
  // image and a malformed line are errors naming their lines.
  testing::WriteFile(dir_.path() / "labels.csv",
                     "file,class\nimg0.png,gray_a\n\"img0.png\",gray_b\nimg1.png,gray_a,x\n");
  run = Train({});
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.err.find("labels.csv:3: "), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("labels.csv:2 already labels img0.png"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("labels.csv:4: expected 2 fields (file,label), found 3"),
            std::string::npos)
      << run.err;

  testing::WriteFile(dir_.path() / "labels.csv", "other.png,gray_a\n");
  run = Train({});
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.err.find("no annotated images"), std::string::npos) << run.err;
  EXPECT_FALSE(fs::exists(dir_.path() / "repo" / "gray_cls" / "2"));
}

}  // namespace
}  // namespace infera
