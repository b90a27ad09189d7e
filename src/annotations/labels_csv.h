// labels.csv: one class per image as text, the format `infera train` reads for classify
// models and the import/export format (`labels_csv`) of image_labels annotation sets.
//
//   file,label          <- an optional header: a first line whose first field is "file"
//   a.png,cat
//   "b, 2.png",dog      <- RFC 4180 quoting for names with commas, quotes or line breaks
//
// One line per image: the image's file name (matched as import_types' ImageMatcher does:
// exactly, or by its last path component) and the label's name. Blank lines are skipped;
// \r\n and \n both end a line; a UTF-8 byte order mark is skipped. The functions are
// pure and thread-safe; a LabelsCsvResolver is one reader's state (not thread-safe).
//
// Both readers go through LabelsCsvResolver: the server's import of an image_labels set
// (api/routes/api_image_labels.cc) and `infera train` for classify models (cli/train.cc).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
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

// An image a row may name, as the caller's lookup finds it: its id (the caller's) and the
// name refusals show.
struct LabelsCsvImage {
  int64_t id = 0;
  std::string name;
};

// A row resolved: the image and the class (the caller's ids) it names.
struct LabelsCsvAssignment {
  std::string source;  // "<source>:<line>"
  int64_t image = 0;
  int64_t label = 0;
};

// A refused row ("<source>:<line>") or file ("<source>"), why, and the status code of
// the lookup that refused it (kInvalidArgument for the parser's and duplicates).
struct LabelsCsvRejection {
  std::string source;
  std::string reason;
  absl::StatusCode code = absl::StatusCode::kInvalidArgument;
};

// Reads one or more labels CSV files (e.g. the parts of one upload) into image -> class
// assignments with the caller's lookups. Refused, one by one and in order, after the
// file's malformed lines (ParseLabelsCsv's refusals): a row whose image or class the
// lookup does not find (the lookup's message is the reason, its code the code), and a
// row for an image an earlier row of any file already labels ("<source>:<line> already
// labels <name>", naming the earlier row). A file that is not text is refused whole.
class LabelsCsvResolver {
 public:
  // Each returns what the row names, or an error whose message says why not.
  using ImageLookup = std::function<StatusOr<LabelsCsvImage>(std::string_view file)>;
  using LabelLookup = std::function<StatusOr<int64_t>(std::string_view label)>;

  LabelsCsvResolver(ImageLookup find_image, LabelLookup find_label);

  // Parses `text` and resolves its rows; `source` names the file in sources.
  void Add(std::string_view source, std::string_view text);
  // Records a file the caller could not read (kept in order with the rows' refusals).
  void RefuseFile(std::string_view source, std::string_view reason);

  const std::vector<LabelsCsvAssignment>& assigned() const { return assigned_; }
  const std::vector<LabelsCsvRejection>& refused() const { return refused_; }

 private:
  ImageLookup find_image_;
  LabelLookup find_label_;
  std::vector<LabelsCsvAssignment> assigned_;
  std::vector<LabelsCsvRejection> refused_;
  std::map<int64_t, std::string> taken_;  // image id -> the source of the row labelling it
};

// One line "file,label\n", each field quoted when it holds a comma, a quote, a line break
// or leading/trailing spaces.
std::string LabelsCsvLine(std::string_view file, std::string_view label);

}  // namespace infera
