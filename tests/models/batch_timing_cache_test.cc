#include "models/batch_timing_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::WriteFile;

ModelConfig Config(const fs::path& artifact) {
  ModelConfig c;
  c.name = "m";
  c.version = 3;
  c.artifact = artifact;
  return c;
}

std::vector<BatchSizeTiming> Timings() {
  BatchSizeTiming one{1, 0.005, 5};
  BatchSizeTiming two{2, 0.015, 4};
  BatchSizeTiming untimed{3, std::nullopt, 0};
  return {one, two, untimed};
}

TEST(BatchTimingCacheTest, StoredTimingsAreFoundUnderTheSameKey) {
  TempDir tmp;
  WriteFile(tmp.path() / "model.pt", "weights");
  StatusOr<nlohmann::json> key = BatchTimingKey(Config(tmp.path() / "model.pt"), {3, 64, 64});
  ASSERT_TRUE(key.ok()) << key.status();
  BatchTimingCache cache(tmp.path() / "cache");
  EXPECT_FALSE(cache.Find("m", 3, *key).has_value());
  ASSERT_TRUE(cache.Store("m", 3, *key, Timings()).ok());
  EXPECT_TRUE(fs::exists(tmp.path() / "cache" / "m" / "3.json"));

  std::optional<std::vector<BatchSizeTiming>> found = cache.Find("m", 3, *key);
  ASSERT_TRUE(found.has_value());
  ASSERT_EQ(found->size(), 3u);
  EXPECT_EQ((*found)[1].batch_size, 2);
  EXPECT_DOUBLE_EQ(*(*found)[1].seconds, 0.015);
  EXPECT_EQ((*found)[1].samples, 4);
  EXPECT_FALSE((*found)[2].seconds.has_value());
  EXPECT_FALSE(cache.Find("m", 4, *key).has_value());  // another version: its own file
}

// What the timings depend on is in the key: another artifact, device, thread setting,
// input or budget misses the cache.
TEST(BatchTimingCacheTest, KeyChangesWithWhatTheTimingsDependOn) {
  TempDir tmp;
  WriteFile(tmp.path() / "model.pt", "weights");
  const ModelConfig base = Config(tmp.path() / "model.pt");
  const nlohmann::json key = *BatchTimingKey(base, {3, 64, 64});
  EXPECT_EQ(*BatchTimingKey(base, {3, 64, 64}), key);
  EXPECT_NE(*BatchTimingKey(base, {3, 32, 32}), key);
  ModelConfig threads = base;
  threads.instances.threads = 1;
  EXPECT_NE(*BatchTimingKey(threads, {3, 64, 64}), key);
  ModelConfig device = base;
  device.instances.device = "cuda:0";
  EXPECT_NE(*BatchTimingKey(device, {3, 64, 64}), key);
  ModelConfig budget = base;
  budget.batching.batch_timing_budget_ms = 2000;
  EXPECT_NE(*BatchTimingKey(budget, {3, 64, 64}), key);
  WriteFile(tmp.path() / "model.pt", "other weights");
  EXPECT_NE(*BatchTimingKey(base, {3, 64, 64}), key);

  BatchTimingCache cache(tmp.path() / "cache");
  ASSERT_TRUE(cache.Store("m", 3, key, Timings()).ok());
  EXPECT_FALSE(cache.Find("m", 3, *BatchTimingKey(base, {3, 64, 64})).has_value());
}

TEST(BatchTimingCacheTest, MissingArtifactIsNotFound) {
  TempDir tmp;
  EXPECT_EQ(BatchTimingKey(Config(tmp.path() / "none.pt"), {3}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(BatchTimingCacheTest, MalformedFilesAreMisses) {
  TempDir tmp;
  WriteFile(tmp.path() / "model.pt", "weights");
  const nlohmann::json key = *BatchTimingKey(Config(tmp.path() / "model.pt"), {3});
  BatchTimingCache cache(tmp.path() / "cache");
  for (const std::string& content :
       {std::string("not json"), std::string("[]"), nlohmann::json{{"key", key}}.dump(),
        nlohmann::json{{"key", key}, {"timings", {{{"batch_size", 1}}}}}.dump(),
        nlohmann::json{{"key", key},
                       {"timings", {{{"batch_size", 1}, {"seconds", "fast"}, {"samples", 1}}}}}
            .dump()}) {
    WriteFile(cache.FileOf("m", 3), content);
    EXPECT_FALSE(cache.Find("m", 3, key).has_value()) << content;
  }
}

TEST(BatchTimingCacheTest, DefaultDirFollowsTheEnvironment) {
  const char* saved = std::getenv("INFERA_CACHE_DIR");
  const std::string restore = saved != nullptr ? saved : "";
  setenv("INFERA_CACHE_DIR", "/var/cache/x", 1);
  EXPECT_EQ(DefaultBatchTimingCacheDir(), fs::path("/var/cache/x/batch_timings"));
  if (saved != nullptr) {
    setenv("INFERA_CACHE_DIR", restore.c_str(), 1);
  } else {
    unsetenv("INFERA_CACHE_DIR");
  }
}

}  // namespace
}  // namespace infera
