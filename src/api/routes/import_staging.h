// ImportStaging: the ImportSink of POST /api/annotations/{set}/import, which keeps an
// import's memory to one decoded mask at a time while keeping its promise that a refused
// file leaves nothing behind.
//
// Stage, then commit or roll back:
//   - each mask an importer hands over is checked against the set and its image and its
//     label PNG stored at once (PrepareMask: the blob written and pinned), so that only
//     its small revision record stays (~200 bytes an image) and the decoded mask is freed;
//   - a file that ends refused (EndFile with InvalidArgument: a document found malformed
//     after some of its images were staged) drops what it staged: pins released, blobs
//     swept unless something else holds them, its images free again for a later file;
//   - Commit writes the revisions of every accepted file in one store transaction
//     (AnnotationStore::AddMaskRevisions, all or none), so a request's revisions appear
//     together or not at all, and no write lock is held while images decode.
// One revision per image per import: the first mask staged for an image wins; a later one
// (another file, or another entry of a ZIP) is refused "another file of this import
// annotates <image>". The route decides the order (label-suffixed label images first).
// Destroyed without a successful Commit, it drops everything staged (as a refused file).
//
// Not thread-safe: one request's thread. `ctx`, `set` and `files` must outlive it.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "annotations/import_types.h"
#include "api/api_context.h"
#include "api/routes/annotation_common.h"
#include "store/annotation_store.h"
#include "store/store.h"

namespace infera {

class ImportStaging final : public ImportSink {
 public:
  // `files`: the set's dataset images by id (what ImportedMask::image names).
  ImportStaging(const ApiContext& ctx, const AnnotationSetRecord& set,
                const std::map<int64_t, FileRecord>& files, int64_t author);
  ~ImportStaging() override;
  ImportStaging(const ImportStaging&) = delete;
  ImportStaging& operator=(const ImportStaging&) = delete;

  // Starts a file (`source`: its name for verdicts). With `prefix`, the per-image
  // refusals of the file read "<source>: <image>" (documents: COCO, CVAT XML).
  void BeginFile(std::string source, bool prefix);
  // ImportSink. Accept's errors are the store's and blob store's (not the mask's: a mask
  // the set refuses becomes a refusal, InvalidArgument never comes back).
  Status Accept(ImportedMask&& mask) override;
  void Refuse(ImportRefusal refusal) override;
  void Note(std::string note) override;
  // Ends the file with the importer's status: OK keeps what it staged; InvalidArgument
  // refuses the file whole with that reason and drops what it staged (and its per-image
  // refusals and notes); any other error drops it too and is returned.
  Status EndFile(const Status& status);
  // A file refused before it was read (not a format infera reads, a bad ZIP, ...).
  void RefuseFile(std::string source, std::string reason);

  // Writes every accepted file's revisions in one transaction. Returns the `imported`
  // verdicts ({source, file_id, filename, revision}); on error nothing was written and
  // the staged blobs are dropped.
  StatusOr<nlohmann::json> Commit();

  const nlohmann::json& refused() const { return refused_; }
  const std::vector<std::string>& notes() const { return notes_; }
  // Masks staged and not yet committed or dropped (for tests and logs).
  size_t staged() const { return accepted_.size() + file_.size(); }

 private:
  struct Staged {
    std::string source;
    PreparedMask mask;
  };
  // Releases the pins of `staged`, sweeps their blobs, frees their images.
  void Drop(std::vector<Staged>* staged);

  const ApiContext& ctx_;
  const AnnotationSetRecord& set_;
  const std::map<int64_t, FileRecord>& files_;
  int64_t author_;
  std::vector<Staged> accepted_;  // of files that ended OK
  std::vector<Staged> file_;      // of the current file
  std::set<int64_t> taken_;       // images staged, by file id
  std::string source_;            // the current file
  bool prefix_ = false;
  nlohmann::json file_refused_ = nlohmann::json::array();  // the current file's
  std::vector<std::string> file_notes_;
  nlohmann::json refused_ = nlohmann::json::array();
  std::vector<std::string> notes_;
  bool committed_ = false;
};

}  // namespace infera
