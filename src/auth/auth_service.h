// AuthService: who is calling — logins (argon2id passwords, throttled), HS256 access
// tokens with opaque rotating refresh tokens, API keys, logout and revocation — over a
// UserStore. The HTTP routes (api/routes/api_auth.cc) and the request guard
// (api/routes/api_common.h Guarded) are thin layers over it.
//
// Tokens: the access token is a JWT {sub: user id, role, iat, exp = iat + access_ttl,
// jti, sid: its login session (the refresh-token family), pwv: the user's password
// version}; the refresh token is "infera_rt_..." (stored as its SHA-256), valid
// refresh_ttl, rotated on every use; replaying a used one revokes the whole session
// (UserStore) — and with it every access token of that session (sid), as logout does.
// A password change (or a disable) ends every session: access tokens issued under an
// older password version are refused, in exact order (the version is the store's
// strictly increasing password_changed_at, not a clock second).
// API keys are "infera_key_..." (stored as SHA-256, shown once), used like an access
// token: `Authorization: Bearer <key>`. They are credentials of their own, for scripts:
// a password change does not revoke them (revoke them one by one, or disable the user,
// which stops all of them) — see README "Authentication".
// Errors carry the reason and map to HTTP: Unauthenticated (401: bad credentials, a
// malformed/expired/revoked/tampered token, a disabled user), PermissionDenied (403),
// InvalidArgument (400: a password outside the policy), ResourceExhausted (429 by the
// login route: throttled; *retry_after_s is set), AlreadyExists (409: username taken).
// Thread-safety: all methods are safe from any thread. Password hashing runs on the
// calling thread (tens of ms, ~19 MiB): call from the blocking pool.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/login_throttle.h"
#include "auth/password_hash.h"
#include "auth/principal.h"
#include "auth/role.h"
#include "common/status.h"
#include "store/user_store.h"

namespace infera {

struct TokenPair {
  std::string access_token;
  std::string refresh_token;
  int64_t expires_in = 0;  // seconds the access token is valid
};

struct AuthOptions {
  int64_t access_ttl_s = 15 * 60;
  int64_t refresh_ttl_s = 30LL * 24 * 3600;
  Argon2Params argon2;  // for new hashes
  LoginThrottleOptions throttle;
  // Wall clock in ms since the epoch (tests inject one); empty: the system clock.
  std::function<int64_t()> now_ms;
};

class AuthService {
 public:
  // `users` must outlive the service; `secret` is the HS256 key (>= 32 bytes).
  static StatusOr<std::unique_ptr<AuthService>> Create(UserStore* users, std::string secret,
                                                       AuthOptions options);

  StatusOr<TokenPair> Login(std::string_view username, std::string_view password,
                            std::string_view client_address, int64_t* retry_after_s);
  StatusOr<TokenPair> Refresh(std::string_view refresh_token);
  // Revokes the caller's access token and, when given, the refresh token's session.
  Status Logout(const Principal& caller, std::optional<std::string_view> refresh_token);
  // The caller of an `Authorization` header value ("Bearer <jwt or API key>").
  StatusOr<Principal> Authenticate(std::string_view authorization);

  // Users (policy-checked passwords). CreateUser: AlreadyExists when taken.
  StatusOr<UserRecord> CreateUser(std::string_view username, std::string_view password, Role role);
  Status SetPassword(int64_t user_id, std::string_view password);

  // A new API key for `user_id`: the record and the key itself (shown once).
  StatusOr<std::pair<ApiKeyRecord, std::string>> CreateApiKey(int64_t user_id,
                                                              std::string_view name);

  // On an empty store: creates the admin "admin" with `password`, or a random one when
  // empty, and returns the password used; nullopt when users already exist.
  StatusOr<std::optional<std::string>> EnsureAdmin(std::string_view password);

  UserStore& users() { return *users_; }

 private:
  AuthService(UserStore* users, std::string secret, AuthOptions options,
              std::unique_ptr<LoginThrottle> throttle);
  int64_t NowMs() const;
  // An access token of `user` for login session `session` (a refresh-token family),
  // carrying the user's password version.
  StatusOr<std::string> SignAccessToken(const UserRecord& user, const std::string& session) const;

  UserStore* const users_;
  const std::string secret_;
  const AuthOptions options_;
  const std::unique_ptr<LoginThrottle> throttle_;
};

// Usernames: 1-64 characters of [A-Za-z0-9._@-]. InvalidArgument otherwise.
Status ValidateUsername(std::string_view username);

}  // namespace infera
