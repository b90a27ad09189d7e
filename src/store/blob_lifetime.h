// The writer's side of blob lifetime (the store owns it: Store::PinBlob / SweepBlobs).
//
// Blobs are content-addressed, so two writers may store the same bytes while a third
// deletes the only record that referenced them. Removing a blob is therefore never a
// call site's check-then-remove: a writer puts the bytes and pins them (PutPinned) until
// the record that references them is committed, and only a sweep — one store
// transaction that no pin can interleave with — removes blobs that no file references
// and no pin holds.
//
//   PinnedBlob b = PutPinned(store, blobs, bytes)   // bytes on disk, pinned
//   store.AddFile({..., b.info.sha256 ...})         // referenced
//   // b goes out of scope: unpinned
//
// A pin left by a crash expires after its ttl. Thread-safety: as Store and BlobStore.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/blob_store.h"
#include "store/store.h"

namespace infera {

// How long a pin holds when its writer never releases it (a crash): longer than any
// write of one file takes between its blob and its record.
inline constexpr int64_t kBlobPinMs = 15 * 60 * 1000;

// BlobPin: one pin, released (Store::UnpinBlob, errors ignored: the pin then expires) on
// destruction. Move-only; the store must outlive it.
class BlobPin {
 public:
  BlobPin() = default;
  BlobPin(Store* store, int64_t id) : store_(store), id_(id) {}
  BlobPin(BlobPin&& other) noexcept : store_(other.store_), id_(other.id_) {
    other.store_ = nullptr;
  }
  BlobPin& operator=(BlobPin&& other) noexcept;
  BlobPin(const BlobPin&) = delete;
  BlobPin& operator=(const BlobPin&) = delete;
  ~BlobPin() { Release(); }

  // Unpins now (idempotent).
  void Release();

 private:
  Store* store_ = nullptr;
  int64_t id_ = 0;
};

struct PinnedBlob {
  BlobInfo info;
  BlobPin pin;
};

// Writes `bytes` to `blobs` and pins them in `store` for up to `ttl_ms`. When a sweep
// removed the bytes between the write and the pin, writes them again (pinned, they
// stay). Errors: the blob store's and the store's.
StatusOr<PinnedBlob> PutPinned(Store& store, BlobStore& blobs, std::span<const std::byte> bytes,
                               int64_t ttl_ms = kBlobPinMs);

// Removes from `blobs` the registered blobs (of `only`, when given) that no file
// references and no pin holds (Store::SweepBlobs); returns their names.
StatusOr<std::vector<std::string>> SweepUnusedBlobs(
    Store& store, BlobStore& blobs,
    const std::optional<std::vector<std::string>>& only = std::nullopt);

// The sweep at start: SweepUnusedBlobs over every registered blob, then the blobs on
// disk that no record knows at all — written by a process killed between the write and
// the pin, or by an older version — each registered and swept the same safe way (a
// writer pinning the same bytes meanwhile keeps them). Returns the blobs removed.
StatusOr<std::vector<std::string>> SweepAllUnusedBlobs(Store& store, BlobStore& blobs);

}  // namespace infera
