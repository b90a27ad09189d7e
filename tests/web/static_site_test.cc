// Tests for web/static_site.h: the embedded copy is byte for byte the source tree's web/
// folder; the directory mode lists regular files only (no hidden files, no links out),
// re-reads files, and answers NotFound for anything else; content types and ETags.
#include "web/static_site.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/file_util.h"
#include "web/web_assets.h"

namespace infera {
namespace {

namespace fs = std::filesystem;

void Write(const fs::path& path, std::string_view bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("static_site_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

TEST(StaticSiteTest, EmbeddedCopyIsTheSourceTree) {
  const fs::path web = fs::path(INFERA_SOURCE_DIR) / "web";
  size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(web)) {
    const std::string rel = fs::relative(entry.path(), web).generic_string();
    if (!entry.is_regular_file() || rel.front() == '.' || rel.find("/.") != std::string::npos) {
      continue;
    }
    ++files;
    auto bytes = ReadFileToString(entry.path());
    ASSERT_TRUE(bytes.ok());
    bool found = false;
    for (const WebAsset& asset : EmbeddedWebAssets()) {
      if (asset.path == rel) {
        EXPECT_EQ(asset.bytes, *bytes) << rel;
        found = true;
      }
    }
    EXPECT_TRUE(found) << rel << " is not embedded (re-run cmake?)";
  }
  EXPECT_EQ(EmbeddedWebAssets().size(), files);

  const StaticSite site = StaticSite::Embedded();
  ASSERT_FALSE(site.url_paths().empty());
  EXPECT_EQ(site.url_paths().front(), "/");
  auto index = site.Get("/");
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(index->bytes, *ReadFileToString(web / "index.html"));
  auto same = site.Get("/index.html");
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->etag, index->etag);
  EXPECT_EQ(site.Get("/missing.js").status().code(), absl::StatusCode::kNotFound);
}

TEST(StaticSiteTest, DirectoryListsRegularVisibleFilesOnly) {
  TempDir dir;
  TempDir outside;
  Write(dir.path() / "index.html", "<!doctype html>");
  Write(dir.path() / "js" / "app.js", "export {}");
  Write(dir.path() / ".secret", "no");
  Write(dir.path() / ".git" / "config", "no");
  Write(outside.path() / "passwd", "root");
  fs::create_symlink(outside.path() / "passwd", dir.path() / "link.txt");
  fs::create_directory_symlink(outside.path(), dir.path() / "out");

  auto site = StaticSite::FromDirectory(dir.path());
  ASSERT_TRUE(site.ok()) << site.status();
  EXPECT_EQ(site->url_paths(), (std::vector<std::string>{"/", "/index.html", "/js/app.js"}));

  auto js = site->Get("/js/app.js");
  ASSERT_TRUE(js.ok());
  EXPECT_EQ(js->bytes, "export {}");
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
  // Edits show without a restart, with a new ETag.
  Write(dir.path() / "js" / "app.js", "export const x = 1;");
  auto edited = site->Get("/js/app.js");
  ASSERT_TRUE(edited.ok());
  EXPECT_EQ(edited->bytes, "export const x = 1;");
  EXPECT_NE(edited->etag, js->etag);
  EXPECT_EQ(edited->etag.front(), '"');
  EXPECT_EQ(edited->etag.back(), '"');

  for (const char* path : {"/.secret", "/link.txt", "/out/passwd", "/../passwd",
                           "/js/../index.html", "/js", "index.html", ""}) {
    EXPECT_EQ(site->Get(path).status().code(), absl::StatusCode::kNotFound) << path;
  }
  fs::remove(dir.path() / "js" / "app.js");
  EXPECT_EQ(site->Get("/js/app.js").status().code(), absl::StatusCode::kNotFound);
}

TEST(StaticSiteTest, DirectoryNeedsAnIndex) {
  TempDir dir;
  EXPECT_EQ(StaticSite::FromDirectory(dir.path()).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(StaticSite::FromDirectory(dir.path() / "nope").status().code(),
            absl::StatusCode::kNotFound);
  Write(dir.path() / "index.html", "x");
  EXPECT_TRUE(StaticSite::FromDirectory(dir.path()).ok());
}

TEST(StaticSiteTest, ContentTypes) {
  EXPECT_EQ(ContentTypeForPath("a/b.CSS"), "text/css; charset=utf-8");
  EXPECT_EQ(ContentTypeForPath("x.svg"), "image/svg+xml");
  EXPECT_EQ(ContentTypeForPath("x.png"), "image/png");
  EXPECT_EQ(ContentTypeForPath("x.json"), "application/json");
  EXPECT_EQ(ContentTypeForPath("README"), "application/octet-stream");
  EXPECT_EQ(ContentTypeForPath("dir.d/file"), "application/octet-stream");
  EXPECT_EQ(ContentTypeForPath("x.exe"), "application/octet-stream");
}

}  // namespace
}  // namespace infera
