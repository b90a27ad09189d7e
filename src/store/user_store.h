// UserStore: the durable records of authentication — users, refresh tokens, API keys
// and revoked access tokens — behind one interface (sqlite_user_store.h is the embedded
// implementation, postgres_store.h the shared one; the conformance suite
// tests/store/user_store_conformance_test.cc is written against the interface and runs
// on both).
//
// Conventions are store.h's: positive int64 ids, times in ms since the epoch set by the
// store (0 = "not yet"), NotFound for unknown ids, AlreadyExists for a duplicate unique
// key, InvalidArgument for a broken constraint. Secrets are never stored: passwords as
// argon2id hashes, refresh tokens and API keys as SHA-256 hex of the token.
// Usernames are unique case-insensitively (ASCII).
// Thread-safety: every method is safe from any thread; each call is one transaction.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace infera {

struct UserRecord {
  int64_t id = 0;
  std::string username;
  std::string password_hash;  // argon2id encoded
  std::string role = "user";  // "admin" | "user"
  int64_t created_at = 0;
  int64_t disabled_at = 0;  // 0 while enabled
  int64_t password_changed_at = 0;
};

// One refresh token of a login session. Tokens of one session share `family`; a
// rotation marks the old token used and adds the next one in the same family.
struct RefreshTokenRecord {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string token_hash;
  std::string family;
  int64_t created_at = 0;
  int64_t expires_at = 0;  // ms since the epoch
  int64_t used_at = 0;     // rotated away
  int64_t revoked_at = 0;
};

struct ApiKeyRecord {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string name;
  std::string prefix;  // the first characters of the key, for listings
  std::string key_hash;
  int64_t created_at = 0;
  int64_t last_used_at = 0;
  int64_t revoked_at = 0;
};

class UserStore {
 public:
  virtual ~UserStore() = default;

  // --- users ---
  // InvalidArgument for an empty username or hash or a role other than admin/user;
  // AlreadyExists when the username is taken (in any letter case).
  virtual StatusOr<UserRecord> CreateUser(const UserRecord& user) = 0;
  virtual StatusOr<UserRecord> GetUser(int64_t id) = 0;
  // Case-insensitive. NotFound when there is none.
  virtual StatusOr<UserRecord> FindUser(std::string_view username) = 0;
  virtual StatusOr<std::vector<UserRecord>> ListUsers() = 0;  // by id
  virtual StatusOr<int64_t> CountUsers() = 0;
  // Replaces the hash, sets password_changed_at and revokes the user's refresh tokens.
  // password_changed_at is the password's version: it strictly increases with every
  // change (now, or the previous value + 1 when the clock has not moved on), so tokens
  // that carry it order exactly against changes.
  virtual Status SetPasswordHash(int64_t user_id, const std::string& password_hash) = 0;
  // Disables (revoking the user's refresh tokens) or enables the user.
  virtual Status SetDisabled(int64_t user_id, bool disabled) = 0;

  // --- refresh tokens ---
  // NotFound for an unknown user; AlreadyExists for a repeated hash.
  virtual StatusOr<RefreshTokenRecord> AddRefreshToken(const RefreshTokenRecord& token) = 0;
  // Rotation, atomically: the token with `token_hash` is marked used and `next` is added
  // to its family for the same user. Returns the old token's record (used_at set).
  // NotFound for an unknown hash; FailedPrecondition "refresh token expired" or
  // "refresh token revoked"; PermissionDenied "refresh token reuse" when the token was
  // already used — the whole family is revoked (a stolen token replayed after the real
  // client rotated it ends the session for both).
  virtual StatusOr<RefreshTokenRecord> RotateRefreshToken(const std::string& token_hash,
                                                          const RefreshTokenRecord& next) = 0;
  // Revokes the family of the token (logout). NotFound for an unknown hash.
  virtual Status RevokeRefreshFamily(const std::string& token_hash) = 0;
  // True when the session `family` has been ended: one of its tokens is revoked (a
  // reuse, a logout, a password change or a disable revokes them all). False for an
  // unknown family.
  virtual StatusOr<bool> RefreshFamilyRevoked(const std::string& family) = 0;

  // --- API keys ---
  // NotFound for an unknown user; AlreadyExists for a repeated hash.
  virtual StatusOr<ApiKeyRecord> CreateApiKey(const ApiKeyRecord& key) = 0;
  // The key with this hash, revoked or not. NotFound when there is none.
  virtual StatusOr<ApiKeyRecord> FindApiKey(const std::string& key_hash) = 0;
  virtual StatusOr<std::vector<ApiKeyRecord>> ListApiKeys(int64_t user_id) = 0;  // by id
  // Revokes key `id` of `user_id` (any user's when user_id is 0). NotFound when the key
  // does not exist or belongs to another user.
  virtual Status RevokeApiKey(int64_t id, int64_t user_id) = 0;
  virtual Status TouchApiKey(int64_t id) = 0;  // last_used_at = now

  // --- revoked access tokens (logout before expiry) ---
  // Remembers `jti` until `expires_at` (ms), when the token would expire anyway; expired
  // entries are purged as new ones are added.
  virtual Status RevokeAccessToken(const std::string& jti, int64_t expires_at) = 0;
  virtual StatusOr<bool> AccessTokenRevoked(const std::string& jti) = 0;
};

}  // namespace infera
