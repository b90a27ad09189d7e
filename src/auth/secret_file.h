// The server's signing secret kept in a file: loaded when the file exists, generated
// (64 random bytes, hex-encoded: 128 characters) when it does not. There is no built-in
// default secret anywhere.
//
// Loading refuses (FailedPrecondition, with a message saying what to fix) a file that:
//   - is not a regular file (symbolic links to one are followed, as for mounted
//     secrets);
//   - grants any permission to group or others (mode & 077 != 0): chmod 600 it;
//   - holds fewer than kMinSecretBytes bytes or more than kMaxSecretFileBytes after
//     trailing ASCII whitespace (a final newline from an editor or `echo`) is removed.
// The mode is checked on the opened descriptor (fstat), so the file checked is the file
// read. The owner is not checked (a root-owned 0600 secret is fine for a root server).
//
// Creation is atomic: the secret is written to a fresh 0600 temporary file in the same
// folder (fchmod'ed, so the umask cannot widen or narrow it), fsynced, then published
// with link(2), which fails if the name exists; the folder is then fsynced. Whichever
// process links first wins and every racing process reads the winner's file, so a
// concurrent start never sees a half-written secret and all processes share one
// secret. The temporary is always removed (a crash may leave a "<name>.tmp.*" file
// behind: 0600, harmless, deletable). The folder must exist (NotFound otherwise) and
// be on a filesystem with hard links.
//
// Thread-safety: reentrant; concurrent calls (threads or processes) for one path are
// safe and return the same secret. Errors: FailedPrecondition as above, NotFound for
// a missing folder, Internal with the path and errno text for other I/O failures.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "common/status.h"

namespace infera {

inline constexpr size_t kMinSecretBytes = 32;
inline constexpr size_t kMaxSecretFileBytes = 4096;
// Random bytes in a generated secret (written as 2x as many hex characters).
inline constexpr size_t kGeneratedSecretBytes = 64;

// LoadSecret: the secret in the existing file `path` (see the checks above); NotFound
// when the file does not exist.
StatusOr<std::string> LoadSecret(const std::filesystem::path& path);

// LoadOrCreateSecret: LoadSecret(path), or when the file does not exist, a new secret
// generated and published at `path` as described above.
StatusOr<std::string> LoadOrCreateSecret(const std::filesystem::path& path);

// NewAuthSecret: a new secret as LoadOrCreateSecret makes one (kGeneratedSecretBytes
// random bytes, hex), for a secret kept elsewhere (a shared database).
StatusOr<std::string> NewAuthSecret();

}  // namespace infera
