#include "serving/ownership.h"

#include <string_view>

#include "common/strings.h"

namespace infera {

int64_t CallerId(const Caller& caller) { return caller ? caller->user_id : 0; }

std::optional<int64_t> OwnerFilter(const Caller& caller) {
  if (!caller || caller->admin()) return std::nullopt;
  return caller->user_id;
}

namespace {

// The record when the caller may see it; the store's own NotFound otherwise.
template <typename Record>
StatusOr<Record> IfVisible(const Caller& caller, StatusOr<Record> record, std::string_view kind,
                           int64_t id) {
  if (!record.ok()) return record;
  RETURN_IF_ERROR(CheckVisible(caller, record->owner_id, kind, id));
  return record;
}

}  // namespace

StatusOr<DatasetRecord> VisibleDataset(Store& store, const Caller& caller, int64_t id) {
  return IfVisible(caller, store.GetDataset(id), "dataset", id);
}

StatusOr<FileRecord> VisibleFile(Store& store, const Caller& caller, int64_t id) {
  return IfVisible(caller, store.GetFile(id), "file", id);
}

Status CheckVisible(const Caller& caller, int64_t owner_id, std::string_view kind, int64_t id) {
  const std::optional<int64_t> owner = OwnerFilter(caller);
  if (owner && owner_id != *owner) return absl::NotFoundError(StrCat(kind, " ", id, " not found"));
  return absl::OkStatus();
}

}  // namespace infera
