#include "tracing/sampler.h"

#include <algorithm>
#include <cmath>

namespace infera {

Sampler::Sampler(double rate)
    : rate_(std::isnan(rate) ? 0.0 : std::clamp(rate, 0.0, 1.0)),
      threshold_(0),
      always_(rate_ >= 1.0) {
  if (!always_ && rate_ > 0) {
    // rate * 2^64, below 2^64 since rate < 1.
    threshold_ = static_cast<uint64_t>(std::ldexp(rate_, 64));
  }
}

bool Sampler::ShouldSample(const SpanContext* parent, const TraceId& trace_id) const {
  if (parent != nullptr) return parent->sampled();
  if (always_) return true;
  uint64_t low = 0;
  for (size_t i = 8; i < 16; ++i) low = (low << 8) | trace_id[i];
  return low < threshold_;
}

}  // namespace infera
