#include "common/out_of_space.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace infera {
namespace {

TEST(OutOfSpaceTest, TheMarkSurvivesCopiesAndStatusOr) {
  const Status s = OutOfSpaceError("write /x: No space left on device");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(IsOutOfSpace(s));
  StatusOr<int> so = s;
  EXPECT_TRUE(IsOutOfSpace(so.status()));
  EXPECT_TRUE(IsOutOfSpace(OutOfSpaceError("the quota")));  // marked, whatever the words
}

TEST(OutOfSpaceTest, RewrappedMessagesAreRecognisedAndOthersAreNot) {
  EXPECT_TRUE(IsOutOfSpace(absl::InternalError("writing /tmp/m: No space left on device")));
  EXPECT_TRUE(IsOutOfSpace(absl::InternalError("write: Disk quota exceeded")));
  EXPECT_TRUE(IsOutOfSpace(absl::InternalError("step: database or disk is full (sqlite 13)")));
  EXPECT_FALSE(IsOutOfSpace(absl::UnavailableError("busy")));
  EXPECT_FALSE(IsOutOfSpace(absl::InternalError("Permission denied")));
  EXPECT_FALSE(IsOutOfSpace(Status()));
  EXPECT_TRUE(IsOutOfSpaceErrno(ENOSPC));
  EXPECT_TRUE(IsOutOfSpaceErrno(EDQUOT));
  EXPECT_FALSE(IsOutOfSpaceErrno(EIO));
}

}  // namespace
}  // namespace infera
