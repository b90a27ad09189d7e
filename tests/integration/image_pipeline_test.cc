// The image pipeline on real TorchScript models: post-processing runs on a pipeline
// worker, never on the batcher's instance thread, so a callback that takes its time does
// not hold up the model's next batch; cancels, shutdown and bad bytes end as statuses.
#include "serving/image_pipeline.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>

#include "imaging/codec.h"
#include "models/model.h"
#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
constexpr auto kWait = std::chrono::seconds(20);

// A test model loaded from a copy of the test repository, with `instances` instances.
std::shared_ptr<Model> LoadTestModel(const testing::TempDir& tmp, const std::string& name,
                                     int64_t instances) {
  testing::CopyModel(name, tmp.path() / "repo");
  StatusOr<ModelConfig> config = LoadModelFolder(tmp.path() / "repo" / name);
  EXPECT_TRUE(config.ok()) << config.status();
  if (!config.ok()) return nullptr;
  config->instances.count = instances;
  StatusOr<std::shared_ptr<Model>> model = Model::Load(*config);
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? *model : nullptr;
}

// A smooth RGB gradient, PNG-encoded.
std::vector<std::byte> GradientPng(int side) {
  Image image = MakeImage(side, side, 3, PixelType::kUInt8);
  auto* p = image.pixels<uint8_t>();
  for (int y = 0; y < side; ++y) {
    for (int x = 0; x < side; ++x) {
      for (int c = 0; c < 3; ++c) {
        p[(y * side + x) * 3 + c] = static_cast<uint8_t>((x * 4 + y * 2 + c * 60) % 256);
      }
    }
  }
  StatusOr<std::vector<std::byte>> png = EncodePng(image);
  EXPECT_TRUE(png.ok());
  return png.ok() ? *png : std::vector<std::byte>{};
}

StatusOr<PreparedImage> PrepareFor(const Model& model, const std::vector<std::byte>& png) {
  ASSIGN_OR_RETURN(nlohmann::json params,
                   model.runner().ResolveParams(nlohmann::json(), model.description()));
  return ImagePipeline::Prepare(model.runner(), model.description(), png, std::move(params),
                                DecodeLimits{});
}

// One callback's outcome, waited for with a deadline.
struct Outcome {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<StatusOr<ImageResult>> result;
  bool on_instance_thread = false;

  ImageCallback Callback(const std::shared_ptr<Model>& model) {
    return [this, model](StatusOr<ImageResult> r) {
      std::lock_guard lock(mu);
      on_instance_thread = model->batcher().IsInstanceThread();
      result = std::move(r);
      cv.notify_all();
    };
  }
  bool Wait() {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, kWait, [this] { return result.has_value(); });
  }
};

TEST(ImagePipelineTest, PostprocessRunsOnAPipelineWorkerAndEncodesTheArtifacts) {
  testing::TempDir tmp;
  std::shared_ptr<Model> model = LoadTestModel(tmp, "tiny_unet", 1);
  ASSERT_NE(model, nullptr);
  ImagePipeline pipeline(ImagePipeline::Options{.threads = 1});
  StatusOr<PreparedImage> prepared = PrepareFor(*model, GradientPng(48));
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_EQ(prepared->source.width, 48);

  Outcome outcome;
  RequestContext ctx;
  ctx.request_id = "test";
  pipeline.Submit(model, std::move(*prepared), ctx, outcome.Callback(model));
  ASSERT_TRUE(outcome.Wait());
  ASSERT_TRUE(outcome.result->ok()) << outcome.result->status();
  EXPECT_FALSE(outcome.on_instance_thread);
  const ImageResult& result = **outcome.result;
  ASSERT_FALSE(result.artifacts.empty());
  const EncodedArtifact& mask = result.artifacts.front();
  EXPECT_EQ(mask.artifact.kind, "class_mask");
  // The bytes are the artifact, encoded: they decode back to the mask at the source size.
  StatusOr<Image> decoded = DecodeImage(mask.bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->width, 48);
  EXPECT_EQ(decoded->height, 48);
  EXPECT_TRUE(decoded->data == mask.artifact.image.data);
  EXPECT_TRUE(result.summary.contains("foreground_fraction")) << result.summary.dump();
  EXPECT_GE(result.timings.batch_size, 1);
  EXPECT_GE(result.timings.postprocess_ms, 0.0);
}

// The shape of the cellpose /predict problem: while one request's callback is busy, the
// model's single instance must go on to the next batch. With callbacks on the batcher's
// thread the second request's batch could not run until the first callback returned
// (and this test would wait out its deadline).
TEST(ImagePipelineTest, ABusyCallbackDoesNotHoldUpTheModelsNextBatch) {
  testing::TempDir tmp;
  std::shared_ptr<Model> model = LoadTestModel(tmp, "tiny_unet", 1);
  ASSERT_NE(model, nullptr);
  ImagePipeline pipeline(ImagePipeline::Options{.threads = 2});
  const std::vector<std::byte> png = GradientPng(40);

  std::mutex mu;
  std::condition_variable cv;
  bool first_entered = false, released = false, second_done = false;
  StatusOr<PreparedImage> a = PrepareFor(*model, png);
  StatusOr<PreparedImage> b = PrepareFor(*model, png);
  ASSERT_TRUE(a.ok() && b.ok());
  pipeline.Submit(model, std::move(*a), RequestContext{}, [&](StatusOr<ImageResult> r) {
    EXPECT_TRUE(r.ok()) << r.status();
    std::unique_lock lock(mu);
    first_entered = true;
    cv.notify_all();
    cv.wait_for(lock, kWait, [&] { return released; });  // busy until told
  });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, kWait, [&] { return first_entered; }));
  }
  const uint64_t executions = model->batcher().stats().executions;
  Status second_status;
  pipeline.Submit(model, std::move(*b), RequestContext{}, [&](StatusOr<ImageResult> r) {
    std::lock_guard lock(mu);
    second_status = r.status();
    second_done = true;
    cv.notify_all();
  });
  // The second request's batch runs while the first callback is still busy.
  const auto deadline = Clock::now() + kWait;
  while (model->batcher().stats().executions == executions && Clock::now() < deadline) {
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::milliseconds(5));
  }
  EXPECT_GT(model->batcher().stats().executions, executions);
  {
    std::lock_guard lock(mu);
    released = true;
    cv.notify_all();
  }
  {
    std::unique_lock lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, kWait, [&] { return second_done; }));
  }
  pipeline.Shutdown();
  EXPECT_TRUE(second_status.ok()) << second_status;
}

TEST(ImagePipelineTest, ACanceledRequestEndsCancelledWithoutAResult) {
  testing::TempDir tmp;
  std::shared_ptr<Model> model = LoadTestModel(tmp, "tiny_unet", 1);
  ASSERT_NE(model, nullptr);
  ImagePipeline pipeline(ImagePipeline::Options{.threads = 1});
  StatusOr<PreparedImage> prepared = PrepareFor(*model, GradientPng(32));
  ASSERT_TRUE(prepared.ok());
  RequestContext ctx;
  ctx.canceled = std::make_shared<std::atomic<bool>>(true);
  EXPECT_TRUE(ctx.IsCanceled());
  Outcome outcome;
  pipeline.Submit(model, std::move(*prepared), ctx, outcome.Callback(model));
  ASSERT_TRUE(outcome.Wait());
  EXPECT_EQ(outcome.result->status().code(), absl::StatusCode::kCancelled)
      << outcome.result->status();
}

TEST(ImagePipelineTest, OutputsArrivingAfterShutdownCompleteUnavailable) {
  testing::TempDir tmp;
  std::shared_ptr<Model> model = LoadTestModel(tmp, "tiny_unet", 1);
  ASSERT_NE(model, nullptr);
  auto pipeline = std::make_unique<ImagePipeline>(ImagePipeline::Options{.threads = 1});
  pipeline->Shutdown();
  StatusOr<PreparedImage> prepared = PrepareFor(*model, GradientPng(32));
  ASSERT_TRUE(prepared.ok());
  Outcome outcome;
  pipeline->Submit(model, std::move(*prepared), RequestContext{}, outcome.Callback(model));
  ASSERT_TRUE(outcome.Wait());
  EXPECT_EQ(outcome.result->status().code(), absl::StatusCode::kUnavailable);
}

TEST(ImagePipelineTest, PrepareRefusesBytesThatAreNoImage) {
  testing::TempDir tmp;
  std::shared_ptr<Model> model = LoadTestModel(tmp, "tiny_unet", 1);
  ASSERT_NE(model, nullptr);
  const std::vector<std::byte> junk(64, std::byte{0x42});
  StatusOr<PreparedImage> prepared = PrepareFor(*model, junk);
  EXPECT_EQ(prepared.status().code(), absl::StatusCode::kInvalidArgument);
  // A pixel limit below the image's size is refused before decoding.
  StatusOr<nlohmann::json> params = model->runner().ResolveParams(nullptr, model->description());
  ASSERT_TRUE(params.ok());
  DecodeLimits limits;
  limits.max_pixels = 100;
  StatusOr<PreparedImage> big = ImagePipeline::Prepare(model->runner(), model->description(),
                                                       GradientPng(32), *params, limits);
  EXPECT_EQ(big.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infera
