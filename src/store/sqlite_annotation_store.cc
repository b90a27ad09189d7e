#include "store/sqlite_annotation_store.h"

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/mutex.h"
#include "common/strings.h"
#include "store/sqlite_db.h"
#include "store/sqlite_open.h"

namespace infera {
namespace {

using Mode = SqliteTransaction::Mode;

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

StatusOr<AnnotationSetRecord> ReadSetRow(const SqliteStatement& st) {
  AnnotationSetRecord s;
  s.id = st.Int(0);
  s.dataset_id = st.Int(1);
  s.owner_id = st.Int(2);
  s.name = st.Text(3);
  StatusOr<AnnotationKind> kind = ParseAnnotationKind(st.Text(4));
  if (!kind.ok())
    return absl::InternalError(StrCat("annotation set ", s.id, " has a corrupt kind"));
  s.kind = *kind;
  s.labels_json = st.Text(5);
  s.created_at = st.Int(6);
  s.mask_count = st.Int(7);
  return s;
}

MaskRevisionRecord ReadRevisionRow(const SqliteStatement& st) {
  MaskRevisionRecord r;
  r.id = st.Int(0);
  r.set_id = st.Int(1);
  r.source_file_id = st.Int(2);
  r.revision = static_cast<int>(st.Int(3));
  r.sha256 = st.Text(4);
  r.size = st.Int(5);
  r.width = static_cast<int>(st.Int(6));
  r.height = static_cast<int>(st.Int(7));
  r.bit_depth = static_cast<int>(st.Int(8));
  r.author_id = st.Int(9);
  r.origin = st.Text(10);
  r.classes_json = st.Text(11);
  r.created_at = st.Int(12);
  return r;
}

ImageLabelRecord ReadLabelRow(const SqliteStatement& st) {
  ImageLabelRecord l;
  l.id = st.Int(0);
  l.set_id = st.Int(1);
  l.source_file_id = st.Int(2);
  l.revision = static_cast<int>(st.Int(3));
  l.label_id = static_cast<int>(st.Int(4));
  l.author_id = st.Int(5);
  l.origin = st.Text(6);
  l.created_at = st.Int(7);
  return l;
}

class SqliteAnnotationStore final : public AnnotationStore {
 public:
  SqliteAnnotationStore(std::unique_ptr<SqliteDb> db, std::function<int64_t()> now_ms)
      : db_(std::move(db)), now_ms_(std::move(now_ms)) {}

  StatusOr<AnnotationSetRecord> CreateAnnotationSet(
      const AnnotationSetRecord& set, const std::vector<MaskRevisionRecord>& masks,
      const std::vector<ImageLabelRecord>& labels) override {
    if (set.name.empty()) return absl::InvalidArgumentError("annotation set name is empty");
    RETURN_IF_ERROR(ValidateMaskRevisions(masks));
    RETURN_IF_ERROR(ValidateImageLabels(labels));
    if (!masks.empty()) RETURN_IF_ERROR(CheckWriteKind(set, /*labels=*/false));
    if (!labels.empty()) RETURN_IF_ERROR(CheckWriteKind(set, /*labels=*/true));
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT 1 FROM datasets WHERE id = ?1"));
      ASSIGN_OR_RETURN(bool row, st.Bind(set.dataset_id).Step());
      if (!row) return absl::NotFoundError(StrCat("dataset ", set.dataset_id, " not found"));
    }
    {
      ASSIGN_OR_RETURN(
          auto st,
          db_->Prepare("SELECT CASE WHEN json_valid(?1) THEN json_type(?1) = 'array' ELSE 0 END"));
      ASSIGN_OR_RETURN(bool row, st.Bind(set.labels_json).Step());
      if (!row || st.Int(0) == 0) {
        return absl::InvalidArgumentError("annotation set labels are not a JSON array");
      }
    }
    {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT 1 FROM annotation_sets"
                                             " WHERE dataset_id = ?1 AND name = ?2"));
      ASSIGN_OR_RETURN(bool row, st.Bind(set.dataset_id, set.name).Step());
      if (row) {
        return absl::AlreadyExistsError(StrCat(
            "dataset ", set.dataset_id, " already has an annotation set named '", set.name, "'"));
      }
    }
    {
      ASSIGN_OR_RETURN(auto st,
                       db_->Prepare("INSERT INTO annotation_sets (dataset_id, owner_id, name, kind,"
                                    " labels_json, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
      RETURN_IF_ERROR(st.Bind(set.dataset_id, set.owner_id, set.name, AnnotationKindName(set.kind),
                              set.labels_json, Now())
                          .Run());
    }
    const int64_t id = db_->LastInsertId();
    RETURN_IF_ERROR(InsertRevisions(id, set.dataset_id, masks).status());
    RETURN_IF_ERROR(InsertRevisions(id, set.dataset_id, labels).status());
    ASSIGN_OR_RETURN(AnnotationSetRecord created, ReadSet(id));
    RETURN_IF_ERROR(txn.Commit());
    return created;
  }

  StatusOr<AnnotationSetRecord> GetAnnotationSet(int64_t id) override {
    MutexLock lock(&mu_);
    return ReadSet(id);
  }

  StatusOr<std::vector<AnnotationSetRecord>> ListAnnotationSets(int64_t dataset_id) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kDeferred));
    {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT 1 FROM datasets WHERE id = ?1"));
      ASSIGN_OR_RETURN(bool row, st.Bind(dataset_id).Step());
      if (!row) return absl::NotFoundError(StrCat("dataset ", dataset_id, " not found"));
    }
    std::vector<AnnotationSetRecord> out;
    {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT " INFERA_SET_COLUMNS
                                             " FROM annotation_sets s WHERE s.dataset_id = ?1"
                                             " ORDER BY s.created_at, s.id"));
      st.Bind(dataset_id);
      while (true) {
        ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        ASSIGN_OR_RETURN(AnnotationSetRecord s, ReadSetRow(st));
        out.push_back(std::move(s));
      }
    }
    RETURN_IF_ERROR(txn.Commit());
    return out;
  }

  StatusOr<std::vector<std::string>> DeleteAnnotationSet(int64_t id) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    RETURN_IF_ERROR(ReadSet(id).status());
    std::vector<std::string> dropped;
    {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT DISTINCT sha256 FROM annotation_revisions"
                                             " WHERE set_id = ?1 ORDER BY sha256"));
      st.Bind(id);
      while (true) {
        ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        dropped.push_back(st.Text(0));
      }
    }
    {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("DELETE FROM annotation_sets WHERE id = ?1"));
      RETURN_IF_ERROR(st.Bind(id).Run());
    }
    std::vector<std::string> unreferenced;
    for (std::string& sha : dropped) {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT EXISTS (SELECT 1 FROM files WHERE sha256 = ?1)"
                                             " OR EXISTS (SELECT 1 FROM annotation_revisions"
                                             " WHERE sha256 = ?1)"));
      ASSIGN_OR_RETURN(bool row, st.Bind(sha).Step());
      if (row && st.Int(0) == 0) unreferenced.push_back(std::move(sha));
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
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kDeferred));
    RETURN_IF_ERROR(ReadSet(set_id).status());
    ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT " INFERA_REVISION_COLUMNS
                                           " FROM annotation_revisions r WHERE r.set_id = ?1"
                                           " AND r.source_file_id = ?2"
                                           " ORDER BY r.revision DESC LIMIT 1"));
    ASSIGN_OR_RETURN(bool row, st.Bind(set_id, source_file_id).Step());
    if (!row) {
      return absl::NotFoundError(
          StrCat("file ", source_file_id, " has no mask in annotation set ", set_id));
    }
    return ReadRevisionRow(st);
  }

  StatusOr<std::vector<MaskRevisionRecord>> ListMaskRevisions(int64_t set_id,
                                                              int64_t source_file_id) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kDeferred));
    RETURN_IF_ERROR(ReadSet(set_id).status());
    ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT " INFERA_REVISION_COLUMNS
                                           " FROM annotation_revisions r WHERE r.set_id = ?1"
                                           " AND r.source_file_id = ?2 ORDER BY r.revision"));
    st.Bind(set_id, source_file_id);
    std::vector<MaskRevisionRecord> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return out;
      out.push_back(ReadRevisionRow(st));
    }
  }

  StatusOr<std::vector<MaskRevisionRecord>> ListCurrentMasks(int64_t set_id) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kDeferred));
    RETURN_IF_ERROR(ReadSet(set_id).status());
    ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT " INFERA_REVISION_COLUMNS
                                           " FROM annotation_revisions r WHERE r.set_id = ?1"
                                           " AND r.revision = (SELECT MAX(q.revision) FROM"
                                           " annotation_revisions q WHERE q.set_id = r.set_id"
                                           " AND q.source_file_id = r.source_file_id)"
                                           " ORDER BY r.source_file_id"));
    st.Bind(set_id);
    std::vector<MaskRevisionRecord> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return out;
      out.push_back(ReadRevisionRow(st));
    }
  }

  StatusOr<std::vector<ImageLabelRecord>> AddImageLabels(
      int64_t set_id, const std::vector<ImageLabelRecord>& labels) override {
    RETURN_IF_ERROR(ValidateImageLabels(labels));
    return AddToSet(set_id, labels);
  }

  StatusOr<std::vector<ImageLabelRecord>> ListImageLabelRevisions(int64_t set_id,
                                                                  int64_t source_file_id) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kDeferred));
    RETURN_IF_ERROR(ReadSet(set_id).status());
    ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT " INFERA_LABEL_COLUMNS
                                           " FROM annotation_image_labels l WHERE l.set_id = ?1"
                                           " AND l.source_file_id = ?2 ORDER BY l.revision"));
    st.Bind(set_id, source_file_id);
    std::vector<ImageLabelRecord> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return out;
      out.push_back(ReadLabelRow(st));
    }
  }

  StatusOr<std::vector<ImageLabelRecord>> ListCurrentImageLabels(int64_t set_id) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kDeferred));
    RETURN_IF_ERROR(ReadSet(set_id).status());
    ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT " INFERA_LABEL_COLUMNS
                                           " FROM annotation_image_labels l WHERE l.set_id = ?1"
                                           " AND l.label_id <> 0 AND l.revision = (SELECT"
                                           " MAX(q.revision) FROM annotation_image_labels q"
                                           " WHERE q.set_id = l.set_id"
                                           " AND q.source_file_id = l.source_file_id)"
                                           " ORDER BY l.source_file_id"));
    st.Bind(set_id);
    std::vector<ImageLabelRecord> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return out;
      out.push_back(ReadLabelRow(st));
    }
  }

 private:
  int64_t Now() const { return now_ms_(); }

  // NotFound for a file that is gone; InvalidArgument for one that is not a source image
  // of dataset `dataset_id`.
  Status CheckSourceFile(int64_t file_id, int64_t dataset_id) REQUIRES(mu_) {
    ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT dataset_id, role FROM files WHERE id = ?1"));
    ASSIGN_OR_RETURN(bool row, st.Bind(file_id).Step());
    if (!row) return absl::NotFoundError(StrCat("file ", file_id, " not found"));
    if (st.Int(0) != dataset_id || st.Text(1) != "source") {
      return absl::InvalidArgumentError(
          StrCat("file ", file_id, " is not an image of dataset ", dataset_id));
    }
    return absl::OkStatus();
  }

  StatusOr<AnnotationSetRecord> ReadSet(int64_t id) REQUIRES(mu_) {
    ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT " INFERA_SET_COLUMNS
                                           " FROM annotation_sets s WHERE s.id = ?1"));
    ASSIGN_OR_RETURN(bool row, st.Bind(id).Step());
    if (!row) return absl::NotFoundError(StrCat("annotation set ", id, " not found"));
    return ReadSetRow(st);
  }

  // AddMaskRevisions and AddImageLabels once the records are validated: in one
  // transaction, checks that set `set_id` holds records of this kind and writes them.
  template <typename Record>
  StatusOr<std::vector<Record>> AddToSet(int64_t set_id, const std::vector<Record>& records)
      EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    ASSIGN_OR_RETURN(AnnotationSetRecord set, ReadSet(set_id));
    RETURN_IF_ERROR(CheckWriteKind(set, /*labels=*/std::is_same_v<Record, ImageLabelRecord>));
    ASSIGN_OR_RETURN(std::vector<Record> written, InsertRevisions(set_id, set.dataset_id, records));
    RETURN_IF_ERROR(txn.Commit());
    return written;
  }

  // Writes the next revision of each record (validated: a MaskRevisionRecord or an
  // ImageLabelRecord) of set `set_id` of dataset `dataset_id`: its image checked, numbered
  // after that image's last revision in the set, inserted by InsertRow.
  template <typename Record>
  StatusOr<std::vector<Record>> InsertRevisions(int64_t set_id, int64_t dataset_id,
                                                const std::vector<Record>& records) REQUIRES(mu_) {
    std::vector<Record> written;
    const int64_t now = Now();
    for (const Record& record : records) {
      RETURN_IF_ERROR(CheckSourceFile(record.source_file_id, dataset_id));
      Record r = record;
      r.set_id = set_id;
      r.created_at = now;
      {
        ASSIGN_OR_RETURN(auto st, db_->Prepare(NextRevisionSql(r)));
        ASSIGN_OR_RETURN(bool row, st.Bind(set_id, r.source_file_id).Step());
        r.revision = row ? static_cast<int>(st.Int(0)) : 1;
      }
      ASSIGN_OR_RETURN(r.id, InsertRow(r));
      written.push_back(std::move(r));
    }
    return written;
  }

  // The next revision of (set ?1, file ?2) in each record's table.
  static const char* NextRevisionSql(const MaskRevisionRecord&) {
    return "SELECT COALESCE(MAX(revision), 0) + 1 FROM annotation_revisions"
           " WHERE set_id = ?1 AND source_file_id = ?2";
  }
  static const char* NextRevisionSql(const ImageLabelRecord&) {
    return "SELECT COALESCE(MAX(revision), 0) + 1 FROM annotation_image_labels"
           " WHERE set_id = ?1 AND source_file_id = ?2";
  }

  // Inserts a mask revision (set_id, revision and created_at filled) and registers its
  // blob; its row id. InvalidArgument for classes that are not a JSON object.
  StatusOr<int64_t> InsertRow(const MaskRevisionRecord& r) REQUIRES(mu_) {
    {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT CASE WHEN json_valid(?1) THEN"
                                             " json_type(?1) = 'object' ELSE 0 END"));
      ASSIGN_OR_RETURN(bool row, st.Bind(r.classes_json).Step());
      if (!row || st.Int(0) == 0) {
        return absl::InvalidArgumentError(StrCat("the mask of file ", r.source_file_id,
                                                 " has classes that are not a JSON object"));
      }
    }
    {
      ASSIGN_OR_RETURN(
          auto st,
          db_->Prepare("INSERT INTO annotation_revisions (set_id, source_file_id, revision,"
                       " sha256, size, width, height, bit_depth, author_id, origin, classes_json,"
                       " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"));
      RETURN_IF_ERROR(st.Bind(r.set_id, r.source_file_id, r.revision, r.sha256, r.size, r.width,
                              r.height, r.bit_depth, r.author_id, r.origin, r.classes_json,
                              r.created_at)
                          .Run());
    }
    const int64_t id = db_->LastInsertId();
    {
      ASSIGN_OR_RETURN(auto st,
                       db_->Prepare("INSERT OR IGNORE INTO blobs (sha256, size, created_at)"
                                    " VALUES (?1, ?2, ?3)"));
      RETURN_IF_ERROR(st.Bind(r.sha256, r.size, r.created_at).Run());
    }
    return id;
  }

  // Inserts an image label revision (set_id, revision and created_at filled); its row id.
  StatusOr<int64_t> InsertRow(const ImageLabelRecord& r) REQUIRES(mu_) {
    ASSIGN_OR_RETURN(auto st, db_->Prepare("INSERT INTO annotation_image_labels (set_id,"
                                           " source_file_id, revision, label_id, author_id,"
                                           " origin, created_at)"
                                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
    RETURN_IF_ERROR(st.Bind(r.set_id, r.source_file_id, r.revision, r.label_id, r.author_id,
                            r.origin, r.created_at)
                        .Run());
    return db_->LastInsertId();
  }

  Mutex mu_;
  const std::unique_ptr<SqliteDb> db_ PT_GUARDED_BY(mu_);
  const std::function<int64_t()> now_ms_;
};

}  // namespace

StatusOr<std::unique_ptr<AnnotationStore>> OpenSqliteAnnotationStore(
    const std::filesystem::path& db_file, const SqliteAnnotationStoreOptions& options) {
  std::function<int64_t()> now_ms = options.now_ms ? options.now_ms : SystemNowMs;
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db,
                   OpenSqliteDatabase(db_file, options.busy_timeout_ms, now_ms()));
  return std::unique_ptr<AnnotationStore>(
      new SqliteAnnotationStore(std::move(db), std::move(now_ms)));
}

}  // namespace infera

#undef INFERA_SET_COLUMNS
#undef INFERA_REVISION_COLUMNS
#undef INFERA_LABEL_COLUMNS
