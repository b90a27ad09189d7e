// labels.csv: one class per image as text, the format `infera train` reads for classify
// models and the import/export format (`labels_csv`) of image_labels annotation sets.
//
//   file,label          <- an optional header: a first line whose first field is "file"
//   a.png,cat
//   "b, 2.png",dog      <- RFC 4180 quoting for names with commas, quotes or line breaks
//
// One line per image: the image's file name (matched as import_types' ImageMatcher does:
// exactly, or by its last path component) and the label's name. Blank lines are skipped;
// \r\n and \n both end a line; a UTF-8 byte order mark is skipped. Pure functions;
// thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace infera {

struct LabelsCsvRow {
  int line = 0;  // 1-based line number in the file
  std::string file;
  std::string label;
};

struct LabelsCsvRefusal {
  int line = 0;
  std::string reason;
};

struct LabelsCsv {
  std::vector<LabelsCsvRow> rows;
  std::vector<LabelsCsvRefusal> refused;  // lines that are not "file,label"
};

// Parses the text: a line with other than two fields, an empty file or label name, or an
// unterminated quote is refused with its line number; the rest are rows, in order.
// InvalidArgument only for text that is not UTF-8 or holds NUL bytes.
StatusOr<LabelsCsv> ParseLabelsCsv(std::string_view text);

// One line "file,label\n", each field quoted when it holds a comma, a quote, a line break
// or leading/trailing spaces.
std::string LabelsCsvLine(std::string_view file, std::string_view label);

}  // namespace infera
