// BYTES inputs to image models: each element of a BYTES input is an encoded image
// (PNG, JPEG or TIFF), which is decoded and preprocessed with the model's input spec —
// exactly what /predict does — so that a protocol client can send files instead of
// tensors. The rows are stacked into the model's input batch.
//
// Pure function of its arguments; thread-safe.
#pragma once

#include "common/status.h"
#include "imaging/codec.h"
#include "models/model.h"
#include "serving/oip_types.h"

namespace infera {

// `images`: shape [N] or [N, 1], N >= 1, one encoded image per element. Returns the
// model's input tensor [N, ...] (InputRowShape). InvalidArgument naming the element for
// an image that does not decode (or exceeds `limits`), for images whose sizes give
// different rows (a model that keeps the image size), for another shape, or for a model
// whose runner feeds the network other channels than the input spec makes (cellpose:
// send the tensor, or use /predict).
StatusOr<Tensor> ImagesToInputBatch(const BytesTensor& images, const Model& model,
                                    const DecodeLimits& limits);

}  // namespace infera
