#include "api/routes/import_staging.h"

#include "common/json_text.h"
#include "common/strings.h"
#include "common/utf8.h"
#include "store/blob_lifetime.h"

namespace infera {

ImportStaging::ImportStaging(const ApiContext& ctx, const AnnotationSetRecord& set,
                             const std::map<int64_t, FileRecord>& files, int64_t author)
    : ctx_(ctx), set_(set), files_(files), author_(author) {}

ImportStaging::~ImportStaging() {
  if (committed_) return;
  Drop(&file_);
  Drop(&accepted_);
}

void ImportStaging::BeginFile(std::string source, bool prefix) {
  source_ = std::move(source);
  prefix_ = prefix;
}

Status ImportStaging::Accept(ImportedMask&& mask) {
  auto refuse = [&](std::string reason) {
    file_refused_.push_back({{"source", mask.source}, {"reason", std::move(reason)}});
    return absl::OkStatus();
  };
  auto file = files_.find(mask.image.file_id);
  if (file == files_.end()) return refuse("not an image of the set's dataset");
  if (taken_.count(mask.image.file_id) != 0) {
    return refuse(StrCat("another file of this import annotates ", mask.image.filename));
  }
  StatusOr<PreparedMask> prepared =
      PrepareMask(ctx_, set_, file->second, std::move(mask.mask), author_, "import");
  if (!prepared.ok()) {
    if (!absl::IsInvalidArgument(prepared.status())) return prepared.status();
    return refuse(std::string(ToStd(prepared.status().message())));
  }
  taken_.insert(mask.image.file_id);
  file_.push_back({std::move(mask.source), std::move(*prepared)});
  return absl::OkStatus();
}

void ImportStaging::Refuse(ImportRefusal refusal) {
  file_refused_.push_back(
      {{"source", prefix_ ? StrCat(source_, ": ", refusal.source) : std::move(refusal.source)},
       {"reason", std::move(refusal.reason)}});
}

void ImportStaging::Note(std::string note) {
  file_notes_.push_back(prefix_ ? StrCat(source_, ": ", note) : std::move(note));
}

Status ImportStaging::EndFile(const Status& status) {
  if (status.ok()) {
    for (Staged& s : file_) accepted_.push_back(std::move(s));
    file_.clear();
    for (nlohmann::json& r : file_refused_) refused_.push_back(std::move(r));
    for (std::string& n : file_notes_) notes_.push_back(std::move(n));
  } else {
    Drop(&file_);
    if (absl::IsInvalidArgument(status)) {
      refused_.push_back({{"source", source_}, {"reason", std::string(ToStd(status.message()))}});
    }
  }
  file_refused_ = nlohmann::json::array();
  file_notes_.clear();
  if (!status.ok() && !absl::IsInvalidArgument(status)) return status;
  return absl::OkStatus();
}

void ImportStaging::RefuseFile(std::string source, std::string reason) {
  refused_.push_back({{"source", std::move(source)}, {"reason", std::move(reason)}});
}

void ImportStaging::Drop(std::vector<Staged>* staged) {
  if (staged->empty()) return;
  std::vector<std::string> shas;
  for (Staged& s : *staged) {
    shas.push_back(s.mask.revision.sha256);
    s.mask.blob.pin.Release();
    taken_.erase(s.mask.revision.source_file_id);
  }
  staged->clear();
  // Errors leave the blobs to the next sweep (their pins are gone).
  (void)SweepUnusedBlobs(*ctx_.store, *ctx_.blobs, shas);
}

StatusOr<nlohmann::json> ImportStaging::Commit() {
  nlohmann::json imported = nlohmann::json::array();
  if (accepted_.empty()) {
    committed_ = true;
    return imported;
  }
  std::vector<MaskRevisionRecord> records;
  records.reserve(accepted_.size());
  for (const Staged& s : accepted_) records.push_back(s.mask.revision);
  StatusOr<std::vector<MaskRevisionRecord>> written =
      ctx_.annotations->AddMaskRevisions(set_.id, records);
  if (!written.ok()) {
    Drop(&accepted_);
    return written.status();
  }
  committed_ = true;
  for (size_t i = 0; i < written->size(); ++i) {
    const int64_t file_id = accepted_[i].mask.revision.source_file_id;
    imported.push_back({{"source", accepted_[i].source},
                        {"file_id", file_id},
                        {"filename", ToValidUtf8(files_.at(file_id).filename)},
                        {"revision", (*written)[i].revision}});
  }
  accepted_.clear();  // the pins go: the revisions hold the blobs now
  return imported;
}

}  // namespace infera
