#include "api/http_status.h"

#include <gtest/gtest.h>

#include "common/out_of_space.h"

namespace infera {
namespace {

TEST(HttpStatusTest, OutOfSpaceIs507WithAClearJsonError) {
  const Status full = OutOfSpaceError("write blobs/ab/cd/x: No space left on device");
  EXPECT_EQ(HttpStatusFor(full), 507);
  const HttpResponse r = StatusResponse(full);
  EXPECT_EQ(r.status, 507);
  EXPECT_NE(r.body.find("\"error\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("storage is full"), std::string::npos) << r.body;
  // A rewrapped SQLite error (an Internal with SQLite's words) is no 500 either.
  EXPECT_EQ(HttpStatusFor(absl::InternalError("commit: database or disk is full (sqlite 13)")),
            507);
  EXPECT_EQ(HttpStatusFor(absl::UnavailableError("busy")), 503);
  EXPECT_EQ(HttpStatusFor(absl::InternalError("boom")), 500);
}

}  // namespace
}  // namespace infera
