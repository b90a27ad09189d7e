// SpanLogScope: while it lives, the lines this thread logs carry the span's trace_id and
// span_id (common/logging.h ScopedLogFields), so error lines can be found from a trace
// and the other way round. A null span adds nothing.
//
// Thread-safety: a local variable of the thread that logs (see ScopedLogFields).
#pragma once

#include <memory>
#include <optional>

#include "common/logging.h"
#include "tracing/span.h"

namespace infera {

class SpanLogScope {
 public:
  explicit SpanLogScope(const TraceSpan* span) {
    if (span != nullptr) {
      fields_.emplace(std::vector<std::pair<std::string, std::string>>{
          {"trace_id", ToHex(span->context().trace_id)},
          {"span_id", ToHex(span->context().span_id)}});
    }
  }
  explicit SpanLogScope(const std::shared_ptr<TraceSpan>& span) : SpanLogScope(span.get()) {}

 private:
  std::optional<ScopedLogFields> fields_;
};

}  // namespace infera
