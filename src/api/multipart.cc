#include "api/multipart.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <system_error>
#include <utility>

#include "common/ascii.h"
#include "common/strings.h"
#include "common/unique_fd.h"
#include "common/utf8.h"

namespace infera {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxBoundaryBytes = 70;
// Spaces and tabs allowed between a boundary and its line end (RFC 2046 transport
// padding); more is treated as garbage.
constexpr size_t kMaxPaddingBytes = 256;

Status Malformed(std::string_view why) {
  return absl::InvalidArgumentError(StrCat("malformed multipart body: ", why));
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A header value of the form `token *( ";" name "=" (token / quoted-string) )`.
struct ParameterizedValue {
  std::string value;                                        // lower-cased
  std::vector<std::pair<std::string, std::string>> params;  // names lower-cased

  const std::string* Find(std::string_view name) const {
    for (const auto& [key, value] : params) {
      if (key == name) return &value;
    }
    return nullptr;
  }
};

// Parses `text` as above. In a quoted string a backslash escapes only '"' and '\'
// (browsers send other backslashes, e.g. in Windows file names, literally).
StatusOr<ParameterizedValue> ParseParameterized(std::string_view text, std::string_view what) {
  ParameterizedValue out;
  size_t i = text.find(';');
  out.value = AsciiStrToLower(Trim(text.substr(0, i)));
  while (i != std::string_view::npos && i < text.size()) {
    ++i;  // past ';'
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i >= text.size()) break;
    const size_t name_end = text.find_first_of("=;", i);
    const std::string name = AsciiStrToLower(Trim(text.substr(i, name_end - i)));
    if (name_end == std::string_view::npos || text[name_end] == ';') {
      i = name_end;  // a parameter without a value: ignored
      continue;
    }
    i = name_end + 1;
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    std::string value;
    if (i < text.size() && text[i] == '"') {
      ++i;
      bool closed = false;
      while (i < text.size()) {
        const char c = text[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\' && i < text.size() && (text[i] == '"' || text[i] == '\\')) {
          value.push_back(text[i++]);
        } else {
          value.push_back(c);
        }
      }
      if (!closed) return Malformed(StrCat(what, ": unterminated quoted string"));
      while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
      if (i < text.size() && text[i] != ';') {
        return Malformed(StrCat(what, ": unexpected text after a quoted string"));
      }
    } else {
      const size_t end = text.find(';', i);
      value = std::string(Trim(text.substr(i, end - i)));
      i = end;
    }
    if (name.empty()) return Malformed(StrCat(what, ": a parameter has no name"));
    if (out.Find(name) != nullptr)
      return Malformed(StrCat(what, ": parameter '", name, "' repeats"));
    out.params.emplace_back(name, std::move(value));
  }
  return out;
}

bool IsBoundaryChar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

Status CheckBoundary(std::string_view boundary) {
  if (boundary.empty() || boundary.size() > kMaxBoundaryBytes) {
    return absl::InvalidArgumentError(
        StrCat("multipart boundary must have 1 to 70 characters, not ", boundary.size()));
  }
  if (boundary.back() == ' ') {
    return absl::InvalidArgumentError("multipart boundary must not end with a space");
  }
  for (char c : boundary) {
    if (!IsBoundaryChar(c)) {
      return absl::InvalidArgumentError("multipart boundary has a character RFC 2046 forbids");
    }
  }
  return absl::OkStatus();
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes an RFC 5987 ext-value (charset'language'percent-encoded) into UTF-8.
// nullopt for a charset other than UTF-8 or ISO-8859-1; InvalidArgument when malformed.
StatusOr<std::optional<std::string>> DecodeExtValue(std::string_view text) {
  const size_t q1 = text.find('\'');
  const size_t q2 = q1 == std::string_view::npos ? q1 : text.find('\'', q1 + 1);
  if (q2 == std::string_view::npos) return Malformed("filename* is not charset'lang'value");
  const std::string_view charset = text.substr(0, q1);
  const bool utf8 = EqualsIgnoreCase(charset, "utf-8");
  if (!utf8 && !EqualsIgnoreCase(charset, "iso-8859-1")) return std::optional<std::string>();
  std::string out;
  for (size_t i = q2 + 1; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '%') {
      const int hi = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
      const int lo = hi >= 0 ? HexValue(text[i + 2]) : -1;
      if (lo < 0) return Malformed("filename* has a bad percent escape");
      c = static_cast<unsigned char>(hi * 16 + lo);
      i += 2;
    }
    if (utf8 || c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else {  // ISO-8859-1 to UTF-8
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return std::optional<std::string>(std::move(out));
}

// The streaming parser: Feed() it the body in pieces, then Finish().
// Delimiters are "\r\n--boundary"; the body is parsed as if it began with "\r\n" so
// that a boundary on the very first line needs no special case.
class Parser {
 public:
  Parser(std::string_view boundary, fs::path tmp_dir, const MultipartLimits& limits)
      : delimiter_(StrCat("\r\n--", boundary)), tmp_dir_(std::move(tmp_dir)), limits_(limits) {
    buffer_ = "\r\n";
  }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  Status Feed(std::string_view data) {
    buffer_.erase(0, pos_);
    pos_ = 0;
    buffer_.append(data);
    return Process();
  }

  StatusOr<std::vector<MultipartPart>> Finish() {
    switch (state_) {
      case State::kPreamble:
        return Malformed("no '--boundary' line (wrong boundary?)");
      case State::kAfterDelimiter:
      case State::kHeaders:
        return Malformed(StrCat("the body ends inside the headers of part ", parts_.size() + 1));
      case State::kBody:
        return Malformed(StrCat("the body ends before the closing boundary (part '", part_.name,
                                "' is truncated)"));
      case State::kEpilogue:
        break;
    }
    files_.Release();
    return std::move(parts_);
  }

 private:
  enum class State { kPreamble, kAfterDelimiter, kHeaders, kBody, kEpilogue };

  Status Process() {
    for (;;) {
      const std::string_view rest(buffer_.data() + pos_, buffer_.size() - pos_);
      switch (state_) {
        case State::kPreamble: {
          const size_t at = rest.find(delimiter_);
          if (at == std::string_view::npos) {
            // Keep what could be the start of a delimiter.
            pos_ += rest.size() - std::min(rest.size(), delimiter_.size() - 1);
            return absl::OkStatus();
          }
          pos_ += at + delimiter_.size();
          state_ = State::kAfterDelimiter;
          break;
        }
        case State::kAfterDelimiter: {
          if (rest.size() < 2) return absl::OkStatus();
          if (rest.substr(0, 2) == "--") {
            pos_ = buffer_.size();
            state_ = State::kEpilogue;
            break;
          }
          size_t i = 0;
          while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\t')) ++i;
          if (i > kMaxPaddingBytes) return Malformed("too much padding after a boundary");
          if (i + 1 >= rest.size()) return absl::OkStatus();  // need the line end
          if (rest[i] != '\r' || rest[i + 1] != '\n') {
            return Malformed("a boundary is followed by something other than a line end");
          }
          pos_ += i;  // the "\r\n" stays: the header block starts with it
          state_ = State::kHeaders;
          break;
        }
        case State::kHeaders: {
          // rest is "\r\n" header-lines "\r\n\r\n", or "\r\n\r\n" without headers.
          const size_t at = rest.find("\r\n\r\n");
          if (at == std::string_view::npos) {
            if (rest.size() > limits_.max_header_bytes + 4) return HeadersTooLong();
            return absl::OkStatus();
          }
          if (at > limits_.max_header_bytes + 2) return HeadersTooLong();
          const std::string_view block = at == 0 ? std::string_view() : rest.substr(2, at - 2);
          RETURN_IF_ERROR(StartPart(block));
          pos_ += at + 4;
          state_ = State::kBody;
          break;
        }
        case State::kBody: {
          const size_t at = rest.find(delimiter_);
          if (at == std::string_view::npos) {
            const size_t keep = std::min(rest.size(), delimiter_.size() - 1);
            RETURN_IF_ERROR(AppendToPart(rest.substr(0, rest.size() - keep)));
            pos_ += rest.size() - keep;
            return absl::OkStatus();
          }
          RETURN_IF_ERROR(AppendToPart(rest.substr(0, at)));
          RETURN_IF_ERROR(EndPart());
          pos_ += at + delimiter_.size();
          state_ = State::kAfterDelimiter;
          break;
        }
        case State::kEpilogue:
          pos_ = buffer_.size();
          return absl::OkStatus();
      }
    }
  }

  Status HeadersTooLong() const {
    return Malformed(StrCat("the headers of part ", parts_.size() + 1, " are over the limit of ",
                            limits_.max_header_bytes, " bytes"));
  }

  Status StartPart(std::string_view block) {
    if (parts_.size() >= limits_.max_parts) {
      return Malformed(StrCat("more than ", limits_.max_parts, " parts"));
    }
    const size_t number = parts_.size() + 1;
    part_ = MultipartPart{};
    std::optional<ParameterizedValue> disposition;
    bool have_type = false;
    while (!block.empty()) {
      const size_t eol = block.find("\r\n");
      const std::string_view line = block.substr(0, eol);
      block = eol == std::string_view::npos ? std::string_view() : block.substr(eol + 2);
      if (line.empty()) continue;
      if (line.front() == ' ' || line.front() == '\t') {
        return Malformed(StrCat("part ", number, " has a folded header line"));
      }
      const size_t colon = line.find(':');
      if (colon == std::string_view::npos) {
        return Malformed(StrCat("part ", number, " has a header line without ':'"));
      }
      const std::string_view name = Trim(line.substr(0, colon));
      const std::string_view value = Trim(line.substr(colon + 1));
      if (EqualsIgnoreCase(name, "content-disposition")) {
        if (disposition.has_value()) {
          return Malformed(StrCat("part ", number, " has two Content-Disposition headers"));
        }
        ASSIGN_OR_RETURN(disposition, ParseParameterized(value, "Content-Disposition"));
      } else if (EqualsIgnoreCase(name, "content-type")) {
        if (have_type) return Malformed(StrCat("part ", number, " has two Content-Type headers"));
        have_type = true;
        part_.content_type = std::string(value);
      }
    }
    if (!disposition.has_value()) {
      return Malformed(StrCat("part ", number, " has no Content-Disposition header"));
    }
    if (disposition->value != "form-data") {
      return Malformed(StrCat("part ", number, " is not Content-Disposition: form-data"));
    }
    const std::string* name = disposition->Find("name");
    if (name == nullptr) return Malformed(StrCat("part ", number, " has no name"));
    // Field names are matched and echoed in replies: they must be text.
    if (!IsValidUtf8(*name)) {
      return Malformed(StrCat("part ", number, ": the field name is not valid UTF-8"));
    }
    part_.name = *name;
    // filename* (RFC 5987) wins over filename; either one makes the part a file.
    const std::string* ext = disposition->Find("filename*");
    const std::string* plain = disposition->Find("filename");
    part_.is_file = ext != nullptr || plain != nullptr;
    std::optional<std::string> decoded;
    if (ext != nullptr) {
      ASSIGN_OR_RETURN(decoded, DecodeExtValue(*ext));
    }
    if (decoded.has_value()) {
      part_.filename = std::move(*decoded);
    } else if (plain != nullptr) {
      part_.filename = *plain;
    }
    if (part_.is_file) {
      std::string pattern = (tmp_dir_ / "multipart-XXXXXX").string();
      file_.reset(::mkstemp(pattern.data()));
      if (!file_.valid()) {
        return absl::InternalError(StrCat("cannot create a temporary file in ", tmp_dir_.string(),
                                          ": ", std::string_view(std::strerror(errno))));
      }
      part_.file = pattern;
      files_.Add(part_.file);
    }
    return absl::OkStatus();
  }

  Status AppendToPart(std::string_view data) {
    if (data.empty()) return absl::OkStatus();
    part_.size += data.size();
    if (!part_.is_file) {
      if (part_.value.size() + data.size() > limits_.max_field_bytes) {
        return Malformed(StrCat("field '", part_.name, "' is over the limit of ",
                                limits_.max_field_bytes, " bytes"));
      }
      part_.value.append(data);
      return absl::OkStatus();
    }
    while (!data.empty()) {
      const ssize_t n = ::write(file_.get(), data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return absl::InternalError(
            StrCat("writing ", part_.file.string(), ": ", std::string_view(std::strerror(errno))));
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }

  Status EndPart() {
    if (const int err = file_.Close(); part_.is_file && err != 0) {
      return absl::InternalError(
          StrCat("closing ", part_.file.string(), ": ", std::string_view(std::strerror(err))));
    }
    parts_.push_back(std::move(part_));
    part_ = MultipartPart{};
    return absl::OkStatus();
  }

  const std::string delimiter_;
  const fs::path tmp_dir_;
  const MultipartLimits limits_;
  State state_ = State::kPreamble;
  std::string buffer_;  // bytes not yet consumed start at pos_
  size_t pos_ = 0;
  MultipartPart part_;  // the part being read
  UniqueFd file_;       // its temporary file
  std::vector<MultipartPart> parts_;
  MultipartTempFiles files_;  // removes every file unless Finish() succeeds
};

size_t ChunkBytes(const MultipartLimits& limits) { return std::max<size_t>(limits.chunk_bytes, 1); }

}  // namespace

StatusOr<std::string> MultipartBoundary(std::string_view content_type) {
  ASSIGN_OR_RETURN(ParameterizedValue value, ParseParameterized(content_type, "Content-Type"));
  if (value.value != "multipart/form-data") {
    return absl::InvalidArgumentError(
        StrCat("expected Content-Type multipart/form-data, got '", value.value, "'"));
  }
  const std::string* boundary = value.Find("boundary");
  if (boundary == nullptr) {
    return absl::InvalidArgumentError("Content-Type multipart/form-data has no boundary");
  }
  RETURN_IF_ERROR(CheckBoundary(*boundary));
  return *boundary;
}

StatusOr<std::vector<MultipartPart>> ParseMultipartString(std::string_view body,
                                                          std::string_view boundary,
                                                          const fs::path& tmp_dir,
                                                          const MultipartLimits& limits) {
  RETURN_IF_ERROR(CheckBoundary(boundary));
  Parser parser(boundary, tmp_dir, limits);
  const size_t chunk = ChunkBytes(limits);
  for (size_t at = 0; at < body.size(); at += chunk) {
    RETURN_IF_ERROR(parser.Feed(body.substr(at, chunk)));
  }
  return parser.Finish();
}

StatusOr<std::vector<MultipartPart>> ParseMultipartFile(const fs::path& body,
                                                        std::string_view boundary,
                                                        const fs::path& tmp_dir,
                                                        const MultipartLimits& limits) {
  RETURN_IF_ERROR(CheckBoundary(boundary));
  const int fd = ::open(body.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    const std::string message =
        StrCat("cannot open ", body.string(), ": ", std::string_view(std::strerror(err)));
    if (err == ENOENT || err == ENOTDIR) return absl::NotFoundError(message);
    return absl::InternalError(message);
  }
  const UniqueFd closer(fd);
  Parser parser(boundary, tmp_dir, limits);
  std::string buffer(ChunkBytes(limits), '\0');
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(
          StrCat("reading ", body.string(), ": ", std::string_view(std::strerror(errno))));
    }
    if (n == 0) break;
    RETURN_IF_ERROR(parser.Feed(std::string_view(buffer.data(), static_cast<size_t>(n))));
  }
  return parser.Finish();
}

MultipartTempFiles::MultipartTempFiles(const std::vector<MultipartPart>& parts) {
  for (const MultipartPart& part : parts) {
    if (!part.file.empty()) files_.push_back(part.file);
  }
}

MultipartTempFiles::MultipartTempFiles(MultipartTempFiles&& other) noexcept
    : files_(std::move(other.files_)) {
  other.files_.clear();
}

MultipartTempFiles& MultipartTempFiles::operator=(MultipartTempFiles&& other) noexcept {
  if (this != &other) {
    RemoveAll();
    files_ = std::move(other.files_);
    other.files_.clear();
  }
  return *this;
}

MultipartTempFiles::~MultipartTempFiles() { RemoveAll(); }

void MultipartTempFiles::Add(fs::path file) { files_.push_back(std::move(file)); }

void MultipartTempFiles::Release() { files_.clear(); }

void MultipartTempFiles::RemoveAll() {
  for (const fs::path& file : files_) {
    std::error_code ec;
    fs::remove(file, ec);
  }
  files_.clear();
}

}  // namespace infera
