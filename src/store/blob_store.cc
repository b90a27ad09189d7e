// What every BlobStore does the same way over its Open: Get and Read.
#include "store/blob_store.h"

#include <algorithm>
#include <limits>

#include "common/strings.h"

namespace infera {

namespace {
constexpr size_t kReadChunkBytes = 1 << 20;
}  // namespace

StatusOr<std::string> BlobStore::Get(std::string_view sha256) {
  ASSIGN_OR_RETURN(std::unique_ptr<BlobReader> reader, Open(sha256));
  if (reader->size() < 0 ||
      static_cast<uint64_t>(reader->size()) > std::numeric_limits<size_t>::max() / 2) {
    return absl::InternalError(StrCat("blob ", sha256, " has a size of ", reader->size()));
  }
  std::string out(static_cast<size_t>(reader->size()), '\0');
  size_t at = 0;
  while (at < out.size()) {
    ASSIGN_OR_RETURN(size_t n, reader->Read(std::span<char>(out.data() + at, out.size() - at)));
    if (n == 0) break;
    at += n;
  }
  if (at != out.size()) {
    return absl::InternalError(
        StrCat("blob ", sha256, " ended after ", at, " of its ", out.size(), " bytes"));
  }
  return out;
}

Status BlobStore::Read(std::string_view sha256,
                       const std::function<Status(std::string_view chunk)>& sink) {
  ASSIGN_OR_RETURN(std::unique_ptr<BlobReader> reader, Open(sha256));
  std::string buf(static_cast<size_t>(std::min<int64_t>(std::max<int64_t>(reader->size(), 1),
                                                        int64_t{kReadChunkBytes})),
                  '\0');
  while (true) {
    ASSIGN_OR_RETURN(size_t n, reader->Read(std::span<char>(buf.data(), buf.size())));
    if (n == 0) return absl::OkStatus();
    RETURN_IF_ERROR(sink(std::string_view(buf.data(), n)));
  }
}

}  // namespace infera
