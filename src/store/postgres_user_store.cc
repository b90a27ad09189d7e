// The UserStore on PostgreSQL (see postgres_store.h). The behaviour follows
// sqlite_user_store.cc call for call; a refresh-token rotation locks the token's row, so
// two nodes rotating the same token see one rotation and one reuse.
#include "common/clock.h"
#include "common/strings.h"
#include "store/postgres_db.h"
#include "store/postgres_open.h"
#include "store/postgres_store.h"

namespace infera {

namespace {

#define INFERA_USER_COLUMNS \
  "id, username, password_hash, role, created_at, disabled_at, password_changed_at"
#define INFERA_REFRESH_COLUMNS \
  "id, user_id, token_hash, family, created_at, expires_at, used_at, revoked_at"
#define INFERA_KEY_COLUMNS \
  "id, user_id, name, prefix, key_hash, created_at, last_used_at, revoked_at"
// A username with ASCII letters folded, as the unique index (migration 2) has it.
#define INFERA_FOLD(x) \
  "translate(" x ", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"

UserRecord ReadUser(const PgResult& r, int i) {
  UserRecord u;
  u.id = r.Int(i, 0);
  u.username = r.Text(i, 1);
  u.password_hash = r.Text(i, 2);
  u.role = r.Text(i, 3);
  u.created_at = r.Int(i, 4);
  u.disabled_at = r.Int(i, 5);
  u.password_changed_at = r.Int(i, 6);
  return u;
}

RefreshTokenRecord ReadRefresh(const PgResult& r, int i) {
  RefreshTokenRecord t;
  t.id = r.Int(i, 0);
  t.user_id = r.Int(i, 1);
  t.token_hash = r.Text(i, 2);
  t.family = r.Text(i, 3);
  t.created_at = r.Int(i, 4);
  t.expires_at = r.Int(i, 5);
  t.used_at = r.Int(i, 6);
  t.revoked_at = r.Int(i, 7);
  return t;
}

ApiKeyRecord ReadKey(const PgResult& r, int i) {
  ApiKeyRecord k;
  k.id = r.Int(i, 0);
  k.user_id = r.Int(i, 1);
  k.name = r.Text(i, 2);
  k.prefix = r.Text(i, 3);
  k.key_hash = r.Text(i, 4);
  k.created_at = r.Int(i, 5);
  k.last_used_at = r.Int(i, 6);
  k.revoked_at = r.Int(i, 7);
  return k;
}

class PostgresUserStore final : public UserStore {
 public:
  PostgresUserStore(std::unique_ptr<PgPool> pool, std::function<int64_t()> now_ms)
      : pool_(std::move(pool)), now_ms_(std::move(now_ms)) {}

  StatusOr<UserRecord> CreateUser(const UserRecord& user) override {
    if (user.username.empty()) return absl::InvalidArgumentError("username is empty");
    if (user.password_hash.empty()) return absl::InvalidArgumentError("password hash is empty");
    if (user.role != "admin" && user.role != "user") {
      return absl::InvalidArgumentError(StrCat("role '", user.role, "' is not one of admin, user"));
    }
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    StatusOr<PgResult> r = c->Exec(
        "INSERT INTO users (username, password_hash, role,"
        " created_at, disabled_at, password_changed_at)"
        " VALUES ($1, $2, $3, $4, 0, $4) RETURNING " INFERA_USER_COLUMNS,
        user.username, user.password_hash, user.role, Now());
    if (absl::IsAlreadyExists(r.status())) {
      return absl::AlreadyExistsError(StrCat("username '", user.username, "' is taken"));
    }
    RETURN_IF_ERROR(r.status());
    return ReadUser(*r, 0);
  }

  StatusOr<UserRecord> GetUser(int64_t id) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    return ReadUserById(*c, id);
  }

  StatusOr<UserRecord> FindUser(std::string_view username) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgResult r,
                     c->Exec("SELECT " INFERA_USER_COLUMNS
                             " FROM users WHERE " INFERA_FOLD("username") " = " INFERA_FOLD("$1"),
                             username));
    if (r.rows() == 0)
      return absl::NotFoundError(StrCat("no user '", username.substr(0, 128), "'"));
    return ReadUser(r, 0);
  }

  StatusOr<std::vector<UserRecord>> ListUsers() override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT " INFERA_USER_COLUMNS " FROM users ORDER BY id"));
    std::vector<UserRecord> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadUser(r, i));
    return out;
  }

  StatusOr<int64_t> CountUsers() override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT COUNT(*) FROM users"));
    return r.Int(0, 0);
  }

  Status SetPasswordHash(int64_t user_id, const std::string& password_hash) override {
    if (password_hash.empty()) return absl::InvalidArgumentError("password hash is empty");
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*c));
    RETURN_IF_ERROR(LockUser(*c, user_id));
    // Strictly increasing: the password's version (see UserStore).
    RETURN_IF_ERROR(c->Exec("UPDATE users SET password_hash = $2,"
                            " password_changed_at = GREATEST($3, password_changed_at + 1)"
                            " WHERE id = $1",
                            user_id, password_hash, Now())
                        .status());
    RETURN_IF_ERROR(RevokeUserTokens(*c, user_id));
    return txn.Commit();
  }

  Status SetDisabled(int64_t user_id, bool disabled) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*c));
    RETURN_IF_ERROR(LockUser(*c, user_id));
    RETURN_IF_ERROR(c->Exec("UPDATE users SET disabled_at = $2 WHERE id = $1", user_id,
                            disabled ? Now() : int64_t{0})
                        .status());
    if (disabled) RETURN_IF_ERROR(RevokeUserTokens(*c, user_id));
    return txn.Commit();
  }

  StatusOr<RefreshTokenRecord> AddRefreshToken(const RefreshTokenRecord& token) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*c));
    RETURN_IF_ERROR(ReadUserById(*c, token.user_id).status());
    ASSIGN_OR_RETURN(RefreshTokenRecord added, InsertRefresh(*c, token));
    RETURN_IF_ERROR(txn.Commit());
    return added;
  }

  StatusOr<RefreshTokenRecord> RotateRefreshToken(const std::string& token_hash,
                                                  const RefreshTokenRecord& next) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*c));
    ASSIGN_OR_RETURN(RefreshTokenRecord old, ReadRefreshByHash(*c, token_hash, /*lock=*/true));
    const int64_t now = Now();
    if (old.revoked_at != 0) return absl::FailedPreconditionError("refresh token revoked");
    if (old.used_at != 0) {
      RETURN_IF_ERROR(RevokeFamily(*c, old.family));
      RETURN_IF_ERROR(txn.Commit());
      return absl::PermissionDeniedError(
          "refresh token reuse: the token was already used; the session is revoked");
    }
    if (old.expires_at <= now) return absl::FailedPreconditionError("refresh token expired");
    RETURN_IF_ERROR(
        c->Exec("UPDATE refresh_tokens SET used_at = $2 WHERE id = $1", old.id, now).status());
    RefreshTokenRecord replacement = next;
    replacement.user_id = old.user_id;
    replacement.family = old.family;
    RETURN_IF_ERROR(InsertRefresh(*c, replacement).status());
    RETURN_IF_ERROR(txn.Commit());
    old.used_at = now;
    return old;
  }

  Status RevokeRefreshFamily(const std::string& token_hash) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*c));
    ASSIGN_OR_RETURN(RefreshTokenRecord token, ReadRefreshByHash(*c, token_hash));
    RETURN_IF_ERROR(RevokeFamily(*c, token.family));
    return txn.Commit();
  }

  StatusOr<bool> RefreshFamilyRevoked(const std::string& family) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT 1 FROM refresh_tokens WHERE family = $1"
                                         " AND revoked_at <> 0 LIMIT 1",
                                         family));
    return r.rows() > 0;
  }

  StatusOr<ApiKeyRecord> CreateApiKey(const ApiKeyRecord& key) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*c));
    RETURN_IF_ERROR(ReadUserById(*c, key.user_id).status());
    ASSIGN_OR_RETURN(PgResult r, c->Exec("INSERT INTO api_keys (user_id, name, prefix, key_hash,"
                                         " created_at) VALUES ($1, $2, $3, $4, $5)"
                                         " RETURNING " INFERA_KEY_COLUMNS,
                                         key.user_id, key.name, key.prefix, key.key_hash, Now()));
    RETURN_IF_ERROR(txn.Commit());
    return ReadKey(r, 0);
  }

  StatusOr<ApiKeyRecord> FindApiKey(const std::string& key_hash) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(
        PgResult r,
        c->Exec("SELECT " INFERA_KEY_COLUMNS " FROM api_keys WHERE key_hash = $1", key_hash));
    if (r.rows() == 0) return absl::NotFoundError("unknown API key");
    return ReadKey(r, 0);
  }

  StatusOr<std::vector<ApiKeyRecord>> ListApiKeys(int64_t user_id) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT " INFERA_KEY_COLUMNS
                                         " FROM api_keys WHERE user_id = $1 ORDER BY id",
                                         user_id));
    std::vector<ApiKeyRecord> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadKey(r, i));
    return out;
  }

  Status RevokeApiKey(int64_t id, int64_t user_id) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*c));
    ASSIGN_OR_RETURN(PgResult r,
                     c->Exec("SELECT user_id FROM api_keys WHERE id = $1 FOR UPDATE", id));
    if (r.rows() == 0 || (user_id != 0 && r.Int(0, 0) != user_id)) {
      return absl::NotFoundError(StrCat("no API key ", id));
    }
    RETURN_IF_ERROR(
        c->Exec("UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at = 0", id, Now())
            .status());
    return txn.Commit();
  }

  Status TouchApiKey(int64_t id) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    return c->Exec("UPDATE api_keys SET last_used_at = $2 WHERE id = $1", id, Now()).status();
  }

  Status RevokeAccessToken(const std::string& jti, int64_t expires_at) override {
    if (jti.empty()) return absl::InvalidArgumentError("jti is empty");
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*c));
    RETURN_IF_ERROR(c->Exec("DELETE FROM revoked_tokens WHERE expires_at < $1", Now()).status());
    RETURN_IF_ERROR(c->Exec("INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2)"
                            " ON CONFLICT (jti) DO UPDATE SET expires_at = EXCLUDED.expires_at",
                            jti, expires_at)
                        .status());
    return txn.Commit();
  }

  StatusOr<bool> AccessTokenRevoked(const std::string& jti) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT 1 FROM revoked_tokens WHERE jti = $1", jti));
    return r.rows() > 0;
  }

 private:
  int64_t Now() const { return now_ms_(); }

  StatusOr<UserRecord> ReadUserById(PgConnection& c, int64_t id) {
    ASSIGN_OR_RETURN(PgResult r,
                     c.Exec("SELECT " INFERA_USER_COLUMNS " FROM users WHERE id = $1", id));
    if (r.rows() == 0) return absl::NotFoundError(StrCat("no user ", id));
    return ReadUser(r, 0);
  }

  Status LockUser(PgConnection& c, int64_t id) {
    ASSIGN_OR_RETURN(PgResult r, c.Exec("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", id));
    if (r.rows() == 0) return absl::NotFoundError(StrCat("no user ", id));
    return absl::OkStatus();
  }

  StatusOr<RefreshTokenRecord> ReadRefreshByHash(PgConnection& c, const std::string& hash,
                                                 bool lock = false) {
    ASSIGN_OR_RETURN(
        PgResult r,
        lock ? c.Exec("SELECT " INFERA_REFRESH_COLUMNS " FROM refresh_tokens WHERE token_hash = $1"
                      " FOR UPDATE",
                      hash)
             : c.Exec("SELECT " INFERA_REFRESH_COLUMNS " FROM refresh_tokens WHERE token_hash = $1",
                      hash));
    if (r.rows() == 0) return absl::NotFoundError("unknown refresh token");
    return ReadRefresh(r, 0);
  }

  StatusOr<RefreshTokenRecord> InsertRefresh(PgConnection& c, const RefreshTokenRecord& token) {
    if (token.family.empty()) return absl::InvalidArgumentError("refresh token family is empty");
    ASSIGN_OR_RETURN(
        PgResult r, c.Exec("INSERT INTO refresh_tokens (user_id, token_hash, family,"
                           " created_at, expires_at) VALUES ($1, $2, $3, $4, $5)"
                           " RETURNING " INFERA_REFRESH_COLUMNS,
                           token.user_id, token.token_hash, token.family, Now(), token.expires_at));
    return ReadRefresh(r, 0);
  }

  Status RevokeFamily(PgConnection& c, const std::string& family) {
    return c
        .Exec("UPDATE refresh_tokens SET revoked_at = $2 WHERE family = $1 AND revoked_at = 0",
              family, Now())
        .status();
  }

  Status RevokeUserTokens(PgConnection& c, int64_t user_id) {
    return c
        .Exec("UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at = 0",
              user_id, Now())
        .status();
  }

  const std::unique_ptr<PgPool> pool_;
  const std::function<int64_t()> now_ms_;
};

}  // namespace

StatusOr<std::unique_ptr<UserStore>> OpenPostgresUserStore(const PostgresStoreOptions& options) {
  std::function<int64_t()> now_ms = options.now_ms ? options.now_ms : SystemNowMs;
  ASSIGN_OR_RETURN(std::unique_ptr<PgPool> pool, OpenMigratedPgPool(options, now_ms()));
  return std::unique_ptr<UserStore>(new PostgresUserStore(std::move(pool), std::move(now_ms)));
}

}  // namespace infera

#undef INFERA_USER_COLUMNS
#undef INFERA_REFRESH_COLUMNS
#undef INFERA_KEY_COLUMNS
#undef INFERA_FOLD
