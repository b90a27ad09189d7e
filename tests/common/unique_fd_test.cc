#include "common/unique_fd.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <type_traits>
#include <utility>

namespace infera {
namespace {

bool IsOpen(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

// A fresh descriptor (the read end of a pipe; the write end is closed at once).
int OpenFd() {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  ::close(fds[1]);
  return fds[0];
}

static_assert(!std::is_copy_constructible_v<UniqueFd>);
static_assert(!std::is_copy_assignable_v<UniqueFd>);
static_assert(std::is_nothrow_move_constructible_v<UniqueFd>);
static_assert(std::is_nothrow_move_assignable_v<UniqueFd>);

TEST(UniqueFdTest, ClosesOnDestruction) {
  const int fd = OpenFd();
  {
    UniqueFd owner(fd);
    EXPECT_TRUE(owner.valid());
    EXPECT_EQ(owner.get(), fd);
    EXPECT_TRUE(IsOpen(fd));
  }
  EXPECT_FALSE(IsOpen(fd));
}

TEST(UniqueFdTest, DefaultHoldsNothing) {
  UniqueFd owner;
  EXPECT_FALSE(owner.valid());
  EXPECT_EQ(owner.get(), -1);
  EXPECT_EQ(owner.release(), -1);
  EXPECT_EQ(owner.Close(), 0);
}

TEST(UniqueFdTest, ReleaseGivesUpOwnershipWithoutClosing) {
  const int fd = OpenFd();
  {
    UniqueFd owner(fd);
    EXPECT_EQ(owner.release(), fd);
    EXPECT_FALSE(owner.valid());
  }
  EXPECT_TRUE(IsOpen(fd));
  ::close(fd);
}

TEST(UniqueFdTest, ResetClosesTheOldDescriptorAndTakesTheNew) {
  const int first = OpenFd();
  const int second = OpenFd();
  UniqueFd owner(first);
  owner.reset(second);
  EXPECT_FALSE(IsOpen(first));
  EXPECT_TRUE(IsOpen(second));
  EXPECT_EQ(owner.get(), second);
  owner.reset(second);  // the same descriptor again: kept open
  EXPECT_TRUE(IsOpen(second));
  owner.reset();
  EXPECT_FALSE(IsOpen(second));
  EXPECT_FALSE(owner.valid());
}

TEST(UniqueFdTest, MovesTransferOwnership) {
  const int first = OpenFd();
  const int second = OpenFd();
  UniqueFd a(first);
  UniqueFd b(std::move(a));
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(b.get(), first);
  UniqueFd c(second);
  c = std::move(b);  // closes `second`, takes `first`
  EXPECT_FALSE(IsOpen(second));
  EXPECT_EQ(c.get(), first);
  EXPECT_TRUE(IsOpen(first));
}

TEST(UniqueFdTest, CloseReportsErrorsAndEmpties) {
  const int fd = OpenFd();
  UniqueFd owner(fd);
  EXPECT_EQ(owner.Close(), 0);
  EXPECT_FALSE(owner.valid());
  EXPECT_FALSE(IsOpen(fd));
  UniqueFd stale(fd);  // already closed: close() fails with EBADF
  EXPECT_EQ(stale.Close(), EBADF);
  EXPECT_FALSE(stale.valid());
}

}  // namespace
}  // namespace infera
