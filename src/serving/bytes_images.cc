#include "serving/bytes_images.h"

#include "common/strings.h"
#include "imaging/preprocess.h"

namespace infera {

StatusOr<Tensor> ImagesToInputBatch(const BytesTensor& images, const Model& model,
                                    const DecodeLimits& limits) {
  const ModelConfig& config = model.config();
  const std::string label = StrCat("input '", config.input_name, "'");
  const Shape& shape = images.shape;
  if (shape.empty() || shape.size() > 2 || shape[0] < 1 || (shape.size() == 2 && shape[1] != 1)) {
    return absl::InvalidArgumentError(
        StrCat(label, ": BYTES images need shape [N] or [N, 1], got ", ShapeToString(shape)));
  }
  if (model.runner().ModelInputChannels(model.description()) != config.input.channels()) {
    return absl::InvalidArgumentError(
        StrCat(label, ": model '", config.name, "' (runner ", config.runner,
               ") builds its own input from images; send the tensor, or POST the image to "
               "/predict/",
               config.name));
  }
  std::vector<Tensor> rows;
  rows.reserve(images.elements.size());
  for (size_t i = 0; i < images.elements.size(); ++i) {
    const std::string& bytes = images.elements[i];
    StatusOr<Image> image = DecodeImage(
        std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()),
        limits);
    if (!image.ok()) {
      return absl::InvalidArgumentError(
          StrCat(label, ": BYTES element ", i, ": ", ToStd(image.status().message())));
    }
    StatusOr<Tensor> row = ImageToTensor(*image, config.input);
    if (!row.ok()) {
      return absl::InvalidArgumentError(
          StrCat(label, ": BYTES element ", i, ": ", ToStd(row.status().message())));
    }
    if (!rows.empty() && row->shape() != rows.front().shape()) {
      return absl::InvalidArgumentError(StrCat(
          label, ": BYTES element ", i, " gives an input of shape ", ShapeToString(row->shape()),
          ", element 0 gave ", ShapeToString(rows.front().shape()),
          " (this model keeps the image size: send images of one size)"));
    }
    rows.push_back(std::move(*row));
  }
  if (rows.size() == 1) return std::move(rows.front());
  std::vector<const Tensor*> parts;
  for (const Tensor& t : rows) parts.push_back(&t);
  return ConcatDim0(parts);
}

}  // namespace infera
