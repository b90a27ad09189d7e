// The BlobStore in PostgreSQL (see postgres_store.h): blob_contents names each complete
// blob, blob_chunks holds its bytes in 1 MiB rows (migration 3). Bytes travel as binary
// parameters and results (no hex or escape encoding on the wire).
#include <fstream>
#include <system_error>

#include "common/clock.h"
#include "common/sha256.h"
#include "common/strings.h"
#include "store/blob_store.h"
#include "store/postgres_db.h"
#include "store/postgres_open.h"
#include "store/postgres_store.h"

namespace infera {

namespace {

namespace fs = std::filesystem;

constexpr size_t kChunkBytes = 1 << 20;

Status CheckSha(std::string_view sha256) {
  if (IsSha256Hex(sha256)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      StrCat("blob name must be 64 lower-case hex digits (a sha256), got '", sha256.substr(0, 80),
             sha256.size() > 80 ? "...'" : "'"));
}

Status BlobNotFound(std::string_view sha256) {
  return absl::NotFoundError(StrCat("blob ", sha256, " not found"));
}

// One blob being written: its chunks go in under a fresh content id inside one
// transaction; Finish names it by its sha256, or drops it all when that content is
// stored already.
class BlobWriter {
 public:
  static StatusOr<std::unique_ptr<BlobWriter>> Start(PgPool& pool) {
    ASSIGN_OR_RETURN(PgPool::Lease conn, pool.Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*conn));
    ASSIGN_OR_RETURN(PgResult r, conn->Exec("SELECT nextval('blob_content_ids')"));
    const int64_t id = r.Int(0, 0);
    return std::unique_ptr<BlobWriter>(new BlobWriter(std::move(conn), std::move(txn), id));
  }

  Status Add(std::string_view chunk) {
    hasher_.Update(chunk);
    size_ += static_cast<int64_t>(chunk.size());
    RETURN_IF_ERROR(conn_
                        ->ExecBinary("INSERT INTO blob_chunks (content_id, seq, bytes)"
                                     " VALUES ($1, $2, $3)",
                                     {PgParam(id_), PgParam(chunks_)}, chunk)
                        .status());
    ++chunks_;
    return absl::OkStatus();
  }

  StatusOr<BlobInfo> Finish() {
    BlobInfo info{hasher_.FinishHex(), size_};
    // Waits for a concurrent writer of the same content to commit, then adds nothing.
    ASSIGN_OR_RETURN(PgResult r, conn_->Exec("INSERT INTO blob_contents (sha256, content_id,"
                                             " size, chunks) VALUES ($1, $2, $3, $4)"
                                             " ON CONFLICT (sha256) DO NOTHING",
                                             info.sha256, id_, size_, chunks_));
    if (r.affected() == 1) RETURN_IF_ERROR(txn_.Commit());
    // Otherwise the content is stored already: the transaction rolls back our chunks.
    return info;
  }

 private:
  BlobWriter(PgPool::Lease conn, PgTransaction txn, int64_t id)
      : conn_(std::move(conn)), txn_(std::move(txn)), id_(id) {}

  PgPool::Lease conn_;
  PgTransaction txn_;  // declared after conn_: rolled back before the lease returns
  const int64_t id_;
  Sha256Hasher hasher_;
  int64_t size_ = 0;
  int chunks_ = 0;
};

class PostgresBlobStore final : public BlobStore {
 public:
  explicit PostgresBlobStore(std::unique_ptr<PgPool> pool) : pool_(std::move(pool)) {}

  StatusOr<BlobInfo> Put(std::span<const std::byte> bytes) override {
    const std::string_view all(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    {
      const std::string sha = Sha256Hex(bytes);
      ASSIGN_OR_RETURN(bool exists, Exists(sha));
      if (exists) return BlobInfo{sha, static_cast<int64_t>(bytes.size())};
    }
    ASSIGN_OR_RETURN(std::unique_ptr<BlobWriter> writer, BlobWriter::Start(*pool_));
    for (size_t at = 0; at < all.size(); at += kChunkBytes) {
      RETURN_IF_ERROR(writer->Add(all.substr(at, kChunkBytes)));
    }
    return writer->Finish();
  }

  StatusOr<BlobInfo> PutFile(const fs::path& file) override {
    std::error_code ec;
    const fs::file_status st = fs::status(file, ec);
    if (ec || !fs::exists(st)) return absl::NotFoundError(StrCat(file.string(), " not found"));
    if (!fs::is_regular_file(st)) {
      return absl::InvalidArgumentError(StrCat(file.string(), " is not a regular file"));
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) return absl::InternalError(StrCat("cannot open ", file.string()));
    ASSIGN_OR_RETURN(std::unique_ptr<BlobWriter> writer, BlobWriter::Start(*pool_));
    std::string buf(kChunkBytes, '\0');
    while (true) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      const std::streamsize n = in.gcount();
      if (n > 0) RETURN_IF_ERROR(writer->Add(std::string_view(buf.data(), static_cast<size_t>(n))));
      if (!in) break;
    }
    if (in.bad()) return absl::InternalError(StrCat("reading ", file.string(), " failed"));
    return writer->Finish();
  }

  StatusOr<std::string> Get(std::string_view sha256) override {
    std::string out;
    RETURN_IF_ERROR(Read(sha256, [&out](std::string_view chunk) {
      out.append(chunk);
      return absl::OkStatus();
    }));
    return out;
  }

  Status Read(std::string_view sha256,
              const std::function<Status(std::string_view chunk)>& sink) override {
    RETURN_IF_ERROR(CheckSha(sha256));
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    // One snapshot for the whole read: a blob removed meanwhile is still read whole.
    ASSIGN_OR_RETURN(PgTransaction txn,
                     PgTransaction::Begin(*c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT content_id, chunks FROM blob_contents"
                                         " WHERE sha256 = $1",
                                         sha256));
    if (r.rows() == 0) return BlobNotFound(sha256);
    const int64_t id = r.Int(0, 0);
    const int64_t chunks = r.Int(0, 1);
    for (int64_t seq = 0; seq < chunks; ++seq) {
      ASSIGN_OR_RETURN(PgResult chunk, c->ExecBinary("SELECT bytes FROM blob_chunks"
                                                     " WHERE content_id = $1 AND seq = $2",
                                                     {PgParam(id), PgParam(seq)}));
      if (chunk.rows() != 1) {
        return absl::InternalError(StrCat("blob ", sha256, " lacks chunk ", seq));
      }
      RETURN_IF_ERROR(sink(chunk.Bytes(0, 0)));
    }
    return txn.Commit();
  }

  StatusOr<int64_t> Size(std::string_view sha256) override {
    RETURN_IF_ERROR(CheckSha(sha256));
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgResult r,
                     c->Exec("SELECT size FROM blob_contents WHERE sha256 = $1", sha256));
    if (r.rows() == 0) return BlobNotFound(sha256);
    return r.Int(0, 0);
  }

  Status ForEach(const std::function<Status(const BlobInfo& blob)>& fn) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT sha256, size FROM blob_contents ORDER BY sha256"));
    for (int i = 0; i < r.rows(); ++i) {
      RETURN_IF_ERROR(fn(BlobInfo{.sha256 = r.Text(i, 0), .size = r.Int(i, 1)}));
    }
    return absl::OkStatus();
  }

  Status Remove(std::string_view sha256) override {
    RETURN_IF_ERROR(CheckSha(sha256));
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    // The chunks go with it (ON DELETE CASCADE).
    return c->Exec("DELETE FROM blob_contents WHERE sha256 = $1", sha256).status();
  }

  StatusOr<fs::path> LocalPath(std::string_view sha256) override {
    RETURN_IF_ERROR(CheckSha(sha256));
    return absl::NotFoundError(
        StrCat("blob ", sha256, " has no local file: blobs are kept in PostgreSQL"));
  }

 private:
  StatusOr<bool> Exists(const std::string& sha256) {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT 1 FROM blob_contents WHERE sha256 = $1", sha256));
    return r.rows() > 0;
  }

  const std::unique_ptr<PgPool> pool_;
};

}  // namespace

StatusOr<std::unique_ptr<BlobStore>> OpenPostgresBlobStore(const PostgresStoreOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<PgPool> pool,
                   OpenMigratedPgPool(options, options.now_ms ? options.now_ms() : SystemNowMs()));
  return std::unique_ptr<BlobStore>(new PostgresBlobStore(std::move(pool)));
}

}  // namespace infera
