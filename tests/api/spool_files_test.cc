// The server's temp folder: the names it sweeps at start, and the sweep itself.
#include "api/spool_files.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;

TEST(SpoolFilesTest, TheServersOwnTempNames) {
  EXPECT_TRUE(IsSpoolFileName("upload-1234-0.part"));
  EXPECT_TRUE(IsSpoolFileName("upload-99-123456.part"));
  EXPECT_TRUE(IsSpoolFileName("multipart-aB3dE9"));
  EXPECT_TRUE(IsSpoolFileName("archive-7-18446744073709551615.zip"));
  EXPECT_TRUE(IsSpoolFileName("labels-42.txt"));
  EXPECT_TRUE(IsSpoolFileName("zip-entry-Zz09aa"));

  EXPECT_FALSE(IsSpoolFileName("upload-.part"));
  EXPECT_FALSE(IsSpoolFileName("upload-12-.part"));
  EXPECT_FALSE(IsSpoolFileName("upload-1-2.part.bak"));
  EXPECT_FALSE(IsSpoolFileName("upload-a-2.part"));
  EXPECT_FALSE(IsSpoolFileName("multipart-aB3dE"));
  EXPECT_FALSE(IsSpoolFileName("archive-1.zip.keep"));
  EXPECT_FALSE(IsSpoolFileName("labels.txt"));
  EXPECT_FALSE(IsSpoolFileName(".lock"));
  EXPECT_FALSE(IsSpoolFileName("my-model.onnx"));
  EXPECT_FALSE(IsSpoolFileName("infera.db"));
}

TEST(SpoolFilesTest, OpenSweepsWhatAKilledServerLeftAndNothingElse) {
  testing::TempDir dir;
  const fs::path tmp = dir.path() / "storage" / "tmp";
  fs::create_directories(tmp);
  testing::WriteFile(tmp / "upload-4242-3.part", std::string(4096, 'b'));
  testing::WriteFile(tmp / "multipart-Qw12Er", "part");
  testing::WriteFile(tmp / "zip-entry-Ty34Ui", "entry");
  testing::WriteFile(tmp / "operator-notes.txt", "not ours");
  StatusOr<TempDirLock> lock = OpenSpoolDir(tmp);
  ASSERT_TRUE(lock.ok()) << lock.status();
  EXPECT_TRUE(lock->held());
  EXPECT_FALSE(fs::exists(tmp / "upload-4242-3.part"));
  EXPECT_FALSE(fs::exists(tmp / "multipart-Qw12Er"));
  EXPECT_FALSE(fs::exists(tmp / "zip-entry-Ty34Ui"));
  EXPECT_TRUE(fs::exists(tmp / "operator-notes.txt"));
  // A second server on the same storage leaves the first one's files alone.
  testing::WriteFile(tmp / "upload-4242-4.part", "in flight");
  StatusOr<TempDirLock> second = OpenSpoolDir(tmp);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(second->held());
  EXPECT_TRUE(fs::exists(tmp / "upload-4242-4.part"));
}

}  // namespace
}  // namespace infera
