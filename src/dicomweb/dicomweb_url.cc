#include "dicomweb/dicomweb_url.h"

#include "common/ascii.h"
#include "common/strings.h"

namespace infera {

std::string DicomwebUrl::ToString() const {
  const std::string h = host.find(':') != std::string::npos ? StrCat("[", host, "]") : host;
  return StrCat(scheme, "://", h, ":", port, base_path);
}

StatusOr<DicomwebUrl> ParseDicomwebUrl(std::string_view url) {
  if (url.size() > 2000) return absl::InvalidArgumentError("'url' is longer than 2000 bytes");
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError("'url' holds spaces or control characters");
    }
  }
  const size_t colon = url.find("://");
  if (colon == std::string_view::npos) {
    return absl::InvalidArgumentError("'url' must be an http:// URL of a DICOMweb service");
  }
  DicomwebUrl out;
  out.scheme = AsciiStrToLower(url.substr(0, colon));
  if (out.scheme == "https") {
    return absl::InvalidArgumentError(
        "https DICOMweb URLs are not supported yet (the server's HTTP client has no TLS); use "
        "http:// (a TLS-terminating proxy in front of the PACS, or a trusted network)");
  }
  if (out.scheme != "http") {
    return absl::InvalidArgumentError(
        StrCat("'url' must be http:// (got scheme '", out.scheme.substr(0, 20), "')"));
  }
  std::string_view rest = url.substr(colon + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return absl::InvalidArgumentError("'url' must not hold a query or a fragment");
  }
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    return absl::InvalidArgumentError(
        "'url' must not hold credentials (user@host); give them in 'auth'");
  }
  std::string_view port_text;
  if (authority.starts_with("[")) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError("'url' has an unclosed IPv6 address");
    }
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(":")) return absl::InvalidArgumentError("'url' has a malformed host");
      port_text = after.substr(1);
    }
  } else {
    const size_t c = authority.find(':');
    out.host = std::string(authority.substr(0, c));
    if (c != std::string_view::npos) port_text = authority.substr(c + 1);
  }
  if (out.host.empty()) return absl::InvalidArgumentError("'url' has no host");
  out.host = AsciiStrToLower(out.host);
  if (!port_text.empty()) {
    int port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || port > 65535) {
        return absl::InvalidArgumentError("'url' has a bad port");
      }
      port = port * 10 + (c - '0');
    }
    if (port < 1 || port > 65535) return absl::InvalidArgumentError("'url' has a bad port");
    out.port = static_cast<uint16_t>(port);
  }
  while (path.ends_with("/")) path.remove_suffix(1);
  out.base_path = std::string(path);
  return out;
}

Status CheckAllowedHost(const DicomwebUrl& url, const std::vector<std::string>& allowed) {
  if (allowed.empty()) return absl::OkStatus();
  for (const std::string& host : allowed) {
    if (AsciiStrToLower(host) == url.host) return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      StrCat("host '", url.host, "' is not among this server's dicomweb.allowed_hosts"));
}

}  // namespace infera
