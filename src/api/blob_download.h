// Blobs going out in downloads, pulled from the blob store a piece at a time
// (store/blob_store.h BlobReader) by the consumer that sends them: a ZIP entry built
// while the archive streams (job downloads, annotation exports), or a file response.
// Either holds at most one buffer of the consumer (64 KiB) plus the reader's (one
// PostgreSQL chunk) — never the whole blob, on either blob store; a slow client slows
// the reads (ResponseStream's backpressure) instead of filling memory.
// Thread-safety: as the writer and the stream they are given (one thread at a time).
#pragma once

#include <string_view>

#include "archive/zip_writer.h"
#include "common/status.h"
#include "store/blob_store.h"

namespace infera {

class ResponseStream;

// Appends an entry named `name` holding the blob `sha256`, streamed (ZipWriter's
// AddFileFromSource with the blob's size as the hint). NotFound for a missing blob
// before anything was written (the writer stays usable); any error afterwards is the
// writer's (the archive is then unusable).
Status AddBlobToZip(ZipWriter& zip, BlobStore& blobs, std::string_view name,
                    std::string_view sha256, ZipWriter::Method method = ZipWriter::Method::kStored);

// Copies what `reader` has left to `stream` (not closing it). Cancelled when the client
// went away; the reader's error when a read failed.
Status CopyBlobToStream(BlobReader& reader, ResponseStream& stream);

}  // namespace infera
