#include "auth/secret_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace infera {
namespace {

namespace fs = std::filesystem;

// A fresh folder removed on destruction (tests/support's TempDir pulls in the server).
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (fs::temp_directory_path() / "secret_file_test.XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~ScratchDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

mode_t ModeOf(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

void WriteWithMode(const fs::path& p, const std::string& content, mode_t mode) {
  std::ofstream(p, std::ios::binary) << content;
  ASSERT_EQ(::chmod(p.c_str(), mode), 0);
}

size_t EntriesIn(const fs::path& dir) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.exists() ? 1 : 0;
  return n;
}

// Sets the process umask for the scope of a test.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

TEST(SecretFileTest, CreatesA0600FileWithA128HexCharacterSecret) {
  ScratchDir dir;
  const fs::path path = dir.path() / "jwt.secret";
  StatusOr<std::string> secret = LoadOrCreateSecret(path);
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(secret->size(), 2 * kGeneratedSecretBytes);
  EXPECT_EQ(secret->find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(EntriesIn(dir.path()), 1u);  // no temporary left behind
}

TEST(SecretFileTest, ReloadReturnsTheSameSecret) {
  ScratchDir dir;
  const fs::path path = dir.path() / "jwt.secret";
  StatusOr<std::string> first = LoadOrCreateSecret(path);
  ASSERT_TRUE(first.ok()) << first.status();
  StatusOr<std::string> again = LoadOrCreateSecret(path);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *first);
  EXPECT_EQ(*LoadSecret(path), *first);
}

TEST(SecretFileTest, TwoFilesGetDifferentSecrets) {
  ScratchDir dir;
  EXPECT_NE(*LoadOrCreateSecret(dir.path() / "a"), *LoadOrCreateSecret(dir.path() / "b"));
}

TEST(SecretFileTest, ModeIs0600WhateverTheUmask) {
  for (const mode_t mask : {mode_t{0}, mode_t{022}, mode_t{0277}, mode_t{0777}}) {
    ScratchDir dir;
    const fs::path path = dir.path() / "jwt.secret";
    {
      ScopedUmask scoped(mask);
      ASSERT_TRUE(LoadOrCreateSecret(path).ok()) << mask;
    }
    EXPECT_EQ(ModeOf(path), 0600u) << mask;
    EXPECT_TRUE(LoadSecret(path).ok()) << mask;
  }
}

TEST(SecretFileTest, RefusesGroupOrWorldAccessibleFiles) {
  ScratchDir dir;
  const fs::path path = dir.path() / "jwt.secret";
  const std::string content(64, 'x');
  for (const mode_t mode : {mode_t{0644}, mode_t{0640}, mode_t{0604}, mode_t{0620}, mode_t{0602},
                            mode_t{0610}, mode_t{0601}}) {
    WriteWithMode(path, content, mode);
    StatusOr<std::string> got = LoadOrCreateSecret(path);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kFailedPrecondition) << std::oct << mode;
    EXPECT_NE(got.status().message().find("chmod 600"), absl::string_view::npos) << got.status();
    // The file was left alone, not replaced.
    EXPECT_EQ(ModeOf(path), mode);
  }
  WriteWithMode(path, content, 0400);
  EXPECT_EQ(*LoadSecret(path), content);
  WriteWithMode(path, content, 0600);
  EXPECT_EQ(*LoadSecret(path), content);
}

TEST(SecretFileTest, RefusesShortFiles) {
  ScratchDir dir;
  const fs::path path = dir.path() / "jwt.secret";
  WriteWithMode(path, std::string(kMinSecretBytes - 1, 'x'), 0600);
  EXPECT_EQ(LoadOrCreateSecret(path).status().code(), absl::StatusCode::kFailedPrecondition);
  // Trailing whitespace does not count towards the length.
  WriteWithMode(path, std::string(kMinSecretBytes - 1, 'x') + "\n\n  \r\n", 0600);
  EXPECT_EQ(LoadSecret(path).status().code(), absl::StatusCode::kFailedPrecondition);
  WriteWithMode(path, "", 0600);
  EXPECT_EQ(LoadOrCreateSecret(path).status().code(), absl::StatusCode::kFailedPrecondition);
  WriteWithMode(path, std::string(kMinSecretBytes, 'x'), 0600);
  EXPECT_EQ(*LoadSecret(path), std::string(kMinSecretBytes, 'x'));
}

TEST(SecretFileTest, TrailingNewlineIsNotPartOfTheSecret) {
  ScratchDir dir;
  const fs::path path = dir.path() / "jwt.secret";
  const std::string secret(40, 's');
  WriteWithMode(path, secret + "\r\n", 0600);
  EXPECT_EQ(*LoadSecret(path), secret);
  WriteWithMode(path, "  " + secret, 0600);  // leading spaces are kept
  EXPECT_EQ(*LoadSecret(path), "  " + secret);
}

TEST(SecretFileTest, RefusesHugeFiles) {
  ScratchDir dir;
  const fs::path path = dir.path() / "jwt.secret";
  WriteWithMode(path, std::string(kMaxSecretFileBytes + 1, 'x'), 0600);
  EXPECT_EQ(LoadSecret(path).status().code(), absl::StatusCode::kFailedPrecondition);
  WriteWithMode(path, std::string(kMaxSecretFileBytes, 'x'), 0600);
  EXPECT_TRUE(LoadSecret(path).ok());
}

TEST(SecretFileTest, RefusesNonRegularFiles) {
  ScratchDir dir;
  const fs::path sub = dir.path() / "folder";
  fs::create_directory(sub);
  ::chmod(sub.c_str(), 0700);
  EXPECT_EQ(LoadOrCreateSecret(sub).status().code(), absl::StatusCode::kFailedPrecondition);
  const fs::path fifo = dir.path() / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Must not block waiting for a writer.
  EXPECT_EQ(LoadOrCreateSecret(fifo).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(SecretFileTest, FollowsASymlinkToAProperSecretButChecksTheTarget) {
  ScratchDir dir;
  const fs::path target = dir.path() / "target";
  const fs::path link = dir.path() / "link";
  WriteWithMode(target, std::string(40, 't'), 0600);
  fs::create_symlink(target, link);
  EXPECT_EQ(*LoadOrCreateSecret(link), std::string(40, 't'));
  ::chmod(target.c_str(), 0644);
  EXPECT_EQ(LoadOrCreateSecret(link).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(SecretFileTest, MissingFolderIsNotFoundAndLoadSecretDoesNotCreate) {
  ScratchDir dir;
  EXPECT_EQ(LoadOrCreateSecret(dir.path() / "nope" / "jwt.secret").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(LoadSecret(dir.path() / "jwt.secret").status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(dir.path() / "jwt.secret"));
}

TEST(SecretFileTest, ConcurrentCreatorsAllGetTheSameSecret) {
  for (int round = 0; round < 20; ++round) {
    ScratchDir dir;
    const fs::path path = dir.path() / "jwt.secret";
    constexpr int kThreads = 8;
    std::vector<StatusOr<std::string>> results(kThreads, absl::UnknownError("not run"));
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] { results[i] = LoadOrCreateSecret(path); });
    }
    for (auto& t : threads) t.join();
    for (int i = 0; i < kThreads; ++i) {
      ASSERT_TRUE(results[i].ok()) << round << " " << i << " " << results[i].status();
      EXPECT_EQ(*results[i], *results[0]) << round << " " << i;
    }
    EXPECT_EQ(*LoadSecret(path), *results[0]);
    EXPECT_EQ(EntriesIn(dir.path()), 1u);
  }
}

TEST(SecretFileTest, ConcurrentCreatorsInSeparateProcessesAgree) {
  ScratchDir dir;
  const fs::path path = dir.path() / "jwt.secret";
  const fs::path out = dir.path() / "child-secret";
  std::fflush(nullptr);  // the child must not flush our buffered output a second time
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    StatusOr<std::string> s = LoadOrCreateSecret(path);
    if (s.ok()) std::ofstream(out) << *s;
    ::_exit(s.ok() ? 0 : 1);
  }
  StatusOr<std::string> mine = LoadOrCreateSecret(path);
  int wstatus = 0;
  ASSERT_EQ(::waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
  ASSERT_TRUE(mine.ok()) << mine.status();
  std::ifstream in(out);
  std::string theirs((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(theirs, *mine);
}

}  // namespace
}  // namespace infera
