// AnnotationStore: the durable records of annotation sets — corrected or imported masks
// of a dataset's images — behind their own interface, apart from Store, so that a store
// driver adds them when it is ready (the SQLite store has them: sqlite_annotation_store.h;
// tests/store/annotation_conformance.h is the suite every implementation passes).
//
// A set belongs to a dataset and has an owner, a name (unique within the dataset), a
// kind (`semantic`: class masks; `instances`: instance masks; `image_labels`: one class
// per image, "image labels") and a label map (a JSON array of {id, name, colour},
// background 0 implied). Per (set, source file of the dataset) the store keeps every
// revision of the mask: a numbered record (1, 2, ... per image) naming a blob (a
// one-channel label PNG, uint8 or uint16) with its shape, the author, the time and where
// it came from (`import`, `job:<id>`, `edit`). The current mask of an image is its
// highest revision. An image_labels set holds no masks but, the same way, numbered
// revisions of each image's label (a label id of the set's map, or 0: cleared), with
// author, time and origin; the current label is the highest revision's. Masks go only to
// mask sets and labels only to image_labels sets (InvalidArgument otherwise).
//
// Blobs: a revision references its blob as a file record does. A store that implements
// this interface keeps the revisions in the database its Store uses, and that Store's
// BlobReferenced / SweepBlobs count a revision's blob as referenced (so the writer's side
// is store/blob_lifetime.h's PutPinned, as for any blob). Deleting a dataset
// (Store::DeleteDataset) deletes its sets and returns their blobs among those it dropped.
//
// Conventions as store.h: ids positive and store-assigned, times ms since the epoch set
// by the store; NotFound names the kind and id; InvalidArgument for a record that breaks a
// constraint; AlreadyExists for a duplicate set name within a dataset.
// Thread-safety: every method is safe from any thread; each call is one transaction.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace infera {

// What a set's masks hold.
enum class AnnotationKind {
  kSemantic,     // a class index per pixel
  kInstances,    // an instance id per pixel; each instance's class is in the set's label map
  kImageLabels,  // one label (class) per image, no masks
};
std::string_view AnnotationKindName(AnnotationKind kind);
// InvalidArgument for a name other than "semantic" / "instances" / "image_labels".
StatusOr<AnnotationKind> ParseAnnotationKind(std::string_view name);

// Where a revision came from: "import", "edit" or "job:<id>" (a positive decimal id).
bool IsMaskOrigin(std::string_view origin);

struct AnnotationSetRecord {
  int64_t id = 0;
  int64_t dataset_id = 0;
  int64_t owner_id = 0;
  std::string name;
  AnnotationKind kind = AnnotationKind::kSemantic;
  // A JSON array of {"id": int, "name": string, "colour": "#rrggbb"}; the store checks
  // only that it is a JSON array (the API checks the entries).
  std::string labels_json = "[]";
  int64_t created_at = 0;
  // Computed on read: images annotated — with at least one mask revision, or (image_labels)
  // whose current label is set.
  int64_t mask_count = 0;
};

struct MaskRevisionRecord {
  int64_t id = 0;
  int64_t set_id = 0;
  int64_t source_file_id = 0;
  int revision = 0;    // 1, 2, ... per (set, source file); set by the store
  std::string sha256;  // the label PNG's blob
  int64_t size = 0;    // bytes of the blob
  int width = 0;
  int height = 0;
  int bit_depth = 0;  // 8 or 16
  int64_t author_id = 0;
  std::string origin;  // IsMaskOrigin
  // Instance sets: the class of each instance, a JSON object {"<instance id>": <label
  // id>}; an instance it does not name has the set's first label. "{}" for class masks.
  std::string classes_json = "{}";
  int64_t created_at = 0;
};

// One revision of an image's label in an image_labels set.
struct ImageLabelRecord {
  int64_t id = 0;
  int64_t set_id = 0;
  int64_t source_file_id = 0;
  int revision = 0;  // 1, 2, ... per (set, source file); set by the store
  int label_id = 0;  // a label of the set's map (the API checks it); 0: the label cleared
  int64_t author_id = 0;
  std::string origin;  // IsMaskOrigin: import, edit or job:<id>
  int64_t created_at = 0;
};

// The checks every AnnotationStore makes on the labels of one write (AddImageLabels): a
// label id in 0..65535, an origin IsMaskOrigin accepts, each source file once.
// InvalidArgument naming the first that fails.
Status ValidateImageLabels(const std::vector<ImageLabelRecord>& labels);

// The checks every AnnotationStore makes on the masks of one write (see
// AddMaskRevisions): a sha256 of 64 lower-case hex digits, a positive shape, bit depth 8
// or 16, a non-negative size, an origin IsMaskOrigin accepts, classes_json a JSON object,
// each source file once. InvalidArgument naming the first that fails.
Status ValidateMaskRevisions(const std::vector<MaskRevisionRecord>& masks);

// Both stores' check before writing revisions to `set`: OK when `labels` (image labels,
// else masks) fits the set's kind; InvalidArgument saying what the set holds otherwise.
Status CheckWriteKind(const AnnotationSetRecord& set, bool labels);

class AnnotationStore {
 public:
  virtual ~AnnotationStore() = default;

  // Creates a set and, in the same transaction, a first revision of each of `masks`
  // (their set_id is ignored; see AddMaskRevisions) or, for an image_labels set, of each
  // of `labels` (see AddImageLabels). NotFound for an unknown dataset; InvalidArgument for
  // an empty name or labels_json that is not a JSON array, a mask AddMaskRevisions or a
  // label AddImageLabels refuses (masks for an image_labels set, labels for another);
  // AlreadyExists when the dataset has a set of that name.
  virtual StatusOr<AnnotationSetRecord> CreateAnnotationSet(
      const AnnotationSetRecord& set, const std::vector<MaskRevisionRecord>& masks,
      const std::vector<ImageLabelRecord>& labels = {}) = 0;
  virtual StatusOr<AnnotationSetRecord> GetAnnotationSet(int64_t id) = 0;
  // A dataset's sets, oldest first (created_at, then id). NotFound for an unknown dataset.
  virtual StatusOr<std::vector<AnnotationSetRecord>> ListAnnotationSets(int64_t dataset_id) = 0;
  // Deletes the set and every revision of it. Returns the sha256 of every blob nothing
  // references any more (the caller sweeps them: SweepUnusedBlobs).
  virtual StatusOr<std::vector<std::string>> DeleteAnnotationSet(int64_t id) = 0;

  // Adds one new revision per entry of `masks` (each the next number of its source
  // file), all or none. NotFound for an unknown set; InvalidArgument for a source file
  // that is not one of the set's dataset, a sha256 that is not 64 lower-case hex digits,
  // a shape that is not positive, a bit depth other than 8 or 16, an origin IsMaskOrigin
  // refuses, classes_json that is not a JSON object, or the same source file twice, or a
  // set of kind image_labels. Returns the records written, in order.
  virtual StatusOr<std::vector<MaskRevisionRecord>> AddMaskRevisions(
      int64_t set_id, const std::vector<MaskRevisionRecord>& masks) = 0;
  // The current (highest) revision of a source file's mask. NotFound for an unknown set
  // or when the file has no mask in the set.
  virtual StatusOr<MaskRevisionRecord> GetCurrentMask(int64_t set_id, int64_t source_file_id) = 0;
  // Every revision of a source file's mask, oldest first (may be empty). NotFound for an
  // unknown set.
  virtual StatusOr<std::vector<MaskRevisionRecord>> ListMaskRevisions(int64_t set_id,
                                                                      int64_t source_file_id) = 0;
  // The current mask of every image of the set that has one, by source file id.
  // NotFound for an unknown set.
  virtual StatusOr<std::vector<MaskRevisionRecord>> ListCurrentMasks(int64_t set_id) = 0;

  // Image labels (sets of kind image_labels). Adds one new revision per entry of `labels`
  // (each the next number of its source file; label_id 0 clears the image's label), all
  // or none. NotFound for an unknown set; InvalidArgument for a set of another kind, a
  // source file that is not one of the set's dataset, or what ValidateImageLabels refuses.
  // Returns the records written, in order.
  virtual StatusOr<std::vector<ImageLabelRecord>> AddImageLabels(
      int64_t set_id, const std::vector<ImageLabelRecord>& labels) = 0;
  // Every revision of a source file's label, oldest first (may be empty). NotFound for an
  // unknown set.
  virtual StatusOr<std::vector<ImageLabelRecord>> ListImageLabelRevisions(
      int64_t set_id, int64_t source_file_id) = 0;
  // The current label of every image of the set whose current label is set (not 0), by
  // source file id. NotFound for an unknown set; empty for a set of another kind.
  virtual StatusOr<std::vector<ImageLabelRecord>> ListCurrentImageLabels(int64_t set_id) = 0;
};

}  // namespace infera
