// Sampler: whether a new span is recorded (sampled) — OpenTelemetry's
// ParentBased(TraceIdRatioBased(rate)):
//   - with a parent context (a propagated traceparent), its sampled flag decides: a
//     sampled parent is always traced, an unsampled one never;
//   - without one, the trace id decides: sampled when its last 8 bytes, read as a
//     big-endian integer, fall below rate * 2^64 (so every process that sees the same
//     trace id and rate agrees). Rate 0 never samples, rate 1 always does.
//
// Thread-safety: immutable after construction.
#pragma once

#include <cstdint>

#include "tracing/trace_context.h"

namespace infera {

class Sampler {
 public:
  // `rate` is clamped to [0, 1].
  explicit Sampler(double rate);

  bool ShouldSample(const SpanContext* parent, const TraceId& trace_id) const;
  double rate() const { return rate_; }

 private:
  double rate_;
  uint64_t threshold_;  // sampled when the id's low 64 bits < threshold_ (or always_)
  bool always_;
};

}  // namespace infera
