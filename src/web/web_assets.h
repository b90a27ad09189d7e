// The web page's files (web/ in the source tree), embedded in the binary at build time:
// cmake/embed_web.cmake generates the definition of EmbeddedWebAssets from web/**.
#pragma once

#include <span>
#include <string_view>

namespace infera {

struct WebAsset {
  std::string_view path;   // relative to web/, '/'-separated: "index.html", "js/app.js"
  std::string_view bytes;  // the file's content
};

// Every embedded file, sorted by path; hidden files (".name") are left out. Static
// storage; immutable; thread-safe.
std::span<const WebAsset> EmbeddedWebAssets();

}  // namespace infera
