// The UserStore conformance suite (see user_store_conformance.h), instantiated here for
// the SQLite store: users (case-insensitive unique names, disable, password change
// revoking sessions), refresh-token rotation with reuse detection, API keys per user,
// and revoked access tokens with expiry purge. Written against the interface only.
#include "store/user_store_conformance.h"

#include <gtest/gtest.h>

#include "store/sqlite_user_store.h"

namespace infera::store_testing {

void UserStoreConformanceTest::SetUp() {
  ASSERT_OK_AND_ASSIGN(store_, GetParam().open(dir_.path(), [this] { return now_.load(); }));
}

UserRecord UserStoreConformanceTest::User(const std::string& name, const std::string& role) {
  UserRecord u;
  u.username = name;
  u.password_hash = "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA";
  u.role = role;
  StatusOr<UserRecord> created = store_->CreateUser(u);
  EXPECT_TRUE(created.ok()) << created.status();
  return created.ok() ? *created : UserRecord{};
}

RefreshTokenRecord UserStoreConformanceTest::Token(int64_t user, char hash,
                                                   const std::string& family, int64_t expires) {
  RefreshTokenRecord t;
  t.user_id = user;
  t.token_hash = Hex64(hash);
  t.family = family;
  t.expires_at = expires;
  return t;
}

namespace {

TEST_P(UserStoreConformanceTest, UsersAreUniqueCaseInsensitivelyAndFoundByName) {
  UserRecord alice = User("Alice", "admin");
  EXPECT_GT(alice.id, 0);
  EXPECT_EQ(alice.created_at, 1000);
  EXPECT_EQ(alice.role, "admin");
  UserRecord dup;
  dup.username = "alice";
  dup.password_hash = "x";
  EXPECT_EQ(StatusOf(store_->CreateUser(dup)).code(), absl::StatusCode::kAlreadyExists);
  ASSERT_OK_AND_ASSIGN(UserRecord found, store_->FindUser("ALICE"));
  EXPECT_EQ(found.id, alice.id);
  EXPECT_EQ(found.username, "Alice");
  EXPECT_EQ(StatusOf(store_->FindUser("bob")).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(StatusOf(store_->GetUser(999)).code(), absl::StatusCode::kNotFound);
  UserRecord bad;
  bad.username = "carol";
  bad.password_hash = "x";
  bad.role = "root";
  EXPECT_EQ(StatusOf(store_->CreateUser(bad)).code(), absl::StatusCode::kInvalidArgument);
  bad.role = "user";
  bad.username = "";
  EXPECT_EQ(StatusOf(store_->CreateUser(bad)).code(), absl::StatusCode::kInvalidArgument);
  User("bob");
  ASSERT_OK_AND_ASSIGN(int64_t count, store_->CountUsers());
  EXPECT_EQ(count, 2);
  ASSERT_OK_AND_ASSIGN(std::vector<UserRecord> all, store_->ListUsers());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].username, "Alice");
}

TEST_P(UserStoreConformanceTest, RotationChainsAndReuseRevokesTheFamily) {
  UserRecord u = User("u");
  ASSERT_OK(store_->AddRefreshToken(Token(u.id, 'a', "fam1", 10'000)).status());
  ASSERT_OK_AND_ASSIGN(RefreshTokenRecord old,
                       store_->RotateRefreshToken(Hex64('a'), Token(0, 'b', "", 20'000)));
  EXPECT_EQ(old.user_id, u.id);
  EXPECT_EQ(old.used_at, 1000);
  ASSERT_OK(store_->RotateRefreshToken(Hex64('b'), Token(0, 'c', "", 20'000)).status());
  // 'a' replayed: reuse — the family ('c', the live one, included) is revoked.
  EXPECT_EQ(StatusOf(store_->RotateRefreshToken(Hex64('a'), Token(0, 'd', "", 20'000))).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(StatusOf(store_->RotateRefreshToken(Hex64('c'), Token(0, 'e', "", 20'000))).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(StatusOf(store_->RotateRefreshToken(Hex64('z'), Token(0, 'f', "", 20'000))).code(),
            absl::StatusCode::kNotFound);
}

// Issue 22 item 6: access tokens name their session; the store says when it has ended.
TEST_P(UserStoreConformanceTest, RefreshFamilyRevokedSaysWhenASessionEnded) {
  UserRecord u = User("u");
  ASSERT_OK(store_->AddRefreshToken(Token(u.id, 'a', "fam1", 10'000)).status());
  ASSERT_OK(store_->AddRefreshToken(Token(u.id, 'b', "fam2", 10'000)).status());
  bool revoked = true;
  ASSERT_OK_AND_ASSIGN(revoked, store_->RefreshFamilyRevoked("fam1"));
  EXPECT_EQ(revoked, false);
  ASSERT_OK(store_->RotateRefreshToken(Hex64('a'), Token(0, 'c', "", 20'000)).status());
  ASSERT_OK_AND_ASSIGN(revoked, store_->RefreshFamilyRevoked("fam1"));
  EXPECT_EQ(revoked, false);
  (void)store_->RotateRefreshToken(Hex64('a'), Token(0, 'd', "", 20'000));  // reuse
  ASSERT_OK_AND_ASSIGN(revoked, store_->RefreshFamilyRevoked("fam1"));
  EXPECT_EQ(revoked, true);
  ASSERT_OK_AND_ASSIGN(revoked, store_->RefreshFamilyRevoked("fam2"));
  EXPECT_EQ(revoked, false);
  ASSERT_OK_AND_ASSIGN(revoked, store_->RefreshFamilyRevoked("unknown"));
  EXPECT_EQ(revoked, false);
  ASSERT_OK(store_->SetPasswordHash(u.id, "$argon2id$new"));
  ASSERT_OK_AND_ASSIGN(revoked, store_->RefreshFamilyRevoked("fam2"));
  EXPECT_EQ(revoked, true);
}

// Issue 22 item 6: the password version orders changes even within one millisecond.
TEST_P(UserStoreConformanceTest, PasswordVersionStrictlyIncreases) {
  UserRecord u = User("u");
  EXPECT_EQ(u.password_changed_at, 1000);
  ASSERT_OK(store_->SetPasswordHash(u.id, "$argon2id$a"));
  ASSERT_OK(store_->SetPasswordHash(u.id, "$argon2id$b"));
  ASSERT_OK_AND_ASSIGN(UserRecord changed, store_->GetUser(u.id));
  EXPECT_EQ(changed.password_changed_at, 1002);
  now_ = 5000;
  ASSERT_OK(store_->SetPasswordHash(u.id, "$argon2id$c"));
  ASSERT_OK_AND_ASSIGN(changed, store_->GetUser(u.id));
  EXPECT_EQ(changed.password_changed_at, 5000);
}

TEST_P(UserStoreConformanceTest, ExpiredLogoutPasswordChangeAndDisableEndSessions) {
  UserRecord u = User("u");
  ASSERT_OK(store_->AddRefreshToken(Token(u.id, 'a', "f1", 2000)).status());
  now_ = 2000;
  Status expired = StatusOf(store_->RotateRefreshToken(Hex64('a'), Token(0, 'b', "", 9000)));
  EXPECT_EQ(expired.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(expired.message()).find("expired"), std::string::npos);

  ASSERT_OK(store_->AddRefreshToken(Token(u.id, 'c', "f2", 9000)).status());
  ASSERT_OK(store_->RevokeRefreshFamily(Hex64('c')));
  EXPECT_EQ(StatusOf(store_->RotateRefreshToken(Hex64('c'), Token(0, 'd', "", 9000))).code(),
            absl::StatusCode::kFailedPrecondition);

  ASSERT_OK(store_->AddRefreshToken(Token(u.id, 'e', "f3", 9000)).status());
  ASSERT_OK(store_->SetPasswordHash(u.id, "$argon2id$new"));
  EXPECT_EQ(StatusOf(store_->RotateRefreshToken(Hex64('e'), Token(0, 'g', "", 9000))).code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_OK_AND_ASSIGN(UserRecord changed, store_->GetUser(u.id));
  EXPECT_EQ(changed.password_hash, "$argon2id$new");
  EXPECT_EQ(changed.password_changed_at, 2000);

  ASSERT_OK(store_->AddRefreshToken(Token(u.id, 'h', "f4", 9000)).status());
  ASSERT_OK(store_->SetDisabled(u.id, true));
  ASSERT_OK_AND_ASSIGN(UserRecord disabled, store_->GetUser(u.id));
  EXPECT_EQ(disabled.disabled_at, 2000);
  EXPECT_EQ(StatusOf(store_->RotateRefreshToken(Hex64('h'), Token(0, 'i', "", 9000))).code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_OK(store_->SetDisabled(u.id, false));
  ASSERT_OK_AND_ASSIGN(UserRecord enabled, store_->GetUser(u.id));
  EXPECT_EQ(enabled.disabled_at, 0);
  EXPECT_EQ(StatusOf(store_->AddRefreshToken(Token(777, 'j', "f5", 9000))).code(),
            absl::StatusCode::kNotFound);
}

TEST_P(UserStoreConformanceTest, ApiKeysBelongToTheirUser) {
  UserRecord a = User("a");
  UserRecord b = User("b");
  ApiKeyRecord key;
  key.user_id = a.id;
  key.name = "script";
  key.prefix = "infera_key_abc";
  key.key_hash = Hex64('1');
  ASSERT_OK_AND_ASSIGN(ApiKeyRecord created, store_->CreateApiKey(key));
  EXPECT_EQ(created.name, "script");
  EXPECT_EQ(StatusOf(store_->CreateApiKey(key)).code(), absl::StatusCode::kAlreadyExists);
  ASSERT_OK_AND_ASSIGN(ApiKeyRecord found, store_->FindApiKey(Hex64('1')));
  EXPECT_EQ(found.id, created.id);
  EXPECT_EQ(StatusOf(store_->FindApiKey(Hex64('2'))).code(), absl::StatusCode::kNotFound);
  now_ = 5000;
  ASSERT_OK(store_->TouchApiKey(created.id));
  ASSERT_OK_AND_ASSIGN(std::vector<ApiKeyRecord> mine, store_->ListApiKeys(a.id));
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].last_used_at, 5000);
  ASSERT_OK_AND_ASSIGN(std::vector<ApiKeyRecord> theirs, store_->ListApiKeys(b.id));
  EXPECT_TRUE(theirs.empty());
  // b cannot revoke a's key; a (or an admin, user 0) can.
  EXPECT_EQ(store_->RevokeApiKey(created.id, b.id).code(), absl::StatusCode::kNotFound);
  ASSERT_OK(store_->RevokeApiKey(created.id, a.id));
  ASSERT_OK_AND_ASSIGN(ApiKeyRecord revoked, store_->FindApiKey(Hex64('1')));
  EXPECT_EQ(revoked.revoked_at, 5000);
  EXPECT_EQ(store_->RevokeApiKey(9999, 0).code(), absl::StatusCode::kNotFound);
}

TEST_P(UserStoreConformanceTest, RevokedAccessTokensArePurgedAfterExpiry) {
  ASSERT_OK(store_->RevokeAccessToken("jti-1", 3000));
  ASSERT_OK_AND_ASSIGN(bool revoked, store_->AccessTokenRevoked("jti-1"));
  EXPECT_TRUE(revoked);
  ASSERT_OK_AND_ASSIGN(bool other, store_->AccessTokenRevoked("jti-2"));
  EXPECT_FALSE(other);
  now_ = 4000;
  ASSERT_OK(store_->RevokeAccessToken("jti-2", 9000));  // purges jti-1 (expired)
  ASSERT_OK_AND_ASSIGN(bool purged, store_->AccessTokenRevoked("jti-1"));
  EXPECT_FALSE(purged);
  EXPECT_EQ(store_->RevokeAccessToken("", 1).code(), absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, UserStoreConformanceTest,
                         ::testing::Values(UserStoreFactory{
                             "Sqlite",
                             [](const std::filesystem::path& dir, std::function<int64_t()> now_ms) {
                               SqliteUserStoreOptions options;
                               options.now_ms = std::move(now_ms);
                               return OpenSqliteUserStore(dir / "infera.db", options);
                             }}),
                         UserStoreFactoryName);

}  // namespace
}  // namespace infera::store_testing
