// The AnnotationStore on PostgreSQL (see postgres_store.h). The behaviour follows
// sqlite_annotation_store.cc call for call; concurrent calls from many nodes are kept
// apart by row locks taken in one order — the dataset's row first (FOR KEY SHARE, which
// a DeleteDataset's FOR UPDATE waits for and vice versa), then the set's (FOR UPDATE:
// revisions of one set are numbered one writer at a time) — and by the unique
// constraints (one name per dataset, one number per revision).
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/strings.h"
#include "store/annotation_store.h"
#include "store/postgres_db.h"
#include "store/postgres_open.h"
#include "store/postgres_store.h"

namespace infera {
namespace {

// Column lists, in the order ReadSetRow / ReadRevisionRow expect them.
// The count is of images with a mask or (image_labels) a current label other than 0.
#define INFERA_SET_COLUMNS                                                        \
  "s.id, s.dataset_id, s.owner_id, s.name, s.kind, s.labels_json, s.created_at,"  \
  " (SELECT COUNT(DISTINCT r.source_file_id) FROM annotation_revisions r"         \
  " WHERE r.set_id = s.id) + (SELECT COUNT(*) FROM annotation_image_labels l"     \
  " WHERE l.set_id = s.id AND l.label_id <> 0 AND l.revision = (SELECT"           \
  " MAX(q.revision) FROM annotation_image_labels q WHERE q.set_id = l.set_id AND" \
  " q.source_file_id = l.source_file_id))"
#define INFERA_LABEL_COLUMNS \
  "l.id, l.set_id, l.source_file_id, l.revision, l.label_id, l.author_id, l.origin, l.created_at"
#define INFERA_REVISION_COLUMNS                                                        \
  "r.id, r.set_id, r.source_file_id, r.revision, r.sha256, r.size, r.width, r.height," \
  " r.bit_depth, r.author_id, r.origin, r.classes_json, r.created_at"
// Shared with postgres_store.cc: a new blob reference waits for no sweep's choice.
#define INFERA_BLOB_LOCK_SHARED "SELECT pg_advisory_xact_lock_shared(7234015614396264290)"

StatusOr<AnnotationSetRecord> ReadSetRow(const PgResult& r, int i) {
  AnnotationSetRecord s;
  s.id = r.Int(i, 0);
  s.dataset_id = r.Int(i, 1);
  s.owner_id = r.Int(i, 2);
  s.name = r.Text(i, 3);
  StatusOr<AnnotationKind> kind = ParseAnnotationKind(r.Text(i, 4));
  if (!kind.ok()) {
    return absl::InternalError(StrCat("annotation set ", s.id, " has a corrupt kind"));
  }
  s.kind = *kind;
  s.labels_json = r.Text(i, 5);
  s.created_at = r.Int(i, 6);
  s.mask_count = r.Int(i, 7);
  return s;
}

MaskRevisionRecord ReadRevisionRow(const PgResult& r, int i) {
  MaskRevisionRecord m;
  m.id = r.Int(i, 0);
  m.set_id = r.Int(i, 1);
  m.source_file_id = r.Int(i, 2);
  m.revision = static_cast<int>(r.Int(i, 3));
  m.sha256 = r.Text(i, 4);
  m.size = r.Int(i, 5);
  m.width = static_cast<int>(r.Int(i, 6));
  m.height = static_cast<int>(r.Int(i, 7));
  m.bit_depth = static_cast<int>(r.Int(i, 8));
  m.author_id = r.Int(i, 9);
  m.origin = r.Text(i, 10);
  m.classes_json = r.Text(i, 11);
  m.created_at = r.Int(i, 12);
  return m;
}

ImageLabelRecord ReadLabelRow(const PgResult& r, int i) {
  ImageLabelRecord l;
  l.id = r.Int(i, 0);
  l.set_id = r.Int(i, 1);
  l.source_file_id = r.Int(i, 2);
  l.revision = static_cast<int>(r.Int(i, 3));
  l.label_id = static_cast<int>(r.Int(i, 4));
  l.author_id = r.Int(i, 5);
  l.origin = r.Text(i, 6);
  l.created_at = r.Int(i, 7);
  return l;
}

bool IsJsonOf(const std::string& text, nlohmann::json::value_t type) {
  const nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return !parsed.is_discarded() && parsed.type() == type;
}

class PostgresAnnotationStore final : public AnnotationStore {
 public:
  PostgresAnnotationStore(std::unique_ptr<PgPool> pool, std::function<int64_t()> now_ms)
      : pool_(std::move(pool)), now_ms_(std::move(now_ms)) {}

  StatusOr<AnnotationSetRecord> CreateAnnotationSet(
      const AnnotationSetRecord& set, const std::vector<MaskRevisionRecord>& masks,
      const std::vector<ImageLabelRecord>& labels) override {
    if (set.name.empty()) return absl::InvalidArgumentError("annotation set name is empty");
    RETURN_IF_ERROR(ValidateMaskRevisions(masks));
    RETURN_IF_ERROR(ValidateImageLabels(labels));
    if (!masks.empty()) RETURN_IF_ERROR(CheckWriteKind(set, /*labels=*/false));
    if (!labels.empty()) RETURN_IF_ERROR(CheckWriteKind(set, /*labels=*/true));
    if (!IsJsonOf(set.labels_json, nlohmann::json::value_t::array)) {
      return absl::InvalidArgumentError("annotation set labels are not a JSON array");
    }
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*c));
    RETURN_IF_ERROR(LockDatasetShared(*c, set.dataset_id));
    {
      ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT 1 FROM annotation_sets"
                                           " WHERE dataset_id = $1 AND name = $2",
                                           set.dataset_id, set.name));
      if (r.rows() > 0) return Duplicate(set);
    }
    // The unique (dataset_id, name) constraint is the last word against a racing create.
    StatusOr<PgResult> inserted = c->Exec(
        "INSERT INTO annotation_sets (dataset_id, owner_id, name, kind, labels_json,"
        " created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        set.dataset_id, set.owner_id, set.name, AnnotationKindName(set.kind), set.labels_json,
        Now());
    if (!inserted.ok()) {
      if (inserted.status().code() == absl::StatusCode::kAlreadyExists) return Duplicate(set);
      return inserted.status();
    }
    const int64_t id = inserted->Int(0, 0);
    RETURN_IF_ERROR(InsertRevisions(*c, id, set.dataset_id, masks).status());
    RETURN_IF_ERROR(InsertRevisions(*c, id, set.dataset_id, labels).status());
    ASSIGN_OR_RETURN(AnnotationSetRecord created, ReadSet(*c, id));
    RETURN_IF_ERROR(txn.Commit());
    return created;
  }

  StatusOr<AnnotationSetRecord> GetAnnotationSet(int64_t id) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    return ReadSet(*c, id);
  }

  StatusOr<std::vector<AnnotationSetRecord>> ListAnnotationSets(int64_t dataset_id) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn,
                     PgTransaction::Begin(*c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    {
      ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT 1 FROM datasets WHERE id = $1", dataset_id));
      if (r.rows() == 0) return absl::NotFoundError(StrCat("dataset ", dataset_id, " not found"));
    }
    ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT " INFERA_SET_COLUMNS
                                         " FROM annotation_sets s WHERE s.dataset_id = $1"
                                         " ORDER BY s.created_at, s.id",
                                         dataset_id));
    std::vector<AnnotationSetRecord> out;
    for (int i = 0; i < r.rows(); ++i) {
      ASSIGN_OR_RETURN(AnnotationSetRecord s, ReadSetRow(r, i));
      out.push_back(std::move(s));
    }
    RETURN_IF_ERROR(txn.Commit());
    return out;
  }

  StatusOr<std::vector<std::string>> DeleteAnnotationSet(int64_t id) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*c));
    RETURN_IF_ERROR(LockSet(*c, id).status());
    ASSIGN_OR_RETURN(PgResult dropped, c->Exec("SELECT DISTINCT sha256 FROM annotation_revisions"
                                               " WHERE set_id = $1 ORDER BY sha256",
                                               id));
    RETURN_IF_ERROR(c->Exec("DELETE FROM annotation_sets WHERE id = $1", id).status());
    std::vector<std::string> unreferenced;
    for (int i = 0; i < dropped.rows(); ++i) {
      std::string sha = dropped.Text(i, 0);
      ASSIGN_OR_RETURN(PgResult r,
                       c->Exec("SELECT EXISTS (SELECT 1 FROM files WHERE sha256 = $1)"
                               " OR EXISTS (SELECT 1 FROM annotation_revisions WHERE sha256 = $1)",
                               sha));
      if (!r.Bool(0, 0)) unreferenced.push_back(std::move(sha));
    }
    RETURN_IF_ERROR(txn.Commit());
    return unreferenced;
  }

  StatusOr<std::vector<MaskRevisionRecord>> AddMaskRevisions(
      int64_t set_id, const std::vector<MaskRevisionRecord>& masks) override {
    RETURN_IF_ERROR(ValidateMaskRevisions(masks));
    return AddToSet(set_id, masks);
  }

  StatusOr<MaskRevisionRecord> GetCurrentMask(int64_t set_id, int64_t source_file_id) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn,
                     PgTransaction::Begin(*c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    RETURN_IF_ERROR(ReadSet(*c, set_id).status());
    ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT " INFERA_REVISION_COLUMNS
                                         " FROM annotation_revisions r WHERE r.set_id = $1"
                                         " AND r.source_file_id = $2"
                                         " ORDER BY r.revision DESC LIMIT 1",
                                         set_id, source_file_id));
    if (r.rows() == 0) {
      return absl::NotFoundError(
          StrCat("file ", source_file_id, " has no mask in annotation set ", set_id));
    }
    RETURN_IF_ERROR(txn.Commit());
    return ReadRevisionRow(r, 0);
  }

  StatusOr<std::vector<MaskRevisionRecord>> ListMaskRevisions(int64_t set_id,
                                                              int64_t source_file_id) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn,
                     PgTransaction::Begin(*c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    RETURN_IF_ERROR(ReadSet(*c, set_id).status());
    ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT " INFERA_REVISION_COLUMNS
                                         " FROM annotation_revisions r WHERE r.set_id = $1"
                                         " AND r.source_file_id = $2 ORDER BY r.revision",
                                         set_id, source_file_id));
    std::vector<MaskRevisionRecord> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadRevisionRow(r, i));
    RETURN_IF_ERROR(txn.Commit());
    return out;
  }

  StatusOr<std::vector<MaskRevisionRecord>> ListCurrentMasks(int64_t set_id) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn,
                     PgTransaction::Begin(*c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    RETURN_IF_ERROR(ReadSet(*c, set_id).status());
    ASSIGN_OR_RETURN(PgResult r,
                     c->Exec("SELECT DISTINCT ON (r.source_file_id) " INFERA_REVISION_COLUMNS
                             " FROM annotation_revisions r WHERE r.set_id = $1"
                             " ORDER BY r.source_file_id, r.revision DESC",
                             set_id));
    std::vector<MaskRevisionRecord> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadRevisionRow(r, i));
    RETURN_IF_ERROR(txn.Commit());
    return out;
  }

  StatusOr<std::vector<ImageLabelRecord>> AddImageLabels(
      int64_t set_id, const std::vector<ImageLabelRecord>& labels) override {
    RETURN_IF_ERROR(ValidateImageLabels(labels));
    return AddToSet(set_id, labels);
  }

  StatusOr<std::vector<ImageLabelRecord>> ListImageLabelRevisions(int64_t set_id,
                                                                  int64_t source_file_id) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn,
                     PgTransaction::Begin(*c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    RETURN_IF_ERROR(ReadSet(*c, set_id).status());
    ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT " INFERA_LABEL_COLUMNS
                                         " FROM annotation_image_labels l WHERE l.set_id = $1"
                                         " AND l.source_file_id = $2 ORDER BY l.revision",
                                         set_id, source_file_id));
    std::vector<ImageLabelRecord> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadLabelRow(r, i));
    RETURN_IF_ERROR(txn.Commit());
    return out;
  }

  StatusOr<std::vector<ImageLabelRecord>> ListCurrentImageLabels(int64_t set_id) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn,
                     PgTransaction::Begin(*c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    RETURN_IF_ERROR(ReadSet(*c, set_id).status());
    ASSIGN_OR_RETURN(
        PgResult r,
        c->Exec("SELECT * FROM (SELECT DISTINCT ON (l.source_file_id) " INFERA_LABEL_COLUMNS
                " FROM annotation_image_labels l WHERE l.set_id = $1"
                " ORDER BY l.source_file_id, l.revision DESC) cur"
                " WHERE cur.label_id <> 0 ORDER BY cur.source_file_id",
                set_id));
    std::vector<ImageLabelRecord> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadLabelRow(r, i));
    RETURN_IF_ERROR(txn.Commit());
    return out;
  }

 private:
  int64_t Now() const { return now_ms_(); }

  static Status Duplicate(const AnnotationSetRecord& set) {
    return absl::AlreadyExistsError(StrCat(
        "dataset ", set.dataset_id, " already has an annotation set named '", set.name, "'"));
  }

  StatusOr<AnnotationSetRecord> ReadSet(PgConnection& c, int64_t id) {
    ASSIGN_OR_RETURN(
        PgResult r,
        c.Exec("SELECT " INFERA_SET_COLUMNS " FROM annotation_sets s WHERE s.id = $1", id));
    if (r.rows() == 0) return absl::NotFoundError(StrCat("annotation set ", id, " not found"));
    return ReadSetRow(r, 0);
  }

  // Locks the dataset's row against deletion to the end of the transaction (the first
  // lock of every write here, as of the Store's); NotFound when it is gone.
  Status LockDatasetShared(PgConnection& c, int64_t dataset_id) {
    ASSIGN_OR_RETURN(PgResult r,
                     c.Exec("SELECT 1 FROM datasets WHERE id = $1 FOR KEY SHARE", dataset_id));
    if (r.rows() == 0) return absl::NotFoundError(StrCat("dataset ", dataset_id, " not found"));
    return absl::OkStatus();
  }

  // The set, its dataset's row locked FOR KEY SHARE and then its own FOR UPDATE (in that
  // order, the order DeleteDataset's cascade takes them), to the end of the transaction.
  StatusOr<AnnotationSetRecord> LockSet(PgConnection& c, int64_t id) {
    ASSIGN_OR_RETURN(AnnotationSetRecord set, ReadSet(c, id));
    RETURN_IF_ERROR(LockDatasetShared(c, set.dataset_id));
    ASSIGN_OR_RETURN(PgResult r,
                     c.Exec("SELECT 1 FROM annotation_sets WHERE id = $1 FOR UPDATE", id));
    if (r.rows() == 0) return absl::NotFoundError(StrCat("annotation set ", id, " not found"));
    return ReadSet(c, id);
  }

  // AddMaskRevisions and AddImageLabels once the records are validated: in one
  // transaction, locks set `set_id`, checks that it holds records of this kind and
  // writes them.
  template <typename Record>
  StatusOr<std::vector<Record>> AddToSet(int64_t set_id, const std::vector<Record>& records) {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*c));
    ASSIGN_OR_RETURN(AnnotationSetRecord set, LockSet(*c, set_id));
    RETURN_IF_ERROR(CheckWriteKind(set, /*labels=*/std::is_same_v<Record, ImageLabelRecord>));
    ASSIGN_OR_RETURN(std::vector<Record> written,
                     InsertRevisions(*c, set_id, set.dataset_id, records));
    RETURN_IF_ERROR(txn.Commit());
    return written;
  }

  // Writes the next revision of each record (validated: a MaskRevisionRecord or an
  // ImageLabelRecord) of set `set_id` of dataset `dataset_id` (whose row the caller
  // locked): its image checked and locked FOR KEY SHARE, then InsertRow. Mask revisions
  // reference blobs: those are written under the shared blob lock (not while a sweep is
  // choosing what to remove).
  template <typename Record>
  StatusOr<std::vector<Record>> InsertRevisions(PgConnection& c, int64_t set_id, int64_t dataset_id,
                                                const std::vector<Record>& records) {
    std::vector<Record> written;
    if (records.empty()) return written;
    if constexpr (std::is_same_v<Record, MaskRevisionRecord>) {
      RETURN_IF_ERROR(c.Exec(INFERA_BLOB_LOCK_SHARED).status());
    }
    const int64_t now = Now();
    for (const Record& record : records) {
      {
        ASSIGN_OR_RETURN(PgResult r, c.Exec("SELECT dataset_id, role FROM files WHERE id = $1"
                                            " FOR KEY SHARE",
                                            record.source_file_id));
        if (r.rows() == 0)
          return absl::NotFoundError(StrCat("file ", record.source_file_id, " not found"));
        if (r.Int(0, 0) != dataset_id || r.Text(0, 1) != "source") {
          return absl::InvalidArgumentError(
              StrCat("file ", record.source_file_id, " is not an image of dataset ", dataset_id));
        }
      }
      Record rec = record;
      rec.set_id = set_id;
      rec.created_at = now;
      RETURN_IF_ERROR(InsertRow(c, &rec));
      written.push_back(std::move(rec));
    }
    return written;
  }

  // Inserts a mask revision (set_id and created_at filled) as the next of its image,
  // setting its id and revision, and registers its blob.
  static Status InsertRow(PgConnection& c, MaskRevisionRecord* rec) {
    ASSIGN_OR_RETURN(
        PgResult r,
        c.Exec("INSERT INTO annotation_revisions (set_id, source_file_id, revision, sha256,"
               " size, width, height, bit_depth, author_id, origin, classes_json, created_at)"
               " SELECT $1, $2, COALESCE(MAX(revision), 0) + 1, $3, $4, $5, $6, $7, $8, $9,"
               " $10, $11 FROM annotation_revisions WHERE set_id = $1 AND source_file_id = $2"
               " RETURNING id, revision",
               rec->set_id, rec->source_file_id, rec->sha256, rec->size, rec->width, rec->height,
               rec->bit_depth, rec->author_id, rec->origin, rec->classes_json, rec->created_at));
    rec->id = r.Int(0, 0);
    rec->revision = static_cast<int>(r.Int(0, 1));
    return c
        .Exec(
            "INSERT INTO blobs (sha256, size, created_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (sha256) DO NOTHING",
            rec->sha256, rec->size, rec->created_at)
        .status();
  }

  // Inserts an image label revision (set_id and created_at filled) as the next of its
  // image, setting its id and revision.
  static Status InsertRow(PgConnection& c, ImageLabelRecord* rec) {
    ASSIGN_OR_RETURN(
        PgResult r, c.Exec("INSERT INTO annotation_image_labels (set_id, source_file_id, revision,"
                           " label_id, author_id, origin, created_at)"
                           " SELECT $1, $2, COALESCE(MAX(revision), 0) + 1, $3, $4, $5, $6"
                           " FROM annotation_image_labels WHERE set_id = $1 AND source_file_id = $2"
                           " RETURNING id, revision",
                           rec->set_id, rec->source_file_id, rec->label_id, rec->author_id,
                           rec->origin, rec->created_at));
    rec->id = r.Int(0, 0);
    rec->revision = static_cast<int>(r.Int(0, 1));
    return absl::OkStatus();
  }

  const std::unique_ptr<PgPool> pool_;
  const std::function<int64_t()> now_ms_;
};

}  // namespace

StatusOr<std::unique_ptr<AnnotationStore>> OpenPostgresAnnotationStore(
    const PostgresStoreOptions& options) {
  std::function<int64_t()> now_ms = options.now_ms ? options.now_ms : SystemNowMs;
  ASSIGN_OR_RETURN(std::unique_ptr<PgPool> pool, OpenMigratedPgPool(options, now_ms()));
  return std::unique_ptr<AnnotationStore>(
      new PostgresAnnotationStore(std::move(pool), std::move(now_ms)));
}

}  // namespace infera

#undef INFERA_SET_COLUMNS
#undef INFERA_REVISION_COLUMNS
#undef INFERA_LABEL_COLUMNS
#undef INFERA_BLOB_LOCK_SHARED
