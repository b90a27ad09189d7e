// Stored files (dataset images, job masks and previews):
//   GET /api/files/{id}            the bytes with their content type (streamed)
//   GET /api/files/{id}/meta       the record: filename, type, pixel facts, sha256...
//   GET /api/files/{id}/thumbnail  ?size=N (16..4096, default 256): a PNG preview, the
//                                  first page, longest side N (never enlarged), 16-bit
//                                  and float images contrast-stretched (0.5th..99.5th
//                                  percentile); a DICOM file: frame ?frame=K (from 0)
//                                  windowed with ?window=file|lung|soft_tissue|bone|
//                                  brain|C,W (dicom/windowing.h; default: the file's)
//   GET /api/files/{id}/values     a DICOM file's frame ?frame=K (from 0) as its modality
//                                  values (HU for CT: what the viewer shows under the
//                                  cursor): little-endian float32, row-major, channels
//                                  interleaved; X-Width, X-Height, X-Channels and
//                                  X-Unit ("HU" for CT, else "") headers. 400 for files
//                                  that are not DICOM
//   GET /api/files/{id}/overlay    ?palette=classes|instances: a mask (class_mask or
//                                  instance_mask) as an RGBA PNG at its own size, label
//                                  0 transparent, label k opaque in its colour
//                                  (imaging/overlay.h ColorizeLabels); the default
//                                  palette is instances for instance masks, else classes
#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>

#include "api/blob_download.h"
#include "api/http_status.h"
#include "api/response_stream.h"
#include "api/routes/api_common.h"
#include "api/routes/routes.h"
#include "common/json_text.h"
#include "common/strings.h"
#include "common/task_pool.h"
#include "datasets/ingest.h"
#include "dicom/dicom_image.h"
#include "dicom/windowing.h"
#include "imaging/codec.h"
#include "imaging/overlay.h"
#include "imaging/preprocess.h"
#include "store/blob_store.h"

namespace infera {

namespace {

constexpr int64_t kInlineBytes = 4 << 20;  // larger files are streamed

// Quotes a file name for Content-Disposition (ASCII fallback plus RFC 5987 UTF-8).
std::string Disposition(std::string_view type, std::string_view filename) {
  std::string ascii;
  std::string encoded;
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : filename) {
    ascii.push_back(c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? static_cast<char>(c) : '_');
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_') {
      encoded.push_back(static_cast<char>(c));
    } else {
      encoded += '%';
      encoded += kHex[c >> 4];
      encoded += kHex[c & 15];
    }
  }
  return StrCat(type, "; filename=\"", ascii, "\"; filename*=UTF-8''", encoded);
}

void GetFile(const ApiContext& ctx, const HttpRequest& req, const Responder& respond) {
  StatusOr<int64_t> id = ParseId(req.params.at("id"), "file");
  if (!id.ok()) return respond(StatusResponse(id.status()));
  StatusOr<FileRecord> file = VisibleFile(ctx, req, *id);
  if (!file.ok()) return respond(StatusResponse(file.status()));
  HttpResponse response;
  response.content_type = file->content_type;
  response.headers["content-disposition"] = Disposition("inline", file->filename);
  response.headers["cache-control"] = "private, max-age=3600";
  response.headers["etag"] = StrCat("\"", file->sha256, "\"");
  if (file->size <= kInlineBytes) {
    StatusOr<std::string> bytes = ctx.blobs->Get(file->sha256);
    if (!bytes.ok()) return respond(StatusResponse(bytes.status()));
    response.body = std::move(*bytes);
    return respond(std::move(response));
  }
  // Opened before the header goes out (a missing blob is still a clean error), then
  // pulled piece by piece as the client takes them (api/blob_download.h).
  StatusOr<std::unique_ptr<BlobReader>> reader = ctx.blobs->Open(file->sha256);
  if (!reader.ok()) return respond(StatusResponse(reader.status()));
  auto stream = std::make_shared<ResponseStream>();
  response.stream = stream;
  respond(std::move(response));
  if (CopyBlobToStream(**reader, *stream).ok()) {
    stream->Close();
  } else {
    stream->Abort();
  }
}

// Low and high sample values to map to 0 and 255: the full range for 8-bit images,
// else the 0.5th and 99.5th percentiles of (a sample of) the pixels.
std::pair<float, float> StretchRange(const Image& image) {
  if (image.type == PixelType::kUInt8) return {0.f, 255.f};
  const size_t n = static_cast<size_t>(image.width) * image.height * image.channels;
  const size_t step = std::max<size_t>(1, n / 200000);
  std::vector<float> values;
  values.reserve(n / step + 1);
  for (size_t i = 0; i < n; i += step) {
    values.push_back(image.type == PixelType::kUInt16
                         ? static_cast<float>(image.pixels<uint16_t>()[i])
                         : image.pixels<float>()[i]);
  }
  values.erase(
      std::remove_if(values.begin(), values.end(), [](float v) { return !std::isfinite(v); }),
      values.end());
  if (values.empty()) return {0.f, 1.f};
  auto at = [&](double q) {
    const size_t k = static_cast<size_t>(q * static_cast<double>(values.size() - 1));
    std::nth_element(values.begin(), values.begin() + static_cast<long>(k), values.end());
    return values[k];
  };
  const float lo = at(0.005);
  float hi = at(0.995);
  if (hi <= lo) hi = lo + 1.f;
  return {lo, hi};
}

// `image` as a PNG response, cacheable by the client for an hour (file ids are immutable).
StatusOr<HttpResponse> PngResponse(const Image& image) {
  ASSIGN_OR_RETURN(std::vector<std::byte> png, EncodePng(image));
  HttpResponse response;
  response.content_type = "image/png";
  response.headers["cache-control"] = "private, max-age=3600";
  response.body.assign(reinterpret_cast<const char*>(png.data()), png.size());
  return response;
}

// The stored file decoded (first page), within the server's pixel limit.
StatusOr<Image> DecodeStored(const ApiContext& ctx, const FileRecord& file) {
  ASSIGN_OR_RETURN(std::string bytes, ctx.blobs->Get(file.sha256));
  DecodeLimits limits;
  limits.max_pixels = ctx.max_image_pixels;
  return DecodeImage(
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()),
      limits);
}

// A stored DICOM file decoded whole (modality values), within the server's pixel limit.
StatusOr<DicomPixels> DecodeStoredDicom(const ApiContext& ctx, const FileRecord& file) {
  ASSIGN_OR_RETURN(std::string bytes, ctx.blobs->Get(file.sha256));
  DicomLimits limits;
  limits.max_pixels = ctx.max_image_pixels;
  return DecodeDicom(std::as_bytes(std::span(bytes.data(), bytes.size())), limits);
}

// `?frame=K` (default 0): a frame of `pixels`; InvalidArgument when malformed or out of range.
StatusOr<int> FrameParam(const HttpRequest& req, const DicomPixels& pixels) {
  int64_t frame = 0;
  std::string value;
  if (req.query_param("frame", &value)) {
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), frame);
    if (ec != std::errc() || p != value.data() + value.size() || frame < 0) {
      return absl::InvalidArgumentError("frame must be a frame number from 0");
    }
  }
  if (frame >= static_cast<int64_t>(pixels.frames.size())) {
    return absl::InvalidArgumentError(
        StrCat("frame ", frame, " is out of range: the file has ", pixels.frames.size()));
  }
  return static_cast<int>(frame);
}

// A stored DICOM file's frame `?frame=` windowed with `?window=` as 8-bit grey (or RGB).
StatusOr<Image> DicomFrame(const ApiContext& ctx, const HttpRequest& req, const FileRecord& file) {
  WindowSpec window;
  std::string value;
  if (req.query_param("window", &value)) {
    nlohmann::json text = value;
    const size_t comma = value.find(',');
    if (comma != std::string::npos) {
      double c = 0, w = 0;
      const std::string a = value.substr(0, comma), b = value.substr(comma + 1);
      auto [pa, ea] = std::from_chars(a.data(), a.data() + a.size(), c);
      auto [pb, eb] = std::from_chars(b.data(), b.data() + b.size(), w);
      if (ea != std::errc() || eb != std::errc() || pa != a.data() + a.size() ||
          pb != b.data() + b.size()) {
        return absl::InvalidArgumentError("window must be a preset or CENTRE,WIDTH");
      }
      text = nlohmann::json::array({c, w});
    }
    ASSIGN_OR_RETURN(window, ParseWindowSpec(text));
  }
  ASSIGN_OR_RETURN(DicomPixels pixels, DecodeStoredDicom(ctx, file));
  ASSIGN_OR_RETURN(int frame, FrameParam(req, pixels));
  return DisplayFrame(pixels, frame, window);
}

// GET /api/files/{id}/values: a DICOM frame's modality values as raw float32.
StatusOr<HttpResponse> Values(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("id"), "file"));
  ASSIGN_OR_RETURN(FileRecord file, VisibleFile(ctx, req, id));
  if (file.content_type != kDicomContentType) {
    return absl::InvalidArgumentError(
        StrCat("file ", id, " is not DICOM; values are the modality values of DICOM files"));
  }
  ASSIGN_OR_RETURN(DicomPixels pixels, DecodeStoredDicom(ctx, file));
  ASSIGN_OR_RETURN(int frame, FrameParam(req, pixels));
  const Image& values = pixels.frames[static_cast<size_t>(frame)];
  static_assert(std::endian::native == std::endian::little, "float32 bytes are sent as stored");
  HttpResponse response;
  response.content_type = "application/octet-stream";
  response.headers["cache-control"] = "private, max-age=3600";
  response.headers["x-width"] = std::to_string(values.width);
  response.headers["x-height"] = std::to_string(values.height);
  response.headers["x-channels"] = std::to_string(values.channels);
  response.headers["x-unit"] = pixels.info.modality == "CT" ? "HU" : "";
  const size_t n = static_cast<size_t>(values.width) * values.height * values.channels;
  response.body.assign(reinterpret_cast<const char*>(values.pixels<float>()), n * sizeof(float));
  return response;
}

StatusOr<HttpResponse> Thumbnail(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("id"), "file"));
  int64_t size = 256;
  std::string value;
  if (req.query_param("size", &value)) {
    ASSIGN_OR_RETURN(size, ParseId(value, "thumbnail size"));
    if (size < 16 || size > 4096) {
      return absl::InvalidArgumentError("thumbnail size must be between 16 and 4096");
    }
  }
  ASSIGN_OR_RETURN(FileRecord file, VisibleFile(ctx, req, id));
  ASSIGN_OR_RETURN(Image image, file.content_type == kDicomContentType ? DicomFrame(ctx, req, file)
                                                                       : DecodeStored(ctx, file));
  const double fit = std::min(1.0, static_cast<double>(size) / std::max(image.width, image.height));
  const int w = std::max(1, static_cast<int>(std::lround(image.width * fit)));
  const int h = std::max(1, static_cast<int>(std::lround(image.height * fit)));
  const auto [lo, hi] = StretchRange(image);
  InputSpec spec;
  // Label maps stay crisp; 1-2 channel images stay grey; the rest become RGB.
  const bool gray = image.channels <= 2 || image.channels > 4;
  spec.color = gray ? ColorMode::kGray : ColorMode::kRgb;
  spec.size = std::pair<int, int>{h, w};
  spec.interpolation = file.role == "source" || file.role == "preview" ? Interpolation::kBilinear
                                                                       : Interpolation::kNearest;
  spec.scale = 1.0;
  spec.mean = {lo};
  spec.std = {hi - lo};
  ASSIGN_OR_RETURN(Tensor t, ImageToTensor(image, spec));
  const int c = spec.channels();
  Image out = MakeImage(w, h, c, PixelType::kUInt8);
  const float* src = t.data_as<float>();  // [1, C, H, W]
  uint8_t* dst = out.pixels<uint8_t>();
  const size_t plane = static_cast<size_t>(w) * h;
  for (size_t p = 0; p < plane; ++p) {
    for (int k = 0; k < c; ++k) {
      const float v = std::clamp(src[static_cast<size_t>(k) * plane + p] * 255.f, 0.f, 255.f);
      dst[p * c + k] = static_cast<uint8_t>(std::lround(v));
    }
  }
  return PngResponse(out);
}

StatusOr<HttpResponse> Overlay(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("id"), "file"));
  std::string palette_name;
  const bool has_palette = req.query_param("palette", &palette_name);
  if (has_palette && palette_name != "classes" && palette_name != "instances") {
    return absl::InvalidArgumentError(
        StrCat("palette must be classes or instances (got '", palette_name, "')"));
  }
  ASSIGN_OR_RETURN(FileRecord file, VisibleFile(ctx, req, id));
  if (file.role != "class_mask" && file.role != "instance_mask") {
    return absl::InvalidArgumentError(
        StrCat("file ", id, " is a ", file.role, ", not a mask (class_mask or instance_mask)"));
  }
  if (!has_palette) palette_name = file.role == "instance_mask" ? "instances" : "classes";
  ASSIGN_OR_RETURN(Image labels, DecodeStored(ctx, file));
  ASSIGN_OR_RETURN(Image rgba,
                   ColorizeLabels(labels, palette_name == "instances" ? LabelPalette::kInstances
                                                                      : LabelPalette::kClasses));
  return PngResponse(rgba);
}

}  // namespace

void AddApiFileRoutes(Router& router, const ApiContext& ctx) {
  router.Add("GET", "/api/files/{id}", Guarded(ctx, Access::kUser, Streaming(ctx, GetFile)));

  router.Add(
      "GET", "/api/files/{id}/meta",
      Guarded(
          ctx, Access::kUser,
          Blocking(ctx, [](const ApiContext& c, const HttpRequest& req) -> StatusOr<HttpResponse> {
            ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("id"), "file"));
            ASSIGN_OR_RETURN(FileRecord file, VisibleFile(c, req, id));
            return JsonResponse(200, JsonText(FileJson(file)));
          })));
  router.Add("GET", "/api/files/{id}/thumbnail",
             Guarded(ctx, Access::kUser, Blocking(ctx, Thumbnail)));
  router.Add("GET", "/api/files/{id}/overlay", Guarded(ctx, Access::kUser, Blocking(ctx, Overlay)));
  router.Add("GET", "/api/files/{id}/values", Guarded(ctx, Access::kUser, Blocking(ctx, Values)));
}

}  // namespace infera
