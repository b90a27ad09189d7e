// AuthService over the real SQLite UserStore: logins, token checks (tampering, alg none,
// expiry, revocation), refresh rotation with reuse detection, logout, API keys, password
// changes and disabled users ending sessions, throttling, and the first admin.
#include "auth/auth_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>

#include "auth/base64url.h"
#include "common/strings.h"
#include "store/sqlite_user_store.h"
#include "store/store_conformance.h"

namespace infera {
namespace {

using ::testing::HasSubstr;

std::string Message(const Status& s) { return std::string(ToStd(s.message())); }
template <typename T>
std::string Message(const StatusOr<T>& s) {
  return Message(s.status());
}

class AuthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SqliteUserStoreOptions store_options;
    store_options.now_ms = [this] { return now_ms_.load(); };
    auto users = OpenSqliteUserStore(dir_.path() / "infera.db", store_options);
    ASSERT_TRUE(users.ok()) << users.status();
    users_ = std::move(*users);
    AuthOptions options;
    options.argon2 = Argon2Params::ForTesting();
    options.now_ms = [this] { return now_ms_.load(); };
    auto service = AuthService::Create(users_.get(), std::string(40, 'k'), options);
    ASSERT_TRUE(service.ok()) << service.status();
    auth_ = std::move(*service);
    auto alice = auth_->CreateUser("alice", "correct horse", Role::kUser);
    ASSERT_TRUE(alice.ok()) << alice.status();
    alice_ = *alice;
  }
  TokenPair LoginAlice() {
    StatusOr<TokenPair> t = auth_->Login("alice", "correct horse", "10.0.0.1", nullptr);
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? *t : TokenPair{};
  }
  StatusOr<Principal> Check(const std::string& token) {
    return auth_->Authenticate("Bearer " + token);
  }

  store_testing::ScratchDir dir_;
  std::atomic<int64_t> now_ms_{1'800'000'000'000};
  std::unique_ptr<UserStore> users_;
  std::unique_ptr<AuthService> auth_;
  UserRecord alice_;
};

TEST_F(AuthServiceTest, LoginGivesTokensThatAuthenticate) {
  TokenPair t = LoginAlice();
  EXPECT_EQ(t.expires_in, 900);
  EXPECT_EQ(std::count(t.access_token.begin(), t.access_token.end(), '.'), 2);
  EXPECT_TRUE(t.refresh_token.starts_with("infera_rt_"));
  StatusOr<Principal> p = Check(t.access_token);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->user_id, alice_.id);
  EXPECT_EQ(p->username, "alice");
  EXPECT_FALSE(p->admin());
  // Case-insensitive usernames.
  EXPECT_TRUE(auth_->Login("ALICE", "correct horse", "10.0.0.1", nullptr).ok());
}

TEST_F(AuthServiceTest, WrongPasswordAndUnknownUserSayTheSame) {
  StatusOr<TokenPair> wrong = auth_->Login("alice", "wrong horse", "10.0.0.2", nullptr);
  StatusOr<TokenPair> unknown = auth_->Login("mallory", "correct horse", "10.0.0.2", nullptr);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Message(wrong), Message(unknown));
}

TEST_F(AuthServiceTest, TamperedAlgNoneExpiredAndMalformedTokensAreRefused) {
  TokenPair t = LoginAlice();
  const size_t dot1 = t.access_token.find('.');
  const size_t dot2 = t.access_token.rfind('.');
  // Payload changed to role admin, signature kept.
  StatusOr<std::string> payload = Base64UrlDecode(t.access_token.substr(dot1 + 1, dot2 - dot1 - 1));
  ASSERT_TRUE(payload.ok());
  std::string forged = *payload;
  forged.replace(forged.find("\"user\""), 6, "\"admin\"");
  const std::string tampered =
      t.access_token.substr(0, dot1 + 1) + Base64UrlEncode(forged) + t.access_token.substr(dot2);
  EXPECT_THAT(Message(Check(tampered)), HasSubstr("invalid signature"));
  // alg none, no signature.
  const std::string none = Base64UrlEncode("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." +
                           t.access_token.substr(dot1 + 1, dot2 - dot1 - 1) + ".";
  EXPECT_THAT(Message(Check(none)), HasSubstr("unsupported token algorithm"));
  // Signed with another key.
  AuthOptions other;
  other.argon2 = Argon2Params::ForTesting();
  other.now_ms = [this] { return now_ms_.load(); };
  auto stranger = AuthService::Create(users_.get(), std::string(40, 'x'), other);
  ASSERT_TRUE(stranger.ok());
  StatusOr<TokenPair> theirs = (*stranger)->Login("alice", "correct horse", "10.0.0.3", nullptr);
  ASSERT_TRUE(theirs.ok());
  EXPECT_THAT(Message(Check(theirs->access_token)), HasSubstr("invalid signature"));
  EXPECT_THAT(Message(auth_->Authenticate("Basic abc")), HasSubstr("Bearer"));
  EXPECT_THAT(Message(auth_->Authenticate("")), HasSubstr("authentication required"));
  EXPECT_THAT(Message(Check("a.b")), HasSubstr("malformed token"));
  // Expired: 15 min + the 30 s leeway later.
  now_ms_ += (900 + 31) * 1000;
  EXPECT_THAT(Message(Check(t.access_token)), HasSubstr("token expired"));
}

TEST_F(AuthServiceTest, RefreshRotatesAndReuseEndsTheSession) {
  TokenPair first = LoginAlice();
  StatusOr<TokenPair> second = auth_->Refresh(first.refresh_token);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(second->refresh_token, first.refresh_token);
  EXPECT_TRUE(Check(second->access_token).ok());
  // The first refresh token replayed (stolen): refused, and the session is over.
  StatusOr<TokenPair> replay = auth_->Refresh(first.refresh_token);
  EXPECT_EQ(replay.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(Message(replay), HasSubstr("reuse"));
  EXPECT_EQ(auth_->Refresh(second->refresh_token).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(Message(auth_->Refresh("infera_rt_nonsense")), HasSubstr("malformed"));
}

TEST_F(AuthServiceTest, LogoutRevokesTheAccessTokenAndTheSession) {
  TokenPair t = LoginAlice();
  StatusOr<Principal> p = Check(t.access_token);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(auth_->Logout(*p, t.refresh_token).ok());
  EXPECT_THAT(Message(Check(t.access_token)), HasSubstr("token revoked"));
  EXPECT_EQ(auth_->Refresh(t.refresh_token).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthServiceTest, PasswordChangeAndDisableEndSessions) {
  TokenPair t = LoginAlice();
  now_ms_ += 2000;
  ASSERT_TRUE(auth_->SetPassword(alice_.id, "battery staple").ok());
  EXPECT_THAT(Message(Check(t.access_token)), HasSubstr("token revoked"));
  EXPECT_EQ(auth_->Refresh(t.refresh_token).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_FALSE(auth_->Login("alice", "correct horse", "10.0.0.4", nullptr).ok());
  StatusOr<TokenPair> fresh = auth_->Login("alice", "battery staple", "10.0.0.4", nullptr);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  ASSERT_TRUE(users_->SetDisabled(alice_.id, true).ok());
  EXPECT_THAT(Message(Check(fresh->access_token)), HasSubstr("disabled"));
  EXPECT_EQ(auth_->Login("alice", "battery staple", "10.0.0.4", nullptr).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(auth_->SetPassword(alice_.id, "short").code(), absl::StatusCode::kInvalidArgument);
}

// Issue 22 item 6: replaying a used refresh token revoked the session's refresh tokens,
// but the access tokens the session had been given kept working until they expired.
TEST_F(AuthServiceTest, RefreshReuseAlsoEndsTheSessionsAccessTokens) {
  TokenPair first = LoginAlice();
  StatusOr<TokenPair> second = auth_->Refresh(first.refresh_token);
  ASSERT_TRUE(second.ok()) << second.status();
  TokenPair other = LoginAlice();  // another session of the same user
  ASSERT_TRUE(Check(first.access_token).ok());
  ASSERT_TRUE(Check(second->access_token).ok());
  EXPECT_EQ(auth_->Refresh(first.refresh_token).status().code(),
            absl::StatusCode::kUnauthenticated);  // the replay
  EXPECT_THAT(Message(Check(first.access_token)), HasSubstr("token revoked"));
  EXPECT_THAT(Message(Check(second->access_token)), HasSubstr("token revoked"));
  EXPECT_TRUE(Check(other.access_token).ok());  // only that session ends
  // Logout ends the session's other access tokens too.
  StatusOr<TokenPair> next = auth_->Refresh(other.refresh_token);
  ASSERT_TRUE(next.ok()) << next.status();
  StatusOr<Principal> p = Check(next->access_token);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(auth_->Logout(*p, next->refresh_token).ok());
  EXPECT_THAT(Message(Check(other.access_token)), HasSubstr("token revoked"));
}

// Issue 22 item 6: the password-change check compared whole seconds, so a token issued
// earlier in the same second as the change stayed valid. Tokens carry the password
// version they were issued under; the order is exact, whatever the clock says.
TEST_F(AuthServiceTest, TokenIssuedInTheSameSecondAsAPasswordChange) {
  now_ms_ = 1'800'000'000'100;
  TokenPair before = LoginAlice();
  now_ms_ = 1'800'000'000'500;
  ASSERT_TRUE(auth_->SetPassword(alice_.id, "battery staple").ok());
  EXPECT_THAT(Message(Check(before.access_token)), HasSubstr("token revoked"));
  now_ms_ = 1'800'000'000'900;
  StatusOr<TokenPair> after = auth_->Login("alice", "battery staple", "10.0.0.5", nullptr);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_TRUE(Check(after->access_token).ok());
  StatusOr<TokenPair> refreshed = auth_->Refresh(after->refresh_token);
  ASSERT_TRUE(refreshed.ok()) << refreshed.status();
  EXPECT_TRUE(Check(refreshed->access_token).ok());
  // Even a change in the very same millisecond orders correctly.
  ASSERT_TRUE(auth_->SetPassword(alice_.id, "correct horse").ok());
  EXPECT_THAT(Message(Check(refreshed->access_token)), HasSubstr("token revoked"));
  EXPECT_THAT(Message(Check(after->access_token)), HasSubstr("token revoked"));
}

// Issue 22 item 6, decided: API keys are credentials of their own (for scripts); a
// password change does not revoke them (revoke keys one by one, or disable the user,
// which stops every key at once). Pinned here so that a change is deliberate.
TEST_F(AuthServiceTest, ApiKeysSurviveAPasswordChangeButNotADisable) {
  auto key = auth_->CreateApiKey(alice_.id, "nightly script");
  ASSERT_TRUE(key.ok()) << key.status();
  ASSERT_TRUE(auth_->SetPassword(alice_.id, "battery staple").ok());
  EXPECT_TRUE(Check(key->second).ok());
  ASSERT_TRUE(users_->SetDisabled(alice_.id, true).ok());
  EXPECT_THAT(Message(Check(key->second)), HasSubstr("disabled"));
}

TEST_F(AuthServiceTest, ApiKeysAuthenticateUntilRevoked) {
  auto key = auth_->CreateApiKey(alice_.id, "nightly script");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_TRUE(key->second.starts_with("infera_key_"));
  EXPECT_TRUE(key->second.starts_with(key->first.prefix));
  StatusOr<Principal> p = Check(key->second);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->user_id, alice_.id);
  EXPECT_EQ(p->api_key_id, key->first.id);
  ASSERT_TRUE(users_->RevokeApiKey(key->first.id, alice_.id).ok());
  EXPECT_THAT(Message(Check(key->second)), HasSubstr("API key revoked"));
  EXPECT_THAT(Message(Check("infera_key_" + std::string(43, 'A'))), HasSubstr("unknown API key"));
}

TEST_F(AuthServiceTest, RepeatedFailuresAreThrottled) {
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(auth_->Login("alice", "nope nope", "10.0.0.9", nullptr).status().code(),
              absl::StatusCode::kUnauthenticated);
  }
  int64_t retry_after = 0;
  StatusOr<TokenPair> refused = auth_->Login("alice", "correct horse", "10.0.0.9", &retry_after);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_GT(retry_after, 0);
}

TEST_F(AuthServiceTest, FirstAdminOnlyOnAnEmptyStoreAndUsernamesChecked) {
  // alice exists: no admin is made.
  StatusOr<std::optional<std::string>> none = auth_->EnsureAdmin("");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  store_testing::ScratchDir other_dir;
  auto users = OpenSqliteUserStore(other_dir.path() / "infera.db");
  ASSERT_TRUE(users.ok());
  AuthOptions options;
  options.argon2 = Argon2Params::ForTesting();
  auto fresh = AuthService::Create(users->get(), std::string(40, 'k'), options);
  ASSERT_TRUE(fresh.ok());
  StatusOr<std::optional<std::string>> made = (*fresh)->EnsureAdmin("");
  ASSERT_TRUE(made.ok() && made->has_value()) << made.status();
  EXPECT_EQ((*made)->size(), 24u);  // 12 random bytes, hex
  StatusOr<TokenPair> t = (*fresh)->Login("admin", **made, "10.0.0.1", nullptr);
  ASSERT_TRUE(t.ok()) << t.status();
  StatusOr<Principal> p = (*fresh)->Authenticate("Bearer " + t->access_token);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->admin());
  StatusOr<std::optional<std::string>> again = (*fresh)->EnsureAdmin("");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
  EXPECT_EQ(auth_->CreateUser("bad name", "long enough", Role::kUser).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(auth_->CreateUser("ALICE", "long enough", Role::kUser).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_FALSE(AuthService::Create(users->get(), "short", options).ok());
}

}  // namespace
}  // namespace infera
