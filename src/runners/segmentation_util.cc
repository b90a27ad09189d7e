#include "runners/segmentation_util.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/strings.h"
#include "imaging/overlay.h"
#include "imaging/resize_image.h"
#include "runners/model_description.h"

namespace infera {

StatusOr<ScoreMap> ReadScoreMap(const std::vector<std::vector<Tensor>>& outputs,
                                const ModelDescription& model, std::string_view runner,
                                const ScoreMapRequirements& requirements) {
  if (outputs.size() != 1 || outputs[0].empty()) {
    return absl::InternalError(StrCat(runner, " expects one output for one model call; model '",
                                      model.name, "' returned ", outputs.size(), " calls with ",
                                      outputs.empty() ? 0 : outputs[0].size(), " outputs"));
  }
  const Tensor& t = outputs[0][0];
  const Shape& shape = t.shape();
  const bool four_d = shape.size() == 4;
  const bool three_d = shape.size() == 3 && requirements.allow_3d;
  auto wrong = [&]() {
    return absl::InternalError(
        StrCat(runner, " expects a FP32 output of shape [1, K, H, W]",
               requirements.allow_3d ? " or [1, H, W]" : "", " with K between ",
               requirements.min_classes, " and ", requirements.max_classes, "; model '", model.name,
               "' returned ", DTypeName(t.dtype()), " ", ShapeToString(shape)));
  };
  if (t.dtype() != DType::kFP32 || !(four_d || three_d) || shape[0] != 1) return wrong();
  const int64_t classes = four_d ? shape[1] : 1;
  const int64_t height = shape[shape.size() - 2];
  const int64_t width = shape[shape.size() - 1];
  if (classes < requirements.min_classes || classes > requirements.max_classes || height < 1 ||
      width < 1 || height > INT32_MAX || width > INT32_MAX) {
    return wrong();
  }
  ScoreMap map;
  map.classes = static_cast<int>(classes);
  map.height = static_cast<int>(height);
  map.width = static_cast<int>(width);
  map.data = t.data_as<float>();
  return map;
}

float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

Image ThresholdPlane(const ScoreMap& scores, int k, bool scores_are_probabilities, double threshold,
                     uint8_t foreground) {
  Image mask = MakeImage(scores.width, scores.height, 1, PixelType::kUInt8);
  const float t = static_cast<float>(threshold);
  const float* s = scores.plane(k);
  uint8_t* m = mask.pixels<uint8_t>();
  const size_t n = scores.plane_size();
  for (size_t i = 0; i < n; ++i) {
    const float p = scores_are_probabilities ? s[i] : Sigmoid(s[i]);
    m[i] = p > t ? foreground : 0;
  }
  return mask;
}

namespace {

template <typename T>
void Argmax(const ScoreMap& scores, T* out) {
  const size_t n = scores.plane_size();
  std::vector<float> best(scores.plane(0), scores.plane(0) + n);
  std::fill(out, out + n, T{0});
  for (int k = 1; k < scores.classes; ++k) {
    const float* s = scores.plane(k);
    for (size_t i = 0; i < n; ++i) {
      // Strictly greater: ties keep the lower index; a NaN never compares greater.
      if (s[i] > best[i]) {
        best[i] = s[i];
        out[i] = static_cast<T>(k);
      }
    }
  }
}

}  // namespace

Image ArgmaxLabels(const ScoreMap& scores) {
  const bool small = scores.classes <= 256;
  Image labels =
      MakeImage(scores.width, scores.height, 1, small ? PixelType::kUInt8 : PixelType::kUInt16);
  if (small) {
    Argmax(scores, labels.pixels<uint8_t>());
  } else {
    Argmax(scores, labels.pixels<uint16_t>());
  }
  return labels;
}

Image ProbabilityImage(const ScoreMap& scores, bool scores_are_probabilities) {
  const int k = scores.classes;
  Image out = MakeImage(scores.width, scores.height, k, PixelType::kFloat32);
  float* dst = out.pixels<float>();
  const size_t n = scores.plane_size();
  std::vector<float> v(static_cast<size_t>(k));
  for (size_t i = 0; i < n; ++i) {
    for (int c = 0; c < k; ++c) v[c] = scores.plane(c)[i];
    float* p = dst + i * k;
    if (scores_are_probabilities) {
      std::copy(v.begin(), v.end(), p);
    } else if (k == 1) {
      p[0] = Sigmoid(v[0]);
    } else {
      const float max = *std::max_element(v.begin(), v.end());
      float sum = 0.0f;
      for (int c = 0; c < k; ++c) {
        p[c] = std::exp(v[c] - max);
        sum += p[c];
      }
      for (int c = 0; c < k; ++c) p[c] /= sum;
    }
  }
  return out;
}

namespace {

// The part of `map` the image filled, {height, width}: ContentSize scaled to the map's
// size. It is the whole map unless the input was letterboxed.
std::pair<int, int> ContentExtent(const Image& map, const Image& source, const InputSpec& spec) {
  if (map.width <= 0 || map.height <= 0 || source.width <= 0 || source.height <= 0) {
    return {map.height, map.width};
  }
  const auto [input_height, input_width] = ModelInputSize(source, spec);
  const std::pair<int, int> content = ContentSize(source.height, source.width, spec);
  auto part = [](int content_side, int map_side, int input_side) {
    const double scaled = static_cast<double>(content_side) * map_side / input_side;
    return std::clamp(static_cast<int>(std::lround(scaled)), 1, map_side);
  };
  return {part(content.first, map.height, input_height),
          part(content.second, map.width, input_width)};
}

}  // namespace

Image ContentPart(const Image& map, const Image& source, const InputSpec& spec) {
  const auto [height, width] = ContentExtent(map, source, spec);
  if (height != map.height || width != map.width) return PlaceTopLeft(map, width, height);
  return map;
}

StatusOr<Image> ToSourceSize(const Image& map, const Image& source, Interpolation interpolation,
                             const InputSpec& spec) {
  const auto [height, width] = ContentExtent(map, source, spec);
  if (height != map.height || width != map.width) {
    return ResizeImage(PlaceTopLeft(map, width, height), source.width, source.height,
                       interpolation);
  }
  return ResizeImage(map, source.width, source.height, interpolation);
}

std::vector<int64_t> CountLabels(const Image& labels) {
  const size_t n = static_cast<size_t>(labels.width) * labels.height;
  if (labels.type == PixelType::kUInt16) {
    std::vector<int64_t> counts(65536, 0);
    const uint16_t* p = labels.pixels<uint16_t>();
    for (size_t i = 0; i < n; ++i) ++counts[p[i * labels.channels]];
    return counts;
  }
  std::vector<int64_t> counts(256, 0);
  const uint8_t* p = labels.pixels<uint8_t>();
  for (size_t i = 0; i < n; ++i) ++counts[p[i * labels.channels]];
  return counts;
}

double ForegroundFraction(const std::vector<int64_t>& counts) {
  int64_t total = 0;
  for (int64_t c : counts) total += c;
  if (total == 0) return 0.0;
  return static_cast<double>(total - counts[0]) / static_cast<double>(total);
}

nlohmann::json HistogramJson(const std::vector<int64_t>& counts,
                             const std::vector<int64_t>& always) {
  nlohmann::json out = nlohmann::json::object();
  for (size_t v = 0; v < counts.size(); ++v) {
    const bool listed =
        std::find(always.begin(), always.end(), static_cast<int64_t>(v)) != always.end();
    if (counts[v] > 0 || listed) out[StrCat(v)] = counts[v];
  }
  return out;
}

std::string ClassName(const ModelDescription& model, int64_t k) {
  if (k >= 0 && static_cast<size_t>(k) < model.labels.size()) return model.labels[k];
  return StrCat("class_", k);
}

nlohmann::json ClassesJson(const std::vector<int64_t>& counts, const ModelDescription& model) {
  int64_t total = 0;
  for (int64_t c : counts) total += c;
  nlohmann::json out = nlohmann::json::array();
  for (size_t k = 0; k < counts.size(); ++k) {
    if (counts[k] == 0) continue;
    const auto id = static_cast<int64_t>(k);
    out.push_back(
        {{"class_id", id},
         {"label", ClassName(model, id)},
         {"pixels", counts[k]},
         {"fraction", static_cast<double>(counts[k]) / static_cast<double>(total)},
         {"color", id == 0 ? nlohmann::json() : nlohmann::json(ColorHex(LabelColor(id)))}});
  }
  return out;
}

std::pair<int, int> ModelInputSize(const Image& source, const InputSpec& spec) {
  if (spec.size) return *spec.size;
  return {source.height, source.width};
}

StatusOr<Image> ToInputSize(const Image& image, const InputSpec& spec,
                            Interpolation interpolation) {
  const auto [height, width] = ModelInputSize(image, spec);
  const std::pair<int, int> content = ContentSize(image.height, image.width, spec);
  ASSIGN_OR_RETURN(Image resized, ResizeImage(image, content.second, content.first, interpolation));
  if (content.first == height && content.second == width) return resized;
  return PlaceTopLeft(resized, width, height);
}

StatusOr<Image> AnnotationAtModelSize(const Image& annotation, const Image& source,
                                      const InputSpec& spec) {
  if (annotation.width <= 0 || annotation.height <= 0 || annotation.channels <= 0 ||
      annotation.data.size() != annotation.row_bytes() * static_cast<size_t>(annotation.height)) {
    return absl::InvalidArgumentError("the annotation is empty or malformed");
  }
  if (annotation.width != source.width || annotation.height != source.height) {
    return absl::InvalidArgumentError(StrCat("the annotation is ", annotation.width, "x",
                                             annotation.height, " but the image is ", source.width,
                                             "x", source.height));
  }
  Image first = MakeImage(annotation.width, annotation.height, 1, annotation.type);
  const size_t sample = PixelTypeSize(annotation.type);
  const size_t n = static_cast<size_t>(annotation.width) * annotation.height;
  for (size_t i = 0; i < n; ++i) {
    std::memcpy(first.data.data() + i * sample,
                annotation.data.data() + i * annotation.channels * sample, sample);
  }
  return ToInputSize(first, spec, Interpolation::kNearest);
}

}  // namespace infera
