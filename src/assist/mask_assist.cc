#include "assist/mask_assist.h"

#include <algorithm>
#include <exception>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

#include "common/strings.h"
#include "imaging/overlay.h"

namespace infera {

namespace {

constexpr int kMaxLabel = 65535;

// The image as OpenCV's 8-bit 3-channel matrix (BGR order does not matter to either
// algorithm: both treat the channels alike).
StatusOr<cv::Mat> Rgb8Mat(const Image& image) {
  ASSIGN_OR_RETURN(Image rgb, PreviewBase(image));
  cv::Mat wrapped(rgb.height, rgb.width, CV_8UC3, rgb.pixels<uint8_t>());
  return wrapped.clone();
}

Image LabelImageOf(int width, int height, int max_label) {
  return MakeImage(width, height, 1, max_label > 255 ? PixelType::kUInt16 : PixelType::kUInt8);
}

void Set(Image* m, size_t i, int v) {
  if (m->type == PixelType::kUInt8) {
    m->pixels<uint8_t>()[i] = static_cast<uint8_t>(v);
  } else {
    m->pixels<uint16_t>()[i] = static_cast<uint16_t>(v);
  }
}

}  // namespace

StatusOr<Image> GrabCutFromBox(const Image& image, const AssistBox& box, int label,
                               int iterations) {
  if (box.width < 1 || box.height < 1 || box.x < 0 || box.y < 0 ||
      box.x + box.width > image.width || box.y + box.height > image.height) {
    return absl::InvalidArgumentError(StrCat("the box [", box.x, ", ", box.y, ", ", box.width, ", ",
                                             box.height, "] is not inside the ", image.width, "x",
                                             image.height, " image"));
  }
  if (box.width * int64_t{box.height} >= int64_t{image.width} * image.height) {
    return absl::InvalidArgumentError(
        "the box covers the whole image; GrabCut needs background outside it");
  }
  if (label < 1 || label > kMaxLabel) {
    return absl::InvalidArgumentError(StrCat("label ", label, " is outside 1..", kMaxLabel));
  }
  ASSIGN_OR_RETURN(cv::Mat rgb, Rgb8Mat(image));
  cv::Mat mask(image.height, image.width, CV_8UC1, cv::Scalar(cv::GC_BGD));
  cv::Mat bgd, fgd;
  try {
    cv::grabCut(rgb, mask, cv::Rect(box.x, box.y, box.width, box.height), bgd, fgd, iterations,
                cv::GC_INIT_WITH_RECT);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(StrCat("GrabCut failed: ", e.what()));
  }
  Image out = LabelImageOf(image.width, image.height, label);
  for (int y = 0; y < image.height; ++y) {
    const uint8_t* row = mask.ptr<uint8_t>(y);
    for (int x = 0; x < image.width; ++x) {
      if (row[x] == cv::GC_FGD || row[x] == cv::GC_PR_FGD) {
        Set(&out, static_cast<size_t>(y) * image.width + x, label);
      }
    }
  }
  return out;
}

StatusOr<Image> WatershedFromSeeds(const Image& image, const std::vector<AssistSeed>& seeds,
                                   int seed_radius) {
  if (seeds.empty()) return absl::InvalidArgumentError("no seeds");
  std::set<int> labels;
  for (const AssistSeed& s : seeds) {
    if (s.x < 0 || s.y < 0 || s.x >= image.width || s.y >= image.height) {
      return absl::InvalidArgumentError(StrCat("seed (", s.x, ", ", s.y, ") is outside the ",
                                               image.width, "x", image.height, " image"));
    }
    if (s.label < 0 || s.label > kMaxLabel) {
      return absl::InvalidArgumentError(
          StrCat("seed label ", s.label, " is outside 0..", kMaxLabel));
    }
    labels.insert(s.label);
  }
  if (labels.size() < 2) {
    return absl::InvalidArgumentError(
        "seeds of two labels at least are needed (label 0 marks the background)");
  }
  ASSIGN_OR_RETURN(cv::Mat rgb, Rgb8Mat(image));
  // Markers: 0 unknown, label + 1 for a seed (so background seeds are 1).
  cv::Mat markers(image.height, image.width, CV_32SC1, cv::Scalar(0));
  const int r = std::max(0, seed_radius);
  for (const AssistSeed& s : seeds) {
    for (int y = std::max(0, s.y - r); y <= std::min(image.height - 1, s.y + r); ++y) {
      for (int x = std::max(0, s.x - r); x <= std::min(image.width - 1, s.x + r); ++x) {
        if ((x - s.x) * (x - s.x) + (y - s.y) * (y - s.y) <= r * r) {
          markers.at<int32_t>(y, x) = s.label + 1;
        }
      }
    }
  }
  try {
    cv::watershed(rgb, markers);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(StrCat("watershed failed: ", e.what()));
  }
  Image out = LabelImageOf(image.width, image.height, *labels.rbegin());
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      int v = markers.at<int32_t>(y, x);
      if (v < 0) {  // a watershed line (or the image's border): the largest label next to it
        v = 0;
        const int dx[] = {-1, 1, 0, 0}, dy[] = {0, 0, -1, 1};
        for (int k = 0; k < 4; ++k) {
          const int nx = x + dx[k], ny = y + dy[k];
          if (nx >= 0 && ny >= 0 && nx < image.width && ny < image.height) {
            v = std::max(v, markers.at<int32_t>(ny, nx));
          }
        }
      }
      Set(&out, static_cast<size_t>(y) * image.width + x, std::max(0, v - 1));
    }
  }
  return out;
}

}  // namespace infera
