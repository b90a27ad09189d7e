#include "store/sqlite_user_store.h"

#include "common/mutex.h"
#include "common/strings.h"
#include "store/sqlite_db.h"
#include "store/sqlite_open.h"

namespace infera {

namespace {

using Mode = SqliteTransaction::Mode;

#define INFERA_USER_COLUMNS \
  "id, username, password_hash, role, created_at, disabled_at, password_changed_at"
#define INFERA_REFRESH_COLUMNS \
  "id, user_id, token_hash, family, created_at, expires_at, used_at, revoked_at"
#define INFERA_KEY_COLUMNS \
  "id, user_id, name, prefix, key_hash, created_at, last_used_at, revoked_at"

UserRecord ReadUser(const SqliteStatement& st) {
  UserRecord u;
  u.id = st.Int(0);
  u.username = st.Text(1);
  u.password_hash = st.Text(2);
  u.role = st.Text(3);
  u.created_at = st.Int(4);
  u.disabled_at = st.Int(5);
  u.password_changed_at = st.Int(6);
  return u;
}

RefreshTokenRecord ReadRefresh(const SqliteStatement& st) {
  RefreshTokenRecord r;
  r.id = st.Int(0);
  r.user_id = st.Int(1);
  r.token_hash = st.Text(2);
  r.family = st.Text(3);
  r.created_at = st.Int(4);
  r.expires_at = st.Int(5);
  r.used_at = st.Int(6);
  r.revoked_at = st.Int(7);
  return r;
}

ApiKeyRecord ReadKey(const SqliteStatement& st) {
  ApiKeyRecord k;
  k.id = st.Int(0);
  k.user_id = st.Int(1);
  k.name = st.Text(2);
  k.prefix = st.Text(3);
  k.key_hash = st.Text(4);
  k.created_at = st.Int(5);
  k.last_used_at = st.Int(6);
  k.revoked_at = st.Int(7);
  return k;
}

class SqliteUserStore final : public UserStore {
 public:
  SqliteUserStore(std::unique_ptr<SqliteDb> db, std::function<int64_t()> now_ms)
      : db_(std::move(db)), now_ms_(std::move(now_ms)) {}

  StatusOr<UserRecord> CreateUser(const UserRecord& user) override {
    if (user.username.empty()) return absl::InvalidArgumentError("username is empty");
    if (user.password_hash.empty()) return absl::InvalidArgumentError("password hash is empty");
    if (user.role != "admin" && user.role != "user") {
      return absl::InvalidArgumentError(StrCat("role '", user.role, "' is not one of admin, user"));
    }
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("INSERT INTO users (username, password_hash, role, "
                                             "created_at, disabled_at, password_changed_at) "
                                             "VALUES (?1, ?2, ?3, ?4, 0, ?4)"));
      Status s = st.Bind(user.username, user.password_hash, user.role, Now()).Run();
      if (absl::IsAlreadyExists(s)) {
        return absl::AlreadyExistsError(StrCat("username '", user.username, "' is taken"));
      }
      RETURN_IF_ERROR(s);
    }
    ASSIGN_OR_RETURN(UserRecord created, ReadUserById(db_->LastInsertId()));
    RETURN_IF_ERROR(txn.Commit());
    return created;
  }

  StatusOr<UserRecord> GetUser(int64_t id) override {
    MutexLock lock(&mu_);
    return ReadUserById(id);
  }

  StatusOr<UserRecord> FindUser(std::string_view username) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto st,
                     db_->Prepare("SELECT " INFERA_USER_COLUMNS " FROM users WHERE username = ?1"));
    st.Bind(username);
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::NotFoundError(StrCat("no user '", username.substr(0, 128), "'"));
    return ReadUser(st);
  }

  StatusOr<std::vector<UserRecord>> ListUsers() override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto st,
                     db_->Prepare("SELECT " INFERA_USER_COLUMNS " FROM users ORDER BY id"));
    std::vector<UserRecord> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return out;
      out.push_back(ReadUser(st));
    }
  }

  StatusOr<int64_t> CountUsers() override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT COUNT(*) FROM users"));
    ASSIGN_OR_RETURN(bool row, st.Step());
    return row ? st.Int(0) : 0;
  }

  Status SetPasswordHash(int64_t user_id, const std::string& password_hash) override {
    if (password_hash.empty()) return absl::InvalidArgumentError("password hash is empty");
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    RETURN_IF_ERROR(ReadUserById(user_id).status());
    {
      // Strictly increasing: the password's version (see UserStore).
      ASSIGN_OR_RETURN(auto st, db_->Prepare("UPDATE users SET password_hash = ?2, "
                                             "password_changed_at = MAX(?3, password_changed_at "
                                             "+ 1) WHERE id = ?1"));
      RETURN_IF_ERROR(st.Bind(user_id, password_hash, Now()).Run());
    }
    RETURN_IF_ERROR(RevokeUserTokens(user_id));
    return txn.Commit();
  }

  Status SetDisabled(int64_t user_id, bool disabled) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    RETURN_IF_ERROR(ReadUserById(user_id).status());
    {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("UPDATE users SET disabled_at = ?2 WHERE id = ?1"));
      RETURN_IF_ERROR(st.Bind(user_id, disabled ? Now() : int64_t{0}).Run());
    }
    if (disabled) RETURN_IF_ERROR(RevokeUserTokens(user_id));
    return txn.Commit();
  }

  StatusOr<RefreshTokenRecord> AddRefreshToken(const RefreshTokenRecord& token) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    RETURN_IF_ERROR(ReadUserById(token.user_id).status());
    ASSIGN_OR_RETURN(RefreshTokenRecord added, InsertRefresh(token));
    RETURN_IF_ERROR(txn.Commit());
    return added;
  }

  StatusOr<RefreshTokenRecord> RotateRefreshToken(const std::string& token_hash,
                                                  const RefreshTokenRecord& next) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    ASSIGN_OR_RETURN(RefreshTokenRecord old, ReadRefreshByHash(token_hash));
    const int64_t now = Now();
    if (old.revoked_at != 0) return absl::FailedPreconditionError("refresh token revoked");
    if (old.used_at != 0) {
      RETURN_IF_ERROR(RevokeFamily(old.family));
      RETURN_IF_ERROR(txn.Commit());
      return absl::PermissionDeniedError(
          "refresh token reuse: the token was already used; the session is revoked");
    }
    if (old.expires_at <= now) return absl::FailedPreconditionError("refresh token expired");
    {
      ASSIGN_OR_RETURN(auto st,
                       db_->Prepare("UPDATE refresh_tokens SET used_at = ?2 WHERE id = ?1"));
      RETURN_IF_ERROR(st.Bind(old.id, now).Run());
    }
    RefreshTokenRecord replacement = next;
    replacement.user_id = old.user_id;
    replacement.family = old.family;
    RETURN_IF_ERROR(InsertRefresh(replacement).status());
    RETURN_IF_ERROR(txn.Commit());
    old.used_at = now;
    return old;
  }

  Status RevokeRefreshFamily(const std::string& token_hash) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    ASSIGN_OR_RETURN(RefreshTokenRecord token, ReadRefreshByHash(token_hash));
    RETURN_IF_ERROR(RevokeFamily(token.family));
    return txn.Commit();
  }

  StatusOr<bool> RefreshFamilyRevoked(const std::string& family) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT 1 FROM refresh_tokens WHERE family = ?1 "
                                           "AND revoked_at != 0 LIMIT 1"));
    st.Bind(family);
    return st.Step();
  }

  StatusOr<ApiKeyRecord> CreateApiKey(const ApiKeyRecord& key) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    RETURN_IF_ERROR(ReadUserById(key.user_id).status());
    {
      ASSIGN_OR_RETURN(auto st,
                       db_->Prepare("INSERT INTO api_keys (user_id, name, prefix, key_hash, "
                                    "created_at) VALUES (?1, ?2, ?3, ?4, ?5)"));
      RETURN_IF_ERROR(st.Bind(key.user_id, key.name, key.prefix, key.key_hash, Now()).Run());
    }
    ASSIGN_OR_RETURN(ApiKeyRecord created, ReadKeyById(db_->LastInsertId()));
    RETURN_IF_ERROR(txn.Commit());
    return created;
  }

  StatusOr<ApiKeyRecord> FindApiKey(const std::string& key_hash) override {
    MutexLock lock(&mu_);
    return ReadKeyByHash(key_hash);
  }

  StatusOr<std::vector<ApiKeyRecord>> ListApiKeys(int64_t user_id) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT " INFERA_KEY_COLUMNS
                                           " FROM api_keys WHERE user_id = ?1 ORDER BY id"));
    st.Bind(user_id);
    std::vector<ApiKeyRecord> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return out;
      out.push_back(ReadKey(st));
    }
  }

  Status RevokeApiKey(int64_t id, int64_t user_id) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    ASSIGN_OR_RETURN(ApiKeyRecord key, ReadKeyById(id));
    if (user_id != 0 && key.user_id != user_id) {
      return absl::NotFoundError(StrCat("no API key ", id));
    }
    {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("UPDATE api_keys SET revoked_at = ?2 "
                                             "WHERE id = ?1 AND revoked_at = 0"));
      RETURN_IF_ERROR(st.Bind(id, Now()).Run());
    }
    return txn.Commit();
  }

  Status TouchApiKey(int64_t id) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto st, db_->Prepare("UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1"));
    return st.Bind(id, Now()).Run();
  }

  Status RevokeAccessToken(const std::string& jti, int64_t expires_at) override {
    if (jti.empty()) return absl::InvalidArgumentError("jti is empty");
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("DELETE FROM revoked_tokens WHERE expires_at < ?1"));
      RETURN_IF_ERROR(st.Bind(Now()).Run());
    }
    {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("INSERT OR REPLACE INTO revoked_tokens (jti, "
                                             "expires_at) VALUES (?1, ?2)"));
      RETURN_IF_ERROR(st.Bind(jti, expires_at).Run());
    }
    return txn.Commit();
  }

  StatusOr<bool> AccessTokenRevoked(const std::string& jti) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT 1 FROM revoked_tokens WHERE jti = ?1"));
    st.Bind(jti);
    return st.Step();
  }

 private:
  int64_t Now() const { return now_ms_(); }

  // The helpers below run with mu_ held.
  StatusOr<UserRecord> ReadUserById(int64_t id) REQUIRES(mu_) {
    ASSIGN_OR_RETURN(auto st,
                     db_->Prepare("SELECT " INFERA_USER_COLUMNS " FROM users WHERE id = ?1"));
    st.Bind(id);
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::NotFoundError(StrCat("no user ", id));
    return ReadUser(st);
  }

  StatusOr<RefreshTokenRecord> ReadRefreshByHash(const std::string& hash) REQUIRES(mu_) {
    ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT " INFERA_REFRESH_COLUMNS
                                           " FROM refresh_tokens WHERE token_hash = ?1"));
    st.Bind(hash);
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::NotFoundError("unknown refresh token");
    return ReadRefresh(st);
  }

  StatusOr<ApiKeyRecord> ReadKeyById(int64_t id) REQUIRES(mu_) {
    ASSIGN_OR_RETURN(auto st,
                     db_->Prepare("SELECT " INFERA_KEY_COLUMNS " FROM api_keys WHERE id = ?1"));
    st.Bind(id);
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::NotFoundError(StrCat("no API key ", id));
    return ReadKey(st);
  }

  StatusOr<ApiKeyRecord> ReadKeyByHash(const std::string& hash) REQUIRES(mu_) {
    ASSIGN_OR_RETURN(
        auto st, db_->Prepare("SELECT " INFERA_KEY_COLUMNS " FROM api_keys WHERE key_hash = ?1"));
    st.Bind(hash);
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::NotFoundError("unknown API key");
    return ReadKey(st);
  }

  StatusOr<RefreshTokenRecord> InsertRefresh(const RefreshTokenRecord& token) REQUIRES(mu_) {
    if (token.family.empty()) return absl::InvalidArgumentError("refresh token family is empty");
    ASSIGN_OR_RETURN(auto st, db_->Prepare("INSERT INTO refresh_tokens (user_id, token_hash, "
                                           "family, created_at, expires_at) "
                                           "VALUES (?1, ?2, ?3, ?4, ?5)"));
    RETURN_IF_ERROR(
        st.Bind(token.user_id, token.token_hash, token.family, Now(), token.expires_at).Run());
    return ReadRefreshByHash(token.token_hash);
  }

  Status RevokeFamily(const std::string& family) REQUIRES(mu_) {
    ASSIGN_OR_RETURN(auto st, db_->Prepare("UPDATE refresh_tokens SET revoked_at = ?2 "
                                           "WHERE family = ?1 AND revoked_at = 0"));
    return st.Bind(family, Now()).Run();
  }

  Status RevokeUserTokens(int64_t user_id) REQUIRES(mu_) {
    ASSIGN_OR_RETURN(auto st, db_->Prepare("UPDATE refresh_tokens SET revoked_at = ?2 "
                                           "WHERE user_id = ?1 AND revoked_at = 0"));
    return st.Bind(user_id, Now()).Run();
  }

  Mutex mu_;
  const std::unique_ptr<SqliteDb> db_ PT_GUARDED_BY(mu_);
  const std::function<int64_t()> now_ms_;
};

}  // namespace

StatusOr<std::unique_ptr<UserStore>> OpenSqliteUserStore(const std::filesystem::path& db_file,
                                                         const SqliteUserStoreOptions& options) {
  std::function<int64_t()> now_ms = options.now_ms ? options.now_ms : SystemNowMs;
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db,
                   OpenSqliteDatabase(db_file, options.busy_timeout_ms, now_ms()));
  return std::unique_ptr<UserStore>(new SqliteUserStore(std::move(db), std::move(now_ms)));
}

}  // namespace infera

#undef INFERA_USER_COLUMNS
#undef INFERA_REFRESH_COLUMNS
#undef INFERA_KEY_COLUMNS
