// Private storage: the folders and files infera creates for its data (the store's
// database and its -wal/-shm files, blob folders, upload scratch space) are the
// server user's alone — folders 0700, files 0600 — whatever the process umask, since
// they hold other people's uploads, password hashes and token hashes.
//
// Only what these functions create gets the private mode: an existing folder or file
// keeps its own (an operator may have widened it on purpose).
// Errors: Internal with the path and the system's reason.
// Thread-safety: reentrant; creating the same path from two threads is safe (the loser
// finds it existing).
#pragma once

#include <filesystem>

#include "common/status.h"

namespace infera {

// Creates `dir` and its missing parents, each new one with mode 0700.
Status CreatePrivateDirectories(const std::filesystem::path& dir);

// Creates the empty file `path` with mode 0600 when it does not exist (so that a
// library that opens it later — SQLite, which gives its -wal and -shm files the mode of
// the database file — finds it private).
Status CreatePrivateFile(const std::filesystem::path& path);

}  // namespace infera
