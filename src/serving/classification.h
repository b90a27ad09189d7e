// The Open Inference Protocol's classification extension: a requested output with
// `parameters.classification = N` is answered, instead of the tensor, with the top N
// classes of each batch row as BYTES strings "value:index:label" (":label" only when the
// model has labels), best first — the form Triton's clients parse.
//
// Pure function; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "serving/oip_types.h"
#include "tensor/tensor.h"

namespace infera {

// `output`: [batch, d1, ...]; each batch row's elements (all dimensions after the first,
// flattened in row-major order) are the class scores. Returns BYTES of shape
// [batch, min(top_n, row elements)]. Values are written as std::to_string does ("%f");
// ties go to the lower index. InvalidArgument for top_n < 1, a scalar output, or an
// output with no elements per row.
StatusOr<BytesTensor> ClassifyOutput(const Tensor& output, int64_t top_n,
                                     const std::vector<std::string>& labels);

}  // namespace infera
