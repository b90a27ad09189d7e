#include "store/blob_lifetime.h"

#include <utility>

namespace infera {

BlobPin& BlobPin::operator=(BlobPin&& other) noexcept {
  if (this != &other) {
    Release();
    store_ = std::exchange(other.store_, nullptr);
    id_ = other.id_;
  }
  return *this;
}

void BlobPin::Release() {
  if (store_ == nullptr) return;
  (void)store_->UnpinBlob(id_);
  store_ = nullptr;
}

StatusOr<PinnedBlob> PutPinned(Store& store, BlobStore& blobs, std::span<const std::byte> bytes,
                               int64_t ttl_ms) {
  ASSIGN_OR_RETURN(BlobInfo info, blobs.Put(bytes));
  ASSIGN_OR_RETURN(int64_t pin_id, store.PinBlob(info.sha256, info.size, ttl_ms));
  PinnedBlob pinned{info, BlobPin(&store, pin_id)};
  // A sweep may have removed the bytes (an old, unreferenced copy of the same content)
  // between the write and the pin; from now on none can.
  StatusOr<int64_t> size = blobs.Size(info.sha256);
  if (size.status().code() == absl::StatusCode::kNotFound) {
    ASSIGN_OR_RETURN(pinned.info, blobs.Put(bytes));
  } else if (!size.ok()) {
    return size.status();
  }
  return pinned;
}

StatusOr<std::vector<std::string>> SweepUnusedBlobs(
    Store& store, BlobStore& blobs, const std::optional<std::vector<std::string>>& only) {
  return store.SweepBlobs(only,
                          [&blobs](const std::string& sha256) { return blobs.Remove(sha256); });
}

StatusOr<std::vector<std::string>> SweepAllUnusedBlobs(Store& store, BlobStore& blobs) {
  ASSIGN_OR_RETURN(std::vector<std::string> removed, SweepUnusedBlobs(store, blobs));
  // Blobs on disk that no file references: register them (a pin, released at once) so
  // that the store's sweep may decide about them.
  std::vector<std::string> strays;
  RETURN_IF_ERROR(blobs.ForEach([&](const BlobInfo& blob) -> Status {
    ASSIGN_OR_RETURN(bool referenced, store.BlobReferenced(blob.sha256));
    if (referenced) return absl::OkStatus();
    ASSIGN_OR_RETURN(int64_t pin, store.PinBlob(blob.sha256, blob.size, kBlobPinMs));
    RETURN_IF_ERROR(store.UnpinBlob(pin));
    strays.push_back(blob.sha256);
    return absl::OkStatus();
  }));
  if (strays.empty()) return removed;
  ASSIGN_OR_RETURN(std::vector<std::string> more, SweepUnusedBlobs(store, blobs, strays));
  removed.insert(removed.end(), more.begin(), more.end());
  return removed;
}

}  // namespace infera
