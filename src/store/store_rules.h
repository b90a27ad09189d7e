// The rules every Store implementation applies the same way (sqlite_store.cc,
// postgres_store.cc), so that both pass one conformance suite: which file records are
// well formed, how a clashing source filename is made unique, lease arithmetic and the
// wording of NotFound. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"
#include "store/store.h"

namespace infera {

// An output kind: a name of letters, digits, '_' and '-' (it becomes a JSON key
// "<kind>_id" and part of file names), not "source".
bool IsOutputKind(std::string_view kind);

// Checks a file record before it is written: a source file of a dataset, or an output
// of a job (`job_id` may still be 0 for outputs passed to AddJobResult).
// InvalidArgument naming what is wrong.
Status ValidateFile(const FileRecord& f, bool output_of_result);

// Checks a job-level file before Store::AddJobFile writes it: an output of job `job_id`
// (> 0), as ValidateFile, with no result_id. InvalidArgument naming what is wrong.
Status ValidateJobFile(const FileRecord& f);
// AlreadyExists "job <id> already has a <role> file '<filename>'".
Status JobFileExistsError(const FileRecord& f);

// "a.png" -> {"a", ".png"}; "archive.tar.gz" -> {"archive.tar", ".gz"}; "README",
// ".bashrc" and "a." have no extension.
std::pair<std::string_view, std::string_view> SplitExtension(std::string_view name);

// The n of a name "<stem>_<n><ext>" (n a decimal without leading zeros), else 0.
int64_t NumberedSuffix(std::string_view name, std::string_view stem, std::string_view ext);

// "<stem>_<n><ext>" for the smallest n >= 1 not in `used`.
std::string FirstFreeNumberedName(std::string_view name, const std::set<int64_t>& used);

// NotFound "<kind> <id> not found".
Status NotFoundError(std::string_view kind, int64_t id);

// now + lease_ms; InvalidArgument unless lease_ms > 0 (and the sum fits).
StatusOr<int64_t> LeaseEnd(int64_t now, int64_t lease_ms);

// The arguments of JobQueue::UpdateJobProgress: 0 <= done <= total and a report that is a
// JSON object. InvalidArgument naming what is wrong.
Status ValidateJobProgress(int64_t done, int64_t total, const std::string& report_json);

}  // namespace infera
