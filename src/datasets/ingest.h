// Dataset ingestion: turning uploaded files into stored, described dataset files.
//
// DICOM files (a Part 10 preamble) are read whole, optionally de-identified
// (dicom/anonymize.h), fully decoded (dicom/dicom_image.h: truncated files, unsupported
// transfer syntaxes and sizes that do not match the pixel data are refused) and stored
// as "application/dicom" with the decoded frames' facts (float32 modality values,
// pages = frames).
//
// IngestFile checks that the file is an image we can decode (PNG, JPEG, TIFF; the
// header is checked from the first bytes and the limits refuse decompression bombs
// before the file is read whole or pixels are allocated), stores its bytes in
// the BlobStore (content-addressed: re-uploading the same bytes stores them once) and
// records it in the dataset with its pixel facts. A file that is not a usable image is
// refused with InvalidArgument and a reason the user can act on; the caller reports it
// per file and keeps the rest of the upload.
// Thread-safe (the store and blob store are).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/byte_budget.h"
#include "common/status.h"
#include "imaging/codec.h"
#include "imaging/image.h"
#include "store/blob_store.h"
#include "store/store.h"

namespace infera {

// A safe stored name for an uploaded file name: the last path component (after '/' or
// '\'), made valid UTF-8 (invalid bytes become U+FFFD), without control, bidi or
// invisible characters (common/utf8.h CleanDisplayText), NUL or leading dots; at most
// 200 bytes (the extension kept); "file" when nothing usable is left. Never contains a
// path separator, so it cannot escape a folder.
std::string SanitizeFilename(std::string_view name);

// The MIME type of an image format ("image/png", ...; "application/octet-stream").
std::string_view ImageContentType(ImageFormat format);

// Fills the pixel facts of a FileRecord (width, height, channels, bit depth, pages,
// sample type) from a decoded image.
void DescribeImage(const Image& image, FileRecord* file);

// What one ingestion may cost.
struct IngestLimits {
  DecodeLimits decode;
  // Bytes of one file; more is refused before anything is read.
  uint64_t max_file_bytes = uint64_t{256} << 20;
  // Bytes held in memory by all ingestions at once (the file, plus 8 bytes per declared
  // pixel for the decoded image); null: unbounded. An ingestion waits up to
  // budget_wait for room, then fails with Unavailable.
  ByteBudget* budget = nullptr;
  std::chrono::milliseconds budget_wait{30000};
  // DICOM: de-identify before storing (the stored name becomes the new
  // SOPInstanceUID + ".dcm", since uploaded names often carry the patient's), with
  // this salt for the pseudonymous UIDs.
  bool anonymize = false;
  std::string anonymize_salt;
};

// The MIME type of stored DICOM files.
inline constexpr std::string_view kDicomContentType = "application/dicom";

// Ingests the file at `path` (left in place) into `dataset_id` under the sanitised
// `filename` (made unique within the dataset by the store). The image header is
// checked from the first bytes (imaging/image_header.h: format, declared pixels) before
// the file is read whole; then the budget is reserved, the file read and decoded.
// Errors: InvalidArgument (the file's fault: too large, not an image, too many pixels,
// undecodable), Unavailable (the budget stayed full), others from the stores.
StatusOr<FileRecord> IngestFile(Store& store, BlobStore& blobs, int64_t dataset_id,
                                int64_t owner_id, std::string_view filename,
                                const std::filesystem::path& path, const IngestLimits& limits);
// As above, idempotent within the dataset: when the dataset already holds a source file
// with the same bytes (sha256) under the same name, nothing is added and that file is returned with
// added = false (Store::AddSourceFileOnce) — so a client retrying an upload whose answer
// it never got stores each image once. The checks run first either way: a file that is
// not a usable image is refused even when the dataset happens to hold its bytes.
StatusOr<Store::AddedFile> IngestFileOnce(Store& store, BlobStore& blobs, int64_t dataset_id,
                                          int64_t owner_id, std::string_view filename,
                                          const std::filesystem::path& path,
                                          const IngestLimits& limits);
// As IngestFile above with only decode limits (the default file size, no budget).
StatusOr<FileRecord> IngestFile(Store& store, BlobStore& blobs, int64_t dataset_id,
                                int64_t owner_id, std::string_view filename,
                                const std::filesystem::path& path, const DecodeLimits& limits);

}  // namespace infera
