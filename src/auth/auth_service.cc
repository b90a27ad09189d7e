#include "auth/auth_service.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/numbers.h"
#include "auth/crypto.h"
#include "auth/jwt.h"
#include "auth/opaque_token.h"
#include "common/ascii.h"
#include "common/clock.h"
#include "common/hex.h"
#include "common/logging.h"
#include "common/strings.h"

namespace infera {

namespace {

// The one answer for every failed password login: it says nothing of which part was
// wrong, so it is no username oracle.
Status BadCredentials() { return absl::UnauthenticatedError("invalid username or password"); }

}  // namespace

Status ValidateUsername(std::string_view username) {
  if (username.empty() || username.size() > 64) {
    return absl::InvalidArgumentError("username must be 1 to 64 characters");
  }
  for (char c : username) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '@' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(
          "username may only hold letters, digits and . _ @ - characters");
    }
  }
  return absl::OkStatus();
}

StatusOr<std::unique_ptr<AuthService>> AuthService::Create(UserStore* users, std::string secret,
                                                           AuthOptions options) {
  if (secret.size() < kMinJwtKeyBytes) {
    return absl::InvalidArgumentError(
        StrCat("the token signing secret must have at least ", kMinJwtKeyBytes, " bytes"));
  }
  if (options.access_ttl_s < 10 || options.refresh_ttl_s < options.access_ttl_s) {
    return absl::InvalidArgumentError(
        "auth: access_ttl_s must be >= 10 and refresh_ttl_s >= access_ttl_s");
  }
  RETURN_IF_ERROR(ValidateArgon2Params(options.argon2));
  ASSIGN_OR_RETURN(std::unique_ptr<LoginThrottle> throttle,
                   LoginThrottle::Create(options.throttle));
  return std::unique_ptr<AuthService>(
      new AuthService(users, std::move(secret), std::move(options), std::move(throttle)));
}

AuthService::AuthService(UserStore* users, std::string secret, AuthOptions options,
                         std::unique_ptr<LoginThrottle> throttle)
    : users_(users),
      secret_(std::move(secret)),
      options_(std::move(options)),
      throttle_(std::move(throttle)) {}

int64_t AuthService::NowMs() const { return options_.now_ms ? options_.now_ms() : SystemNowMs(); }

StatusOr<std::string> AuthService::SignAccessToken(const UserRecord& user,
                                                   const std::string& session) const {
  const int64_t now_s = NowMs() / 1000;
  JwtClaims claims;
  claims.sub = std::to_string(user.id);
  claims.role = user.role;
  claims.iat = now_s;
  claims.exp = now_s + options_.access_ttl_s;
  claims.sid = session;
  claims.pwv = user.password_changed_at;
  ASSIGN_OR_RETURN(claims.jti, NewJwtId());
  return SignJwt(claims, secret_);
}

StatusOr<TokenPair> AuthService::Login(std::string_view username, std::string_view password,
                                       std::string_view client_address, int64_t* retry_after_s) {
  const std::string address = ThrottleAddressKey(client_address);
  const std::string key = AsciiStrToLower(username.substr(0, 128));
  const auto now = std::chrono::steady_clock::now();
  const ThrottleDecision decision = throttle_->Check(key, address, now);
  if (!decision.allowed) {
    if (retry_after_s != nullptr) *retry_after_s = decision.retry_after.count();
    Log(LogLevel::kWarning, "login_throttled", {{"user", key}, {"address", address}});
    return absl::ResourceExhaustedError(
        StrCat("too many failed logins; try again in ", decision.retry_after.count(), " s"));
  }
  StatusOr<UserRecord> user = users_->FindUser(username);
  if (!user.ok()) {
    if (!absl::IsNotFound(user.status())) return user.status();
    BurnPasswordVerifyTime(password, options_.argon2);
    throttle_->RecordFailure(key, address, now);
    return BadCredentials();
  }
  StatusOr<bool> match = VerifyPassword(password, user->password_hash);
  if (!match.ok() || !*match || user->disabled_at != 0) {
    if (!match.ok()) {
      Log(LogLevel::kError, "password_hash_unreadable", {{"user_id", std::to_string(user->id)}});
    }
    throttle_->RecordFailure(key, address, now);
    return BadCredentials();
  }
  throttle_->RecordSuccess(key, address, now);
  StatusOr<bool> rehash = PasswordNeedsRehash(user->password_hash, options_.argon2);
  if (rehash.ok() && *rehash) {
    if (StatusOr<std::string> h = HashPassword(password, options_.argon2); h.ok()) {
      // Also ends other sessions (fine) and moves the password version on: the token
      // below is signed with the new one.
      if (users_->SetPasswordHash(user->id, *h).ok()) {
        ASSIGN_OR_RETURN(*user, users_->GetUser(user->id));
      }
    }
  }
  TokenPair pair;
  RefreshTokenRecord record;
  record.user_id = user->id;
  ASSIGN_OR_RETURN(record.family, NewJwtId());  // a new session
  // The password version the password was checked against: if it changed meanwhile,
  // the token is refused from its first use.
  ASSIGN_OR_RETURN(pair.access_token, SignAccessToken(*user, record.family));
  ASSIGN_OR_RETURN(pair.refresh_token, GenerateToken(TokenKind::kRefreshToken));
  pair.expires_in = options_.access_ttl_s;
  record.token_hash = HashToken(pair.refresh_token);
  record.expires_at = NowMs() + options_.refresh_ttl_s * 1000;
  RETURN_IF_ERROR(users_->AddRefreshToken(record).status());
  return pair;
}

StatusOr<TokenPair> AuthService::Refresh(std::string_view refresh_token) {
  if (ClassifyToken(refresh_token) != TokenKind::kRefreshToken) {
    return absl::UnauthenticatedError("malformed refresh token");
  }
  // The store rotates atomically (checking reuse, expiry and revocation) and says whose
  // session it is; the access token is signed for that user after.
  ASSIGN_OR_RETURN(std::string next_token, GenerateToken(TokenKind::kRefreshToken));
  RefreshTokenRecord next;
  next.token_hash = HashToken(next_token);
  next.expires_at = NowMs() + options_.refresh_ttl_s * 1000;
  StatusOr<RefreshTokenRecord> old = users_->RotateRefreshToken(HashToken(refresh_token), next);
  if (!old.ok()) {
    if (absl::IsNotFound(old.status())) return absl::UnauthenticatedError("unknown refresh token");
    if (absl::IsFailedPrecondition(old.status()) || absl::IsPermissionDenied(old.status())) {
      return absl::UnauthenticatedError(std::string(ToStd(old.status().message())));
    }
    return old.status();
  }
  ASSIGN_OR_RETURN(UserRecord user, users_->GetUser(old->user_id));
  if (user.disabled_at != 0) {
    (void)users_->RevokeRefreshFamily(next.token_hash);
    return absl::UnauthenticatedError("the user is disabled");
  }
  if (old->created_at < user.password_changed_at) {
    // A session a login raced with a password change (a change revokes every session
    // that existed then): it belongs to the old password.
    (void)users_->RevokeRefreshFamily(next.token_hash);
    return absl::UnauthenticatedError("refresh token revoked");
  }
  TokenPair pair;
  ASSIGN_OR_RETURN(pair.access_token, SignAccessToken(user, old->family));
  pair.refresh_token = std::move(next_token);
  pair.expires_in = options_.access_ttl_s;
  return pair;
}

Status AuthService::Logout(const Principal& caller, std::optional<std::string_view> refresh_token) {
  if (!caller.jti.empty()) {
    RETURN_IF_ERROR(users_->RevokeAccessToken(caller.jti, caller.expires_at * 1000));
  }
  if (refresh_token) {
    Status s = users_->RevokeRefreshFamily(HashToken(*refresh_token));
    if (!s.ok() && !absl::IsNotFound(s)) return s;
  }
  return absl::OkStatus();
}

StatusOr<Principal> AuthService::Authenticate(std::string_view authorization) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.empty()) {
    return absl::UnauthenticatedError("authentication required (Authorization: Bearer <token>)");
  }
  if (authorization.size() <= kBearer.size() || !StartsWithIgnoreCase(authorization, kBearer)) {
    return absl::UnauthenticatedError("the Authorization header must be 'Bearer <token>'");
  }
  const std::string_view token = authorization.substr(kBearer.size());
  Principal p;
  std::optional<JwtClaims> access;  // set for an access token
  if (ClassifyToken(token) == TokenKind::kApiKey) {
    StatusOr<ApiKeyRecord> key = users_->FindApiKey(HashToken(token));
    if (!key.ok()) {
      if (absl::IsNotFound(key.status())) return absl::UnauthenticatedError("unknown API key");
      return key.status();
    }
    if (key->revoked_at != 0) return absl::UnauthenticatedError("API key revoked");
    p.user_id = key->user_id;
    p.api_key_id = key->id;
    (void)users_->TouchApiKey(key->id);
  } else {
    ASSIGN_OR_RETURN(JwtClaims claims, VerifyJwt(token, secret_, NowMs() / 1000));
    int64_t id = 0;
    if (!absl::SimpleAtoi(claims.sub, &id) || id <= 0) {
      return absl::UnauthenticatedError("malformed token: bad sub");
    }
    ASSIGN_OR_RETURN(bool revoked, users_->AccessTokenRevoked(claims.jti));
    if (revoked) return absl::UnauthenticatedError(std::string(kJwtRevoked));
    p.user_id = id;
    p.jti = claims.jti;
    p.expires_at = claims.exp;
    access = std::move(claims);
  }
  StatusOr<UserRecord> user = users_->GetUser(p.user_id);
  if (!user.ok()) {
    if (absl::IsNotFound(user.status())) return absl::UnauthenticatedError("unknown user");
    return user.status();
  }
  if (user->disabled_at != 0) return absl::UnauthenticatedError("the user is disabled");
  if (access) {
    // Issued under another password version: the change ends every session. Tokens of
    // older versions of infera carry none and are judged by whole seconds, refusing the
    // second of the change itself.
    const bool stale = access->pwv ? *access->pwv != user->password_changed_at
                                   : user->password_changed_at / 1000 >= access->iat;
    if (stale) return absl::UnauthenticatedError(std::string(kJwtRevoked));
    if (!access->sid.empty()) {
      // A session ended by logout, refresh-token reuse, a password change or a disable.
      ASSIGN_OR_RETURN(bool ended, users_->RefreshFamilyRevoked(access->sid));
      if (ended) return absl::UnauthenticatedError(std::string(kJwtRevoked));
    }
  }
  ASSIGN_OR_RETURN(p.role, ParseRole(user->role));  // the stored role, not the token's
  p.username = user->username;
  return p;
}

StatusOr<UserRecord> AuthService::CreateUser(std::string_view username, std::string_view password,
                                             Role role) {
  RETURN_IF_ERROR(ValidateUsername(username));
  RETURN_IF_ERROR(CheckPasswordPolicy(password));
  ASSIGN_OR_RETURN(std::string hash, HashPassword(password, options_.argon2));
  UserRecord user;
  user.username = std::string(username);
  user.password_hash = std::move(hash);
  user.role = std::string(RoleName(role));
  return users_->CreateUser(user);
}

Status AuthService::SetPassword(int64_t user_id, std::string_view password) {
  RETURN_IF_ERROR(CheckPasswordPolicy(password));
  ASSIGN_OR_RETURN(std::string hash, HashPassword(password, options_.argon2));
  return users_->SetPasswordHash(user_id, hash);
}

StatusOr<std::pair<ApiKeyRecord, std::string>> AuthService::CreateApiKey(int64_t user_id,
                                                                         std::string_view name) {
  if (name.size() > 128) return absl::InvalidArgumentError("API key name over 128 characters");
  ASSIGN_OR_RETURN(std::string key, GenerateToken(TokenKind::kApiKey));
  ApiKeyRecord record;
  record.user_id = user_id;
  record.name = std::string(name);
  record.prefix = TokenDisplayPrefix(key);
  record.key_hash = HashToken(key);
  ASSIGN_OR_RETURN(ApiKeyRecord created, users_->CreateApiKey(record));
  return std::make_pair(std::move(created), std::move(key));
}

StatusOr<std::optional<std::string>> AuthService::EnsureAdmin(std::string_view password) {
  ASSIGN_OR_RETURN(int64_t count, users_->CountUsers());
  if (count > 0) return std::optional<std::string>();
  std::string chosen(password);
  if (chosen.empty()) {
    ASSIGN_OR_RETURN(std::string random, SecureRandomBytes(12));
    chosen = HexEncode(random);
  }
  StatusOr<UserRecord> created = CreateUser("admin", chosen, Role::kAdmin);
  if (absl::IsAlreadyExists(created.status())) return std::optional<std::string>();
  RETURN_IF_ERROR(created.status());
  return std::optional<std::string>(chosen);
}

}  // namespace infera
