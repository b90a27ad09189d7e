// DicomwebUrl: the base URL of a DICOMweb service ("http://pacs:8042/dicom-web"), parsed
// and checked before the server reaches it.
//
// Accepted: http://host[:port][/path] (port 80 by default). https:// is recognised but
// refused (InvalidArgument): the server's HTTP client (api/http_client.h) has no TLS yet;
// put a TLS-terminating proxy in front, or reach the PACS over http inside a trusted
// network. Other schemes, user info in the URL, a query or a fragment, an empty host or
// a bad port: InvalidArgument. Credentials go in the request's `auth`, never the URL.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace infera {

struct DicomwebUrl {
  std::string scheme;  // "http"
  std::string host;    // lower-case; an IPv6 literal without its brackets
  uint16_t port = 80;
  std::string base_path;  // "" or "/dicom-web" (no trailing '/')

  // "http://host:port/base_path".
  std::string ToString() const;
  // The request target of `path` below the base ("/dicom-web" + "/studies/...").
  std::string Target(std::string_view path) const { return base_path + std::string(path); }
};

StatusOr<DicomwebUrl> ParseDicomwebUrl(std::string_view url);

// OkStatus when `allowed` is empty or holds url.host (case-insensitive);
// PermissionDenied naming the host and the option otherwise.
Status CheckAllowedHost(const DicomwebUrl& url, const std::vector<std::string>& allowed);

}  // namespace infera
