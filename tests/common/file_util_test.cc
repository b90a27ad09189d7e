#include "common/file_util.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;

TEST(FileUtilTest, WriteReplacesAndLeavesNoTempFiles) {
  testing::TempDir dir;
  const fs::path file = dir.path() / "model.yaml";
  ASSERT_TRUE(WriteFileDurably(file, "first").ok());
  ASSERT_TRUE(WriteFileDurably(file, std::string("sec\0ond", 7)).ok());
  StatusOr<std::string> read = ReadFileToString(file);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, std::string("sec\0ond", 7));
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) entries += e.exists() ? 1 : 0;
  EXPECT_EQ(entries, 1);
}

TEST(FileUtilTest, CopyCopiesLargeFilesExactly) {
  testing::TempDir dir;
  std::string big(3 * (1 << 20) + 17, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 251);
  ASSERT_TRUE(WriteFileDurably(dir.path() / "a", big).ok());
  ASSERT_TRUE(CopyFileDurably(dir.path() / "a", dir.path() / "b").ok());
  EXPECT_EQ(*ReadFileToString(dir.path() / "b"), big);
}

TEST(FileUtilTest, ErrorsNameThePath) {
  testing::TempDir dir;
  Status s = WriteFileDurably(dir.path() / "missing" / "x", "y");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_NE(std::string(s.message()).find("missing"), std::string::npos);
  EXPECT_EQ(CopyFileDurably(dir.path() / "nope", dir.path() / "b").code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(dir.path() / "b"));
  EXPECT_EQ(ReadFileToString(dir.path() / "nope").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace infera
