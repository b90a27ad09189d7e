// Issue 22 item 6: the store (infera.db, -wal, -shm, the blob folders and files, the
// upload scratch folder) was created world-readable (0644/0755) under the usual umask
// 022. Everything infera creates for its data is the server user's alone.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <span>

#include "store/blob_store.h"
#include "support/test_env.h"

namespace infera::testing {
namespace {

namespace fs = std::filesystem;

TEST(StoragePermissionsTest, StoreFilesAndFoldersArePrivateByDefault) {
  const mode_t old_umask = ::umask(022);  // the usual default, which let others read
  TempDir dir;
  std::unique_ptr<Server> server = StartServer(dir.path(), "auth: {enabled: true}\n");
  ASSERT_NE(server, nullptr);
  ::umask(old_umask);
  const fs::path data = dir.path() / "data";
  // A blob, written as the server writes one (the store's folders are the point).
  StatusOr<std::unique_ptr<BlobStore>> blobs = OpenFsBlobStore(data / "blobs");
  ASSERT_TRUE(blobs.ok()) << blobs.status();
  const std::string bytes = "some bytes";
  ASSERT_TRUE((*blobs)->Put(std::as_bytes(std::span(bytes.data(), bytes.size()))).ok());
  auto mode = [](const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 0777;
  };
  EXPECT_EQ(mode(data), 0700u);
  EXPECT_EQ(mode(data / "tmp"), 0700u);
  for (const char* f : {"infera.db", "infera.db-wal", "infera.db-shm", "auth_secret"}) {
    ASSERT_TRUE(fs::exists(data / f)) << f;
    EXPECT_EQ(mode(data / f), 0600u) << f;
  }
  int checked = 0;
  for (const auto& e : fs::recursive_directory_iterator(data / "blobs")) {
    EXPECT_EQ(mode(e.path()) & 0077, 0u) << e.path();  // no group or other bits
    ++checked;
  }
  EXPECT_GE(checked, 4);  // tmp, two levels of folders, the blob
  server->Stop();
}

}  // namespace
}  // namespace infera::testing
