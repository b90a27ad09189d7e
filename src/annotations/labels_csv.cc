#include "annotations/labels_csv.h"

#include <utility>

#include "common/strings.h"
#include "common/utf8.h"

namespace infera {

namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

bool NeedsQuotes(std::string_view s) {
  if (s.empty()) return false;
  if (s.front() == ' ' || s.back() == ' ') return true;
  return s.find_first_of(",\"\r\n") != std::string_view::npos;
}

void AppendField(std::string* out, std::string_view field) {
  if (!NeedsQuotes(field)) {
    out->append(field);
    return;
  }
  out->push_back('"');
  for (char c : field) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

}  // namespace

StatusOr<LabelsCsv> ParseLabelsCsv(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  if (text.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError("a labels CSV is text; this holds NUL bytes");
  }
  if (!IsValidUtf8(text)) return absl::InvalidArgumentError("the labels CSV is not UTF-8");
  LabelsCsv out;
  size_t p = 0;
  int line = 1;
  bool first_record = true;
  while (p < text.size()) {
    const int start_line = line;
    std::vector<std::string> fields;
    std::string field;
    bool quoted_field = false;
    bool bad_quote = false;
    // One record: fields until an unquoted line break or the end.
    while (true) {
      if (p < text.size() && text[p] == '"' && field.empty() && !quoted_field) {
        quoted_field = true;
        ++p;
        bool closed = false;
        while (p < text.size()) {
          if (text[p] == '"') {
            if (p + 1 < text.size() && text[p + 1] == '"') {
              field.push_back('"');
              p += 2;
              continue;
            }
            ++p;
            closed = true;
            break;
          }
          if (text[p] == '\n') ++line;
          field.push_back(text[p++]);
        }
        if (!closed) bad_quote = true;
        // Spaces may follow the closing quote; anything else is a malformed field.
        while (p < text.size() && (text[p] == ' ' || text[p] == '\t')) ++p;
        if (p < text.size() && text[p] != ',' && text[p] != '\n' && text[p] != '\r') {
          bad_quote = true;
          while (p < text.size() && text[p] != ',' && text[p] != '\n') ++p;
        }
        continue;
      }
      if (p >= text.size() || text[p] == '\n' || text[p] == '\r' || text[p] == ',') {
        fields.push_back(quoted_field ? field : Trim(field));
        field.clear();
        quoted_field = false;
        if (p < text.size() && text[p] == ',') {
          ++p;
          continue;
        }
        if (p < text.size() && text[p] == '\r') ++p;
        if (p < text.size() && text[p] == '\n') ++p;
        ++line;
        break;
      }
      field.push_back(text[p++]);
    }
    if (fields.size() == 1 && fields[0].empty() && !bad_quote) continue;  // a blank line
    const bool header = first_record && !fields.empty() && fields[0] == "file";
    first_record = false;
    if (header) continue;
    if (bad_quote) {
      out.refused.push_back({start_line, "a quoted field is not closed properly"});
      continue;
    }
    if (fields.size() != 2) {
      out.refused.push_back(
          {start_line, StrCat("expected 2 fields (file,label), found ", fields.size())});
      continue;
    }
    if (fields[0].empty() || fields[1].empty()) {
      out.refused.push_back(
          {start_line, fields[0].empty() ? "the file name is empty" : "the label is empty"});
      continue;
    }
    out.rows.push_back({start_line, std::move(fields[0]), std::move(fields[1])});
  }
  return out;
}

LabelsCsvResolver::LabelsCsvResolver(ImageLookup find_image, LabelLookup find_label)
    : find_image_(std::move(find_image)), find_label_(std::move(find_label)) {}

void LabelsCsvResolver::RefuseFile(std::string_view source, std::string_view reason) {
  refused_.push_back({std::string(source), std::string(reason)});
}

void LabelsCsvResolver::Add(std::string_view source, std::string_view text) {
  StatusOr<LabelsCsv> csv = ParseLabelsCsv(text);
  if (!csv.ok()) {
    RefuseFile(source, ToStd(csv.status().message()));
    return;
  }
  for (const LabelsCsvRefusal& r : csv->refused) {
    refused_.push_back({StrCat(source, ":", r.line), r.reason});
  }
  for (const LabelsCsvRow& row : csv->rows) {
    std::string where = StrCat(source, ":", row.line);
    StatusOr<LabelsCsvImage> image = find_image_(row.file);
    if (!image.ok()) {
      refused_.push_back(
          {std::move(where), std::string(ToStd(image.status().message())), image.status().code()});
      continue;
    }
    StatusOr<int64_t> label = find_label_(row.label);
    if (!label.ok()) {
      refused_.push_back(
          {std::move(where), std::string(ToStd(label.status().message())), label.status().code()});
      continue;
    }
    auto [it, fresh] = taken_.emplace(image->id, where);
    if (!fresh) {
      refused_.push_back({std::move(where), StrCat(it->second, " already labels ", image->name)});
      continue;
    }
    assigned_.push_back({std::move(where), image->id, *label});
  }
}

std::string LabelsCsvLine(std::string_view file, std::string_view label) {
  std::string out;
  AppendField(&out, file);
  out.push_back(',');
  AppendField(&out, label);
  out.push_back('\n');
  return out;
}

}  // namespace infera
