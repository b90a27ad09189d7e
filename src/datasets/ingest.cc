#include "datasets/ingest.h"

#include <algorithm>
#include <fstream>
#include <vector>

#include "common/strings.h"
#include "common/utf8.h"
#include "dicom/anonymize.h"
#include "dicom/dicom_image.h"
#include "imaging/image_header.h"
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

namespace {

// Reads up to `max` bytes of `path` from its start.
StatusOr<std::vector<std::byte>> ReadHead(const fs::path& path, uint64_t size, uint64_t max) {
  std::vector<std::byte> bytes(static_cast<size_t>(std::min(size, max)));
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()))) {
    return absl::InternalError("cannot read the upload");
  }
  return bytes;
}

// Memory a decode of `header`'s image may take: up to 4 channels of 16 bits.
uint64_t DecodedBytes(const ImageHeader& header) {
  return header.dimensions_known() ? static_cast<uint64_t>(header.width * header.height) * 8 : 0;
}

}  // namespace

StatusOr<FileRecord> IngestFile(Store& store, BlobStore& blobs, int64_t dataset_id,
                                int64_t owner_id, std::string_view filename, const fs::path& path,
                                const DecodeLimits& limits) {
  IngestLimits ingest;
  ingest.decode = limits;
  return IngestFile(store, blobs, dataset_id, owner_id, filename, path, ingest);
}

namespace {

// A DICOM file (the caller saw the preamble): see the file comment of ingest.h.
StatusOr<Store::AddedFile> IngestDicom(Store& store, BlobStore& blobs, int64_t dataset_id,
                                       int64_t owner_id, std::string_view filename,
                                       const fs::path& path, uint64_t size,
                                       const IngestLimits& limits, bool once) {
  ByteBudget::Reservation held;
  if (limits.budget != nullptr) {
    ASSIGN_OR_RETURN(held, limits.budget->Acquire(size, limits.budget_wait));
  }
  ASSIGN_OR_RETURN(std::vector<std::byte> bytes, ReadHead(path, size, size));
  StatusOr<DicomInstanceInfo> info = ReadDicomInfo(bytes);
  if (!info.ok()) return info.status();
  DicomLimits dicom;
  dicom.max_pixels = limits.decode.max_pixels;
  dicom.max_bytes = limits.decode.max_bytes;
  const int64_t decoded_bytes = static_cast<int64_t>(info->rows) * info->columns * info->frames *
                                std::max(1, info->samples_per_pixel) * 4;
  ByteBudget::Reservation decoded;
  if (limits.budget != nullptr && decoded_bytes > 0 && decoded_bytes <= dicom.max_bytes) {
    ASSIGN_OR_RETURN(
        decoded, limits.budget->Acquire(static_cast<uint64_t>(decoded_bytes), limits.budget_wait));
  }
  if (limits.anonymize) {
    ASSIGN_OR_RETURN(bytes, AnonymizeDicom(bytes, AnonymizeOptions{limits.anonymize_salt}));
  }
  StatusOr<DicomPixels> pixels = DecodeDicom(bytes, dicom);
  if (!pixels.ok()) {
    return absl::InvalidArgumentError(
        StrCat("cannot decode this DICOM file: ", pixels.status().message()));
  }
  FileRecord file;
  file.owner_id = owner_id;
  file.dataset_id = dataset_id;
  file.role = "source";
  file.filename =
      limits.anonymize ? StrCat(pixels->info.sop_instance_uid, ".dcm") : SanitizeFilename(filename);
  file.content_type = std::string(kDicomContentType);
  DescribeImage(pixels->frames.front(), &file);
  file.pages = pixels->info.frames;
  pixels->frames.clear();
  ASSIGN_OR_RETURN(PinnedBlob blob, PutPinned(store, blobs, bytes));
  file.sha256 = blob.info.sha256;
  file.size = blob.info.size;
  if (once) return store.AddSourceFileOnce(file);
  ASSIGN_OR_RETURN(FileRecord added, store.AddFile(file));
  return Store::AddedFile{std::move(added), true};
}

// IngestFile and IngestFileOnce: `once` picks Store::AddSourceFileOnce over AddFile.
StatusOr<Store::AddedFile> Ingest(Store& store, BlobStore& blobs, int64_t dataset_id,
                                  int64_t owner_id, std::string_view filename, const fs::path& path,
                                  const IngestLimits& limits, bool once) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) return absl::InternalError(StrCat("cannot read the upload: ", ec.message()));
  if (size == 0) return absl::InvalidArgumentError("the file is empty");
  if (size > limits.max_file_bytes) {
    return absl::InvalidArgumentError(StrCat("the file has ", size, " bytes, over the limit of ",
                                             limits.max_file_bytes, " bytes per image"));
  }
  // The header first: not an image, or too many pixels, costs a few kilobytes.
  ASSIGN_OR_RETURN(std::vector<std::byte> head, ReadHead(path, size, kImageHeaderProbeBytes));
  if (LooksLikeDicom(head)) {
    return IngestDicom(store, blobs, dataset_id, owner_id, filename, path, size, limits, once);
  }
  ASSIGN_OR_RETURN(ImageHeader header, CheckImageHeader(head, limits.decode));
  head.clear();
  ByteBudget::Reservation held;
  if (limits.budget != nullptr) {
    ASSIGN_OR_RETURN(held, limits.budget->Acquire(size + DecodedBytes(header), limits.budget_wait));
  }
  ASSIGN_OR_RETURN(std::vector<std::byte> bytes, ReadHead(path, size, size));
  ByteBudget::Reservation decoded;  // held with `held` until the end
  if (!header.dimensions_known()) {
    // A JPEG with large metadata first, a TIFF with its directory at the end.
    ASSIGN_OR_RETURN(header, CheckImageHeader(bytes, limits.decode));
    if (limits.budget != nullptr && header.dimensions_known()) {
      ASSIGN_OR_RETURN(decoded, limits.budget->Acquire(DecodedBytes(header), limits.budget_wait));
    }
  }
  const ImageFormat format = header.format;
  StatusOr<Image> image = DecodeImage(bytes, limits.decode);
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
  if (once) return store.AddSourceFileOnce(file);
  ASSIGN_OR_RETURN(FileRecord added, store.AddFile(file));
  return Store::AddedFile{std::move(added), true};
}

}  // namespace

StatusOr<FileRecord> IngestFile(Store& store, BlobStore& blobs, int64_t dataset_id,
                                int64_t owner_id, std::string_view filename, const fs::path& path,
                                const IngestLimits& limits) {
  ASSIGN_OR_RETURN(Store::AddedFile added,
                   Ingest(store, blobs, dataset_id, owner_id, filename, path, limits, false));
  return std::move(added.file);
}

StatusOr<Store::AddedFile> IngestFileOnce(Store& store, BlobStore& blobs, int64_t dataset_id,
                                          int64_t owner_id, std::string_view filename,
                                          const fs::path& path, const IngestLimits& limits) {
  return Ingest(store, blobs, dataset_id, owner_id, filename, path, limits, true);
}

}  // namespace infera
