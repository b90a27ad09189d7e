#include "common/unique_fd.h"

#include <unistd.h>

#include <cerrno>

namespace infera {

void UniqueFd::reset(int fd) {
  const int old = fd_;
  fd_ = fd;
  if (old >= 0 && old != fd) ::close(old);
}

int UniqueFd::Close() {
  const int fd = release();
  if (fd < 0) return 0;
  return ::close(fd) == 0 ? 0 : errno;
}

}  // namespace infera
