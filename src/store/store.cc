#include "store/store.h"

namespace infera {

const FileRecord* JobResultRecord::File(std::string_view kind) const {
  for (const FileRecord& f : files) {
    if (f.role == kind) return &f;
  }
  return nullptr;
}

int64_t JobResultRecord::FileId(std::string_view kind) const {
  const FileRecord* f = File(kind);
  return f != nullptr ? f->id : 0;
}

}  // namespace infera
