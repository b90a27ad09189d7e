#include "dicomweb/multipart_related.h"

#include <random>

#include "common/ascii.h"
#include "common/strings.h"

namespace infera {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string MediaType(std::string_view content_type) {
  return AsciiStrToLower(Trim(content_type.substr(0, content_type.find(';'))));
}

std::string HeaderParameter(std::string_view value, std::string_view name) {
  const std::string wanted = AsciiStrToLower(name);
  size_t pos = value.find(';');
  while (pos != std::string_view::npos && pos < value.size()) {
    ++pos;  // after ';'
    // name
    const size_t eq = value.find('=', pos);
    if (eq == std::string_view::npos) return "";
    const std::string key = AsciiStrToLower(Trim(value.substr(pos, eq - pos)));
    size_t i = eq + 1;
    while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
    std::string param;
    if (i < value.size() && value[i] == '"') {
      ++i;
      while (i < value.size() && value[i] != '"') {
        if (value[i] == '\\' && i + 1 < value.size()) ++i;
        param.push_back(value[i++]);
      }
      if (i < value.size()) ++i;  // closing quote
      pos = value.find(';', i);
    } else {
      const size_t end = value.find(';', i);
      param = std::string(Trim(value.substr(i, end == std::string_view::npos ? end : end - i)));
      pos = end;
    }
    if (key == wanted) return param;
  }
  return "";
}

StatusOr<std::vector<RelatedPart>> ParseMultipartRelated(std::string_view content_type,
                                                         std::string_view body, size_t max_parts) {
  const std::string type = MediaType(content_type);
  if (type != "multipart/related") {
    return absl::InvalidArgumentError(
        StrCat("expected a multipart/related body, got '", type.substr(0, 100), "'"));
  }
  const std::string boundary = HeaderParameter(content_type, "boundary");
  if (boundary.empty() || boundary.size() > 200) {
    return absl::InvalidArgumentError("the multipart/related Content-Type has no usable boundary");
  }
  const std::string delimiter = StrCat("--", boundary);
  // The first delimiter: at the start or after a CRLF (the preamble before it ignored).
  size_t pos;
  if (body.starts_with(delimiter)) {
    pos = delimiter.size();
  } else {
    const size_t found = body.find(StrCat("\r\n", delimiter));
    if (found == std::string_view::npos) {
      return absl::InvalidArgumentError("the multipart/related body has no opening boundary");
    }
    pos = found + 2 + delimiter.size();
  }
  const std::string next = StrCat("\r\n", delimiter);
  std::vector<RelatedPart> parts;
  while (true) {
    // After a delimiter: "--" closes; else optional whitespace then CRLF.
    if (body.substr(pos).starts_with("--")) return parts;
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
    if (!body.substr(pos).starts_with("\r\n")) {
      return absl::InvalidArgumentError("the multipart/related body has a malformed boundary line");
    }
    pos += 2;
    if (parts.size() >= max_parts) {
      return absl::InvalidArgumentError(
          StrCat("the multipart/related body has more than ", max_parts, " parts"));
    }
    RelatedPart part;
    // Headers up to an empty line.
    while (true) {
      const size_t eol = body.find("\r\n", pos);
      if (eol == std::string_view::npos) {
        return absl::InvalidArgumentError("a multipart/related part is truncated in its headers");
      }
      if (eol == pos) {
        pos += 2;
        break;
      }
      const std::string_view line = body.substr(pos, eol - pos);
      const size_t colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) {
        return absl::InvalidArgumentError("a multipart/related part has a malformed header line");
      }
      part.headers[AsciiStrToLower(Trim(line.substr(0, colon)))] =
          std::string(Trim(line.substr(colon + 1)));
      pos = eol + 2;
    }
    // The next delimiter: "\r\n--boundary" followed by "--" or by optional whitespace
    // and CRLF; anything else is data.
    size_t end = body.find(next, pos);
    while (end != std::string_view::npos) {
      size_t after = end + next.size();
      if (body.substr(after).starts_with("--")) break;
      while (after < body.size() && (body[after] == ' ' || body[after] == '\t')) ++after;
      if (body.substr(after).starts_with("\r\n")) break;
      end = body.find(next, end + 1);
    }
    if (end == std::string_view::npos) {
      return absl::InvalidArgumentError(
          "a multipart/related part is truncated (no closing boundary)");
    }
    part.body = std::string(body.substr(pos, end - pos));
    if (auto it = part.headers.find("content-type"); it != part.headers.end()) {
      part.content_type = it->second;
    }
    parts.push_back(std::move(part));
    pos = end + next.size();
  }
}

std::string NewBoundary(const std::vector<std::string_view>& parts) {
  static constexpr std::string_view kChars =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::random_device device;
  std::mt19937_64 random(device());
  for (;;) {
    std::string boundary = "infera-";
    for (int i = 0; i < 32; ++i) boundary.push_back(kChars[random() % kChars.size()]);
    bool clash = false;
    for (std::string_view p : parts) clash = clash || p.find(boundary) != std::string_view::npos;
    if (!clash) return boundary;
  }
}

std::string BuildMultipartRelated(const std::vector<std::string_view>& parts,
                                  std::string_view part_type, std::string_view boundary) {
  std::string out;
  size_t size = 0;
  for (std::string_view p : parts) size += p.size() + boundary.size() + part_type.size() + 40;
  out.reserve(size + 16);
  for (std::string_view p : parts) {
    out.append("--").append(boundary).append("\r\nContent-Type: ").append(part_type);
    out.append("\r\n\r\n").append(p).append("\r\n");
  }
  out.append("--").append(boundary).append("--\r\n");
  return out;
}

}  // namespace infera
