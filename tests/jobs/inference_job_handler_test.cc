// InferenceJobHandler's job-level failures (no model needed): a job whose runner is not
// implemented, or whose model is not loaded, ends `failed` with a note that says why.
#include "jobs/inference_job_handler.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "jobs/job_workers.h"
#include "store/sqlite_store.h"
#include "support/test_env.h"

namespace infera {
namespace {

InferenceRecord WaitTerminal(Store& store, int64_t id) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  StatusOr<InferenceRecord> job = GetInference(store, id);
  while (std::chrono::steady_clock::now() < deadline && job.ok() && !IsTerminal(job->status)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    job = GetInference(store, id);
  }
  EXPECT_TRUE(job.ok()) << job.status();
  return job.ok() ? *job : InferenceRecord{};
}

TEST(InferenceJobHandlerTest, UnknownRunnerOrMissingModelFailsTheJobWithANote) {
  testing::TempDir dir;
  StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(dir.path() / "infera.db");
  ASSERT_TRUE(store.ok()) << store.status();
  StatusOr<std::unique_ptr<BlobStore>> blobs = OpenFsBlobStore(dir.path() / "blobs");
  ASSERT_TRUE(blobs.ok()) << blobs.status();
  ModelRegistry models;
  DatasetRecord d;
  d.name = "d";
  StatusOr<DatasetRecord> dataset = (*store)->CreateDataset(d);
  ASSERT_TRUE(dataset.ok());

  InferenceRecord unknown_runner;
  unknown_runner.dataset_id = dataset->id;
  unknown_runner.model_name = "m";
  unknown_runner.model_version = 1;
  unknown_runner.runner_name = "nope";
  StatusOr<InferenceRecord> a = CreateInference(**store, unknown_runner);
  InferenceRecord missing_model = unknown_runner;
  missing_model.runner_name = "classify";
  StatusOr<InferenceRecord> b = CreateInference(**store, missing_model);
  ASSERT_TRUE(a.ok() && b.ok());

  ImagePipeline pipeline;
  JobHandlerRegistry handlers;
  ASSERT_TRUE(handlers
                  .Register(std::make_unique<InferenceJobHandler>(
                      store->get(), blobs->get(), &models, &pipeline, InferenceJobOptions{}))
                  .ok());
  JobWorkerOptions options;
  options.idle_poll = std::chrono::milliseconds(10);
  JobWorkers workers(store->get(), &handlers, options);
  workers.Start();
  const InferenceRecord ja = WaitTerminal(**store, a->id);
  const InferenceRecord jb = WaitTerminal(**store, b->id);
  workers.Stop();

  EXPECT_EQ(ja.status, JobStatus::kFailed);
  EXPECT_EQ(ja.note.rfind("Runner 'nope' is not implemented. Available runners: [classify, ", 0),
            0u)
      << ja.note;
  EXPECT_EQ(jb.status, JobStatus::kFailed);
  EXPECT_EQ(jb.note, "model 'm' version 1 is not loaded");
}

TEST(InferenceJobHandlerTest, ArtifactFilenames) {
  EXPECT_EQ(ArtifactFilename("cells.tif", "class_mask", "png"), "cells_mask.png");
  EXPECT_EQ(ArtifactFilename("a.b.png", "instance_mask", "png"), "a.b_instances.png");
  EXPECT_EQ(ArtifactFilename("noext", "preview", "png"), "noext_preview.png");
  EXPECT_EQ(ArtifactFilename("x.tiff", "probability", "tif"), "x_probability.tif");
}

}  // namespace
}  // namespace infera
