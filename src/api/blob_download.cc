#include "api/blob_download.h"

#include <memory>
#include <string>

#include "api/response_stream.h"

namespace infera {

namespace {
constexpr size_t kBufferBytes = size_t{64} * 1024;  // ZipWriterOptions::chunk_bytes' default
}  // namespace

Status AddBlobToZip(ZipWriter& zip, BlobStore& blobs, std::string_view name,
                    std::string_view sha256, ZipWriter::Method method) {
  ASSIGN_OR_RETURN(std::unique_ptr<BlobReader> reader, blobs.Open(sha256));
  std::string buf(kBufferBytes, '\0');
  const ZipWriter::Source source = [&]() -> StatusOr<std::string_view> {
    ASSIGN_OR_RETURN(size_t n, reader->Read(std::span<char>(buf.data(), buf.size())));
    return std::string_view(buf.data(), n);
  };
  return zip.AddFileFromSource(name, source, method, static_cast<uint64_t>(reader->size()));
}

Status CopyBlobToStream(BlobReader& reader, ResponseStream& stream) {
  std::string buf(kBufferBytes, '\0');
  while (true) {
    ASSIGN_OR_RETURN(size_t n, reader.Read(std::span<char>(buf.data(), buf.size())));
    if (n == 0) return absl::OkStatus();
    if (!stream.Write(std::string_view(buf.data(), n))) {
      return absl::CancelledError("the client went away");
    }
  }
}

}  // namespace infera
