// Ownership rules shared by the front ends: owners and admins see a record, anyone else
// gets the same NotFound as for an unknown id; without auth (no principal) all is open.
#include "serving/ownership.h"

#include <gtest/gtest.h>

#include "store/sqlite_store.h"
#include "support/test_env.h"

namespace infera {
namespace {

Principal User(int64_t id, Role role = Role::kUser) {
  Principal p;
  p.user_id = id;
  p.username = "u" + std::to_string(id);
  p.role = role;
  return p;
}

TEST(OwnershipTest, OwnersAndAdminsSeeARecordOthersGetTheUnknownIdAnswer) {
  testing::TempDir dir;
  StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(dir.path() / "infera.db");
  ASSERT_TRUE(store.ok()) << store.status();
  DatasetRecord d;
  d.name = "cells";
  d.owner_id = 7;
  StatusOr<DatasetRecord> created = (*store)->CreateDataset(d);
  ASSERT_TRUE(created.ok()) << created.status();
  const int64_t id = created->id;

  EXPECT_TRUE(VisibleDataset(**store, User(7), id).ok());
  EXPECT_TRUE(VisibleDataset(**store, User(1, Role::kAdmin), id).ok());
  EXPECT_TRUE(VisibleDataset(**store, std::nullopt, id).ok());  // auth off
  StatusOr<DatasetRecord> other = VisibleDataset(**store, User(8), id);
  StatusOr<DatasetRecord> unknown = VisibleDataset(**store, User(8), id + 100);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(other.status().message(), "dataset " + std::to_string(id) + " not found");
  EXPECT_TRUE(CheckVisible(User(7), 7, "inference", 3).ok());
  EXPECT_TRUE(CheckVisible(User(1, Role::kAdmin), 7, "inference", 3).ok());
  EXPECT_TRUE(CheckVisible(std::nullopt, 7, "inference", 3).ok());
  EXPECT_EQ(CheckVisible(User(8), 7, "inference", 3).message(), "inference 3 not found");
  EXPECT_EQ(VisibleFile(**store, User(8), 999).status().code(), absl::StatusCode::kNotFound);
}

TEST(OwnershipTest, CallerIdAndOwnerFilter) {
  EXPECT_EQ(CallerId(std::nullopt), 0);
  EXPECT_EQ(CallerId(User(5)), 5);
  EXPECT_EQ(OwnerFilter(std::nullopt), std::nullopt);
  EXPECT_EQ(OwnerFilter(User(5, Role::kAdmin)), std::nullopt);
  EXPECT_EQ(OwnerFilter(User(5)), std::optional<int64_t>(5));
}

}  // namespace
}  // namespace infera
