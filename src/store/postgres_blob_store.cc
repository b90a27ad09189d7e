// The BlobStore in PostgreSQL (see postgres_store.h): blob_contents names each complete
// blob, blob_chunks holds its bytes in 1 MiB rows (migration 3). Bytes travel as binary
// parameters and results (no hex or escape encoding on the wire).
#include <algorithm>
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

// A blob read one chunk row at a time, each fetched when the consumer has taken the
// previous one, on a connection borrowed from the pool for that query only: a consumer
// that waits (a slow client) holds one chunk in memory and no connection. The chunks
// are the ones of the content id found at open; content ids are never reused, so a blob
// removed meanwhile cannot be mixed with a later copy: its next chunk is missing and the
// read fails with Unavailable.
class PostgresBlobReader final : public BlobReader {
 public:
  PostgresBlobReader(PgPool& pool, std::string sha256, int64_t content_id, int64_t chunks,
                     int64_t size)
      : pool_(pool), sha256_(std::move(sha256)), id_(content_id), chunks_(chunks), size_(size) {}

  int64_t size() const override { return size_; }

  StatusOr<size_t> Read(std::span<char> buf) override {
    RETURN_IF_ERROR(failed_);
    if (buf.empty()) return size_t{0};
    while (at_ == current_.size()) {
      if (next_seq_ >= chunks_) return size_t{0};
      if (Status s = Fetch(); !s.ok()) {
        failed_ = s;
        return s;
      }
    }
    const size_t n = std::min(buf.size(), current_.size() - at_);
    std::copy_n(current_.data() + at_, n, buf.data());
    at_ += n;
    return n;
  }

 private:
  // Replaces the current chunk by the next one.
  Status Fetch() {
    current_ = {};
    at_ = 0;
    chunk_ = PgResult();
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_.Acquire());
    ASSIGN_OR_RETURN(PgResult r, c->ExecBinary("SELECT bytes FROM blob_chunks"
                                               " WHERE content_id = $1 AND seq = $2",
                                               {PgParam(id_), PgParam(next_seq_)}));
    if (r.rows() != 1) {
      return absl::UnavailableError(
          StrCat("blob ", sha256_, " was removed while it was read (chunk ", next_seq_, ")"));
    }
    chunk_ = std::move(r);
    current_ = chunk_.Bytes(0, 0);
    ++next_seq_;
    return absl::OkStatus();
  }

  PgPool& pool_;
  const std::string sha256_;
  const int64_t id_;
  const int64_t chunks_;
  const int64_t size_;
  int64_t next_seq_ = 0;
  PgResult chunk_;            // owns the bytes current_ views
  std::string_view current_;  // the current chunk's bytes
  size_t at_ = 0;             // bytes of current_ already read
  Status failed_;
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

  StatusOr<std::unique_ptr<BlobReader>> Open(std::string_view sha256) override {
    RETURN_IF_ERROR(CheckSha(sha256));
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT content_id, chunks, size FROM blob_contents"
                                         " WHERE sha256 = $1",
                                         sha256));
    if (r.rows() == 0) return BlobNotFound(sha256);
    return std::unique_ptr<BlobReader>(
        new PostgresBlobReader(*pool_, std::string(sha256), r.Int(0, 0), r.Int(0, 1), r.Int(0, 2)));
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
