// StaticSite: the web page's files as the server serves them, either the copy embedded
// in the binary (web_assets.h, the default) or a folder on disk (`server.web_dir`, for
// working on the page without rebuilding: files are read again on every request).
//
// URL paths: "/" is index.html; "/<rel>" is the file at <rel> (e.g. "/js/app.js"). The
// page routes with URL fragments (#/datasets), so no other path needs to serve it.
//
// Thread-safety: immutable after construction; Get is thread-safe.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace infera {

struct StaticFile {
  std::string content_type;  // from the extension ("text/html; charset=utf-8", ...)
  std::string bytes;
  std::string etag;  // a strong validator, quoted: "\"<sha256 prefix>\""
};

class StaticSite {
 public:
  // The embedded copy.
  static StaticSite Embedded();
  // Every regular file under `dir` (hidden names — starting with '.' — and symbolic
  // links left out). NotFound when `dir` is not a folder or has no index.html.
  static StatusOr<StaticSite> FromDirectory(const std::filesystem::path& dir);

  // The URL paths served, sorted: "/" and one per file.
  const std::vector<std::string>& url_paths() const { return url_paths_; }
  // The file for a URL path of url_paths(). NotFound for any other path; in directory
  // mode also when the file was removed since start-up (Internal when it cannot be read).
  StatusOr<StaticFile> Get(std::string_view url_path) const;

 private:
  StaticSite() = default;
  // url path -> relative file path ("/" -> "index.html").
  std::string RelativePath(std::string_view url_path) const;

  std::filesystem::path dir_;  // empty: embedded
  std::vector<std::string> url_paths_;
};

// The Content-Type for a file name by its extension (lower-cased); application/octet-stream
// for unknown ones. Text types carry "; charset=utf-8".
std::string ContentTypeForPath(std::string_view path);

}  // namespace infera
