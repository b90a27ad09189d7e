#include "web/static_site.h"

#include <algorithm>
#include <map>

#include "common/ascii.h"
#include "common/file_util.h"
#include "common/hex.h"
#include "common/sha256.h"
#include "common/strings.h"
#include "web/web_assets.h"

namespace infera {

namespace fs = std::filesystem;

namespace {

std::string ETagFor(std::string_view bytes) {
  // 96 bits are plenty to tell versions apart.
  const std::string digest = Sha256Digest(bytes).substr(0, 12);
  return StrCat("\"", HexEncode(digest), "\"");
}

bool Hidden(const fs::path& rel) {
  for (const fs::path& part : rel) {
    if (!part.empty() && part.string().front() == '.') return true;
  }
  return false;
}

}  // namespace

std::string ContentTypeForPath(std::string_view path) {
  static const std::map<std::string, std::string, std::less<>> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
      {".woff2", "font/woff2"},
  };
  const size_t slash = path.rfind('/');
  const size_t dot = path.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
    return "application/octet-stream";
  }
  const std::string ext = AsciiStrToLower(path.substr(dot));
  auto it = kTypes.find(ext);
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

StaticSite StaticSite::Embedded() {
  StaticSite site;
  site.url_paths_.push_back("/");
  for (const WebAsset& asset : EmbeddedWebAssets()) {
    site.url_paths_.push_back(StrCat("/", asset.path));
  }
  std::sort(site.url_paths_.begin(), site.url_paths_.end());
  return site;
}

StatusOr<StaticSite> StaticSite::FromDirectory(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(StrCat("web_dir ", dir.string(), " is not a folder"));
  }
  if (!fs::is_regular_file(dir / "index.html", ec)) {
    return absl::NotFoundError(StrCat("web_dir ", dir.string(), " has no index.html"));
  }
  StaticSite site;
  site.dir_ = dir;
  site.url_paths_.push_back("/");
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_symlink(ec) || !it->is_regular_file(ec)) continue;
    const fs::path rel = fs::relative(it->path(), dir, ec);
    if (ec || rel.empty() || Hidden(rel)) continue;
    site.url_paths_.push_back(StrCat("/", rel.generic_string()));
  }
  if (ec) {
    return absl::InternalError(StrCat("cannot list web_dir ", dir.string(), ": ", ec.message()));
  }
  std::sort(site.url_paths_.begin(), site.url_paths_.end());
  return site;
}

std::string StaticSite::RelativePath(std::string_view url_path) const {
  return url_path == "/" ? "index.html" : std::string(url_path.substr(1));
}

StatusOr<StaticFile> StaticSite::Get(std::string_view url_path) const {
  if (!std::binary_search(url_paths_.begin(), url_paths_.end(), url_path)) {
    return absl::NotFoundError(StrCat("no web page file at ", url_path));
  }
  const std::string rel = RelativePath(url_path);
  StaticFile file;
  file.content_type = ContentTypeForPath(rel);
  if (dir_.empty()) {
    for (const WebAsset& asset : EmbeddedWebAssets()) {
      if (asset.path == rel) {
        file.bytes = std::string(asset.bytes);
        break;
      }
    }
  } else {
    // Only paths found under dir_ at start-up get here: no traversal is possible.
    const fs::path path = dir_ / rel;
    std::error_code ec;
    if (fs::is_symlink(path, ec) || !fs::is_regular_file(path, ec)) {
      return absl::NotFoundError(StrCat("no web page file at ", url_path));
    }
    ASSIGN_OR_RETURN(file.bytes, ReadFileToString(path));
  }
  file.etag = ETagFor(file.bytes);
  return file;
}

}  // namespace infera
