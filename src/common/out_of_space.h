// Out of space: a write refused because the disk (or the user's quota) is full — ENOSPC
// or EDQUOT from a file write, SQLITE_FULL from the database. It is Unavailable (the
// server's state, not the request's fault, and it passes once space is freed) and
// carries a payload that says so, so that callers far from the write can tell it from
// other failures: the HTTP layer answers 507 Insufficient Storage with a clear JSON
// error, a job stops instead of recording an error for every image.
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include "common/status.h"

namespace infera {

// An Unavailable status marked as out of space; `message` says what was being written.
Status OutOfSpaceError(std::string_view message);

// Whether `status` is (or was rewrapped from) OutOfSpaceError: the mark, or — for
// statuses rebuilt from a message — the system's words "No space left on device" /
// "Disk quota exceeded" / SQLite's "database or disk is full".
bool IsOutOfSpace(const Status& status);

// Whether an errno value means out of space (ENOSPC, EDQUOT).
bool IsOutOfSpaceErrno(int err);

}  // namespace infera
