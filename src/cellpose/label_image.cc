#include "cellpose/label_image.h"

#include "common/strings.h"

namespace infera::cellpose {

LabelImage MakeLabelImage(int height, int width) {
  LabelImage image;
  image.height = height;
  image.width = width;
  image.labels.assign(image.size(), 0);
  return image;
}

FlowField MakeFlowField(int height, int width) {
  FlowField flows;
  flows.height = height;
  flows.width = width;
  flows.dy.assign(flows.size(), 0.0f);
  flows.dx.assign(flows.size(), 0.0f);
  return flows;
}

Status ValidateSize(int height, int width, const char* what) {
  if (height < 1 || width < 1 || height > kMaxSide || width > kMaxSide ||
      int64_t{height} * width > kMaxPixels) {
    return absl::InvalidArgumentError(StrCat(what, " must be between 1x1 and ", kMaxSide, "x",
                                             kMaxSide, " with at most ", kMaxPixels,
                                             " pixels; got ", height, "x", width));
  }
  return absl::OkStatus();
}

Status ValidateLabelImage(const LabelImage& image) {
  RETURN_IF_ERROR(ValidateSize(image.height, image.width, "label image"));
  if (image.labels.size() != image.size()) {
    return absl::InvalidArgumentError(StrCat("label image of ", image.height, "x", image.width,
                                             " holds ", image.labels.size(), " labels, expected ",
                                             image.size()));
  }
  return absl::OkStatus();
}

Status ValidateFlowField(const FlowField& flows) {
  RETURN_IF_ERROR(ValidateSize(flows.height, flows.width, "flow field"));
  if (flows.dy.size() != flows.size() || flows.dx.size() != flows.size()) {
    return absl::InvalidArgumentError(
        StrCat("flow field of ", flows.height, "x", flows.width, " holds ", flows.dy.size(),
               " dY and ", flows.dx.size(), " dX values, expected ", flows.size(), " each"));
  }
  return absl::OkStatus();
}

}  // namespace infera::cellpose
