#include "common/out_of_space.h"

#include <cerrno>
#include <string>

#include "absl/strings/cord.h"
#include "common/strings.h"

namespace infera {

namespace {
constexpr char kPayload[] = "infera/out-of-space";
}  // namespace

Status OutOfSpaceError(std::string_view message) {
  Status status = absl::UnavailableError(std::string(message));
  status.SetPayload(kPayload, absl::Cord("1"));
  return status;
}

bool IsOutOfSpace(const Status& status) {
  if (status.ok()) return false;
  if (status.GetPayload(kPayload).has_value()) return true;
  const std::string_view message = ToStd(status.message());
  return message.find("No space left on device") != std::string_view::npos ||
         message.find("Disk quota exceeded") != std::string_view::npos ||
         message.find("database or disk is full") != std::string_view::npos;
}

bool IsOutOfSpaceErrno(int err) { return err == ENOSPC || err == EDQUOT; }

}  // namespace infera
