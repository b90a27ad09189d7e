// Dataset ingestion: turning uploaded files into stored, described dataset files.
//
// IngestFile checks that the file is an image we can decode (PNG, JPEG, TIFF; the
// limits refuse decompression bombs before pixels are allocated), stores its bytes in
// the BlobStore (content-addressed: re-uploading the same bytes stores them once) and
// records it in the dataset with its pixel facts. A file that is not a usable image is
// refused with InvalidArgument and a reason the user can act on; the caller reports it
// per file and keeps the rest of the upload.
// Thread-safe (the store and blob store are).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

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

// Ingests the file at `path` (left in place) into `dataset_id` under the sanitised
// `filename` (made unique within the dataset by the store).
StatusOr<FileRecord> IngestFile(Store& store, BlobStore& blobs, int64_t dataset_id,
                                int64_t owner_id, std::string_view filename,
                                const std::filesystem::path& path, const DecodeLimits& limits);

}  // namespace infera
