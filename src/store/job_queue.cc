#include "store/job_queue.h"

#include "common/strings.h"

namespace infera {

std::string_view JobStatusName(JobStatus status) {
  switch (status) {
    case JobStatus::kQueued:
      return "queued";
    case JobStatus::kRunning:
      return "running";
    case JobStatus::kCompleted:
      return "completed";
    case JobStatus::kFailed:
      return "failed";
    case JobStatus::kCanceled:
      return "canceled";
  }
  return "unknown";
}

StatusOr<JobStatus> ParseJobStatus(std::string_view name) {
  for (JobStatus s : {JobStatus::kQueued, JobStatus::kRunning, JobStatus::kCompleted,
                      JobStatus::kFailed, JobStatus::kCanceled}) {
    if (JobStatusName(s) == name) return s;
  }
  return absl::InvalidArgumentError(StrCat(
      "unknown job status '", name, "' (expected queued, running, completed, failed or canceled)"));
}

}  // namespace infera
