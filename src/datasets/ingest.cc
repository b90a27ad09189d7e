#include "datasets/ingest.h"

#include <fstream>
#include <vector>

#include "common/strings.h"
#include "common/utf8.h"
#include "store/blob_lifetime.h"

namespace infera {

namespace fs = std::filesystem;

std::string SanitizeFilename(std::string_view name) {
  const size_t slash = name.find_last_of("/\\");
  if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
  // Valid UTF-8 (invalid bytes become U+FFFD) without controls or bidi/invisible
  // characters, so the name shows as what it is.
  const std::string text = CleanDisplayText(name);
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == ':' || c == '"' || c == '<' || c == '>' || c == '|' || c == '?' || c == '*') {
      continue;
    }
    out.push_back(c);
  }
  // No leading dots (hidden files, "..") or spaces, no trailing dots or spaces.
  size_t first = out.find_first_not_of(". ");
  if (first == std::string::npos) return "file";
  out.erase(0, first);
  while (!out.empty() && (out.back() == '.' || out.back() == ' ')) out.pop_back();
  if (out.empty()) return "file";
  constexpr size_t kMaxBytes = 200;
  if (out.size() > kMaxBytes) {
    const size_t dot = out.rfind('.');
    std::string ext = dot != std::string::npos && out.size() - dot <= 16 ? out.substr(dot) : "";
    out.resize(kMaxBytes - ext.size());
    // Do not cut a UTF-8 sequence in the middle.
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
    if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0xC0) out.pop_back();
    out += ext;
  }
  return out;
}

std::string_view ImageContentType(ImageFormat format) {
  switch (format) {
    case ImageFormat::kPng:
      return "image/png";
    case ImageFormat::kJpeg:
      return "image/jpeg";
    case ImageFormat::kTiff:
      return "image/tiff";
    case ImageFormat::kUnknown:
      break;
  }
  return "application/octet-stream";
}

void DescribeImage(const Image& image, FileRecord* file) {
  file->width = image.width;
  file->height = image.height;
  file->channels = image.channels;
  file->pages = image.pages;
  switch (image.type) {
    case PixelType::kUInt8:
      file->bit_depth = 8;
      file->sample_type = "uint8";
      break;
    case PixelType::kUInt16:
      file->bit_depth = 16;
      file->sample_type = "uint16";
      break;
    case PixelType::kFloat32:
      file->bit_depth = 32;
      file->sample_type = "float32";
      break;
  }
}

StatusOr<FileRecord> IngestFile(Store& store, BlobStore& blobs, int64_t dataset_id,
                                int64_t owner_id, std::string_view filename, const fs::path& path,
                                const DecodeLimits& limits) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) return absl::InternalError(StrCat("cannot read the upload: ", ec.message()));
  if (size == 0) return absl::InvalidArgumentError("the file is empty");
  std::vector<std::byte> bytes(size);
  {
    std::ifstream in(path, std::ios::binary);
    if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size))) {
      return absl::InternalError("cannot read the upload");
    }
  }
  const ImageFormat format = DetectImageFormat(bytes);
  if (format == ImageFormat::kUnknown) {
    return absl::InvalidArgumentError("not an image (PNG, JPEG or TIFF expected)");
  }
  StatusOr<Image> image = DecodeImage(bytes, limits);
  if (!image.ok()) {
    return absl::InvalidArgumentError(
        StrCat("cannot decode this ", ImageFormatName(format), ": ", image.status().message()));
  }
  FileRecord file;
  file.owner_id = owner_id;
  file.dataset_id = dataset_id;
  file.role = "source";
  file.filename = SanitizeFilename(filename);
  file.content_type = std::string(ImageContentType(format));
  DescribeImage(*image, &file);
  // Pinned until the record references it, so a concurrent sweep cannot take it.
  ASSIGN_OR_RETURN(PinnedBlob blob, PutPinned(store, blobs, bytes));
  file.sha256 = blob.info.sha256;
  file.size = blob.info.size;
  return store.AddFile(file);
}

}  // namespace infera
