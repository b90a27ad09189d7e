// Multipart: a streaming parser for multipart/form-data request bodies (RFC 7578 over
// RFC 2046), for bodies on disk (the HTTP server spools large uploads to a file) or in
// memory.
//
// The body is read in chunks of MultipartLimits::chunk_bytes and never held whole:
// every file part (a part whose Content-Disposition has a filename) is written to its
// own new temporary file in a folder the caller names; text fields (no filename) are
// kept in memory up to max_field_bytes each. Delimiters are found across chunk borders;
// bytes such as "\r\n--" inside a part are data unless the whole boundary follows.
//
// Ownership: on success the caller owns the temporary files of the file parts and must
// remove them (MultipartTempFiles does it on scope exit). On error every temporary file
// the parse created is already removed.
// Errors: InvalidArgument with a reason for every malformed body or passed limit (no
// opening or closing boundary, a truncated part, a part without a form-data
// Content-Disposition, without a name or with a name that is not valid UTF-8, part
// headers over the limit, too many parts, a field over the limit); NotFound when the body file does
// not exist; Internal when a temporary file cannot be written. Thread safety: the functions are
// reentrant; they share no state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace infera {

struct MultipartLimits {
  // Parts in the body (fields and files together).
  size_t max_parts = 1000;
  // Bytes of one text field's value (kept in memory).
  size_t max_field_bytes = 1 << 20;
  // Bytes of one part's header block (its header lines, not the content).
  size_t max_header_bytes = size_t{16} * 1024;
  // Bytes read (and searched) per step. Tests set it to a few bytes to split
  // boundaries across chunk borders.
  size_t chunk_bytes = size_t{64} * 1024;
};

struct MultipartPart {
  std::string name;            // the form field name (Content-Disposition name=)
  std::string filename;        // as sent (filename*=UTF-8'' preferred over filename=),
                               // possibly not UTF-8; empty for text fields. Never use
                               // it as a path or echo it unchecked.
  bool is_file = false;        // a filename parameter was present (even an empty one)
  std::string content_type;    // the part's Content-Type header, or "" when absent
  std::string value;           // text fields: the value; file parts: empty
  std::filesystem::path file;  // file parts: the temporary file with the content
  uint64_t size = 0;           // bytes of content (value or file)
};

// MultipartBoundary returns the boundary parameter of a multipart/form-data
// Content-Type value (type and parameter names case-insensitive, the value quoted or
// not). InvalidArgument when the type is not multipart/form-data or the boundary is
// missing or not 1..70 characters of RFC 2046's bchars.
StatusOr<std::string> MultipartBoundary(std::string_view content_type);

// ParseMultipartFile parses the body stored in the file `body`; file parts go to new
// temporary files in `tmp_dir` (which must exist). Parts are returned in body order.
StatusOr<std::vector<MultipartPart>> ParseMultipartFile(const std::filesystem::path& body,
                                                        std::string_view boundary,
                                                        const std::filesystem::path& tmp_dir,
                                                        const MultipartLimits& limits);

// ParseMultipartString parses a body held in memory, exactly as ParseMultipartFile.
StatusOr<std::vector<MultipartPart>> ParseMultipartString(std::string_view body,
                                                          std::string_view boundary,
                                                          const std::filesystem::path& tmp_dir,
                                                          const MultipartLimits& limits);

// MultipartTempFiles removes the temporary files of the given parts when it goes out of
// scope, unless Release() was called. Not thread-safe; move-only.
//   ASSIGN_OR_RETURN(std::vector<MultipartPart> parts, ParseMultipartFile(...));
//   MultipartTempFiles cleanup(parts);
class MultipartTempFiles {
 public:
  MultipartTempFiles() = default;
  explicit MultipartTempFiles(const std::vector<MultipartPart>& parts);
  MultipartTempFiles(MultipartTempFiles&& other) noexcept;
  MultipartTempFiles& operator=(MultipartTempFiles&& other) noexcept;
  MultipartTempFiles(const MultipartTempFiles&) = delete;
  MultipartTempFiles& operator=(const MultipartTempFiles&) = delete;
  ~MultipartTempFiles();

  // Adds one more file to remove.
  void Add(std::filesystem::path file);
  // Forgets the files: the caller removes them (or keeps them) itself.
  void Release();
  // Removes the files now (missing ones are ignored).
  void RemoveAll();

 private:
  std::vector<std::filesystem::path> files_;
};

}  // namespace infera
