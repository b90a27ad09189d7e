#include "store/store_rules.h"

#include <limits>
#include <nlohmann/json.hpp>

#include "common/sha256.h"
#include "common/strings.h"

namespace infera {

// An output kind: a name of letters, digits, '_' and '-' (it becomes a JSON key
// "<kind>_id" and part of file names), not "source".
bool IsOutputKind(std::string_view kind) {
  if (kind.empty() || kind.size() > 64 || kind == "source") return false;
  for (char c : kind) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Checks a file record before it is written: a source file of a dataset, or an output
// of a job (`job_id` may still be 0 for outputs passed to AddJobResult).
Status ValidateFile(const FileRecord& f, bool output_of_result) {
  const bool source = f.role == "source";
  if (!source && !IsOutputKind(f.role)) {
    return absl::InvalidArgumentError(
        StrCat("file role '", f.role,
               "' is neither 'source' nor an output kind (letters, digits, '_', '-')"));
  }
  if (output_of_result && source) {
    return absl::InvalidArgumentError("a job's output file cannot have role 'source'");
  }
  if (f.filename.empty()) return absl::InvalidArgumentError("file has an empty filename");
  if (!IsSha256Hex(f.sha256)) {
    return absl::InvalidArgumentError(StrCat("file '", f.filename,
                                             "' has a sha256 that is not 64 lower-case hex "
                                             "digits: '",
                                             f.sha256, "'"));
  }
  if (f.size < 0) {
    return absl::InvalidArgumentError(StrCat("file '", f.filename, "' has a negative size"));
  }
  if (source && (f.dataset_id <= 0 || f.job_id != 0)) {
    return absl::InvalidArgumentError(
        StrCat("source file '", f.filename, "' needs a dataset_id and no job_id"));
  }
  if (!source && f.dataset_id != 0) {
    return absl::InvalidArgumentError(
        StrCat("output file '", f.filename, "' must not have a dataset_id"));
  }
  if (!source && !output_of_result && f.job_id <= 0) {
    return absl::InvalidArgumentError(StrCat("output file '", f.filename, "' needs a job_id"));
  }
  return absl::OkStatus();
}

Status ValidateJobFile(const FileRecord& f) {
  if (f.role == "source") {
    return absl::InvalidArgumentError("a job's file cannot have role 'source'");
  }
  RETURN_IF_ERROR(ValidateFile(f, /*output_of_result=*/false));
  if (f.result_id != 0) {
    return absl::InvalidArgumentError(
        StrCat("job-level file '", f.filename, "' must not name a result"));
  }
  return absl::OkStatus();
}

Status JobFileExistsError(const FileRecord& f) {
  return absl::AlreadyExistsError(
      StrCat("job ", f.job_id, " already has a ", f.role, " file '", f.filename, "'"));
}

// "a.png" -> {"a", ".png"}; "archive.tar.gz" -> {"archive.tar", ".gz"}; "README",
// ".bashrc" and "a." have no extension.
std::pair<std::string_view, std::string_view> SplitExtension(std::string_view name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) return {name, ""};
  return {name.substr(0, dot), name.substr(dot)};
}

// The n of a name "<stem>_<n><ext>" (n a decimal without leading zeros), else 0.
int64_t NumberedSuffix(std::string_view name, std::string_view stem, std::string_view ext) {
  if (name.size() <= stem.size() + 1 + ext.size()) return 0;
  if (!name.starts_with(stem) || name[stem.size()] != '_' || !name.ends_with(ext)) return 0;
  const std::string_view digits =
      name.substr(stem.size() + 1, name.size() - stem.size() - 1 - ext.size());
  if (digits.empty() || digits.size() > 15 || digits[0] == '0') return 0;
  int64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + (c - '0');
  }
  return n;
}

Status NotFoundError(std::string_view kind, int64_t id) {
  return absl::NotFoundError(StrCat(kind, " ", id, " not found"));
}

std::string FirstFreeNumberedName(std::string_view name, const std::set<int64_t>& used) {
  const auto [stem, ext] = SplitExtension(name);
  int64_t n = 1;
  while (used.contains(n)) ++n;
  return StrCat(stem, "_", n, ext);
}

StatusOr<int64_t> LeaseEnd(int64_t now, int64_t lease_ms) {
  if (lease_ms <= 0 || now > std::numeric_limits<int64_t>::max() - lease_ms) {
    return absl::InvalidArgumentError(
        StrCat("lease must be a positive number of milliseconds, got ", lease_ms));
  }
  return now + lease_ms;
}

Status ValidateJobProgress(int64_t done, int64_t total, const std::string& report_json) {
  if (done < 0 || total < 0 || done > total) {
    return absl::InvalidArgumentError(
        StrCat("job progress needs 0 <= done <= total, got done ", done, " total ", total));
  }
  const nlohmann::json report = nlohmann::json::parse(report_json, nullptr, false);
  if (!report.is_object()) {
    return absl::InvalidArgumentError("a job's report must be a JSON object");
  }
  return absl::OkStatus();
}

}  // namespace infera
