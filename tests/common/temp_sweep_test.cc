// The sweep of temp folders at start: only the caller's own names, regular files only,
// and only when no other process (or open) holds the folder's lock.
#include "common/temp_sweep.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;

bool Ours(std::string_view name) { return IsMkstempName(name, "blob-"); }

TEST(TempSweepTest, RemovesOnlyItsOwnRegularFiles) {
  testing::TempDir dir;
  testing::WriteFile(dir.path() / "blob-Ab12Cd", std::string(1000, 'x'));
  testing::WriteFile(dir.path() / "blob-zzzzzz", "12345");
  testing::WriteFile(dir.path() / "blob-short", "kept: not a temp name");
  testing::WriteFile(dir.path() / "notes.txt", "kept");
  fs::create_directory(dir.path() / "blob-Dir123");  // a folder with a temp-like name
  testing::WriteFile(dir.path() / "target", "the link's target");
  fs::create_symlink(dir.path() / "target", dir.path() / "blob-Link12");

  TempSweep swept;
  StatusOr<TempDirLock> lock = LockAndSweepTempDir(dir.path(), Ours, &swept);
  ASSERT_TRUE(lock.ok()) << lock.status();
  EXPECT_TRUE(lock->held());
  EXPECT_TRUE(swept.locked);
  EXPECT_EQ(swept.files, 2);
  EXPECT_EQ(swept.bytes, 1005u);
  EXPECT_FALSE(fs::exists(dir.path() / "blob-Ab12Cd"));
  EXPECT_FALSE(fs::exists(dir.path() / "blob-zzzzzz"));
  EXPECT_TRUE(fs::exists(dir.path() / "blob-short"));
  EXPECT_TRUE(fs::exists(dir.path() / "notes.txt"));
  EXPECT_TRUE(fs::is_directory(dir.path() / "blob-Dir123"));
  EXPECT_TRUE(fs::is_symlink(dir.path() / "blob-Link12"));
  EXPECT_TRUE(fs::exists(dir.path() / "target"));
}

TEST(TempSweepTest, AFolderInUseIsNotSweptUntilItsLockIsReleased) {
  testing::TempDir dir;
  StatusOr<TempDirLock> first = LockAndSweepTempDir(dir.path(), Ours);
  ASSERT_TRUE(first.ok() && first->held());
  // A live writer's temp file, then a second opener (another server on this storage).
  testing::WriteFile(dir.path() / "blob-Live01", "being written");
  TempSweep swept;
  StatusOr<TempDirLock> second = LockAndSweepTempDir(dir.path(), Ours, &swept);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(second->held());
  EXPECT_FALSE(swept.locked);
  EXPECT_TRUE(fs::exists(dir.path() / "blob-Live01"));
  // The first owner goes away (a crash releases the lock the same way): now it is swept.
  *first = TempDirLock();
  StatusOr<TempDirLock> third = LockAndSweepTempDir(dir.path(), Ours, &swept);
  ASSERT_TRUE(third.ok() && third->held());
  EXPECT_EQ(swept.files, 1);
  EXPECT_FALSE(fs::exists(dir.path() / "blob-Live01"));
}

TEST(TempSweepTest, MkstempNames) {
  EXPECT_TRUE(IsMkstempName("zip-entry-a1B2c3", "zip-entry-"));
  EXPECT_FALSE(IsMkstempName("zip-entry-a1B2c", "zip-entry-"));
  EXPECT_FALSE(IsMkstempName("zip-entry-a1B2c3d", "zip-entry-"));
  EXPECT_FALSE(IsMkstempName("zip-entry-a1/2c3", "zip-entry-"));
  EXPECT_FALSE(IsMkstempName("zip-entry-a1.2c3", "zip-entry-"));
  EXPECT_FALSE(IsMkstempName("zip-entrya1B2c3x", "zip-entry-"));
}

}  // namespace
}  // namespace infera
