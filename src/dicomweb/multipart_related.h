// multipart/related (RFC 2387 over RFC 2046) as DICOMweb uses it: WADO-RS answers a
// retrieve with one part per instance (Content-Type: application/dicom), and STOW-RS
// takes the instances to store the same way.
//
// ParseMultipartRelated reads a whole body held in memory: the boundary comes from the
// Content-Type's `boundary` parameter (quoted or not); the preamble before the first
// delimiter and the epilogue after the closing one are ignored; each part's headers are
// read (names lower-case) and its content is the bytes up to the CRLF before the next
// delimiter — bytes that merely look like a delimiter inside a part are data unless the
// whole "\r\n--boundary" follows. Errors: InvalidArgument naming what is wrong (not
// multipart/related, no boundary, no opening delimiter, a truncated part or no closing
// delimiter, malformed part headers, more than `max_parts` parts).
//
// BuildMultipartRelated writes a body of `parts` each with Content-Type `part_type`;
// the caller chooses a boundary that none of the parts contains (NewBoundary makes a
// random one, checked against the parts).
//
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace infera {

struct RelatedPart {
  std::map<std::string, std::string> headers;  // names lower-case
  std::string content_type;                    // its Content-Type header ("" when none)
  std::string body;
};

// The value of parameter `name` (case-insensitive) of a header value such as
// `multipart/related; type="application/dicom"; boundary=abc` ("" when absent).
std::string HeaderParameter(std::string_view header_value, std::string_view name);
// The media type of a Content-Type value, lower-case, without parameters.
std::string MediaType(std::string_view content_type);

StatusOr<std::vector<RelatedPart>> ParseMultipartRelated(std::string_view content_type,
                                                         std::string_view body,
                                                         size_t max_parts = 100000);

// A boundary of 32 random alphanumeric characters found in none of `parts`.
std::string NewBoundary(const std::vector<std::string_view>& parts);
std::string BuildMultipartRelated(const std::vector<std::string_view>& parts,
                                  std::string_view part_type, std::string_view boundary);

}  // namespace infera
