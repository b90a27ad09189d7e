// Structured logging: one line per event on stderr, as key=value pairs
// (`ts=... level=info event=model_loaded model=tiny_cls version=1 load_ms=41`).
// Values containing spaces, quotes or '=' are double-quoted with escapes.
// Thread-safe: lines from different threads never interleave.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace infera {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

using LogField = std::pair<std::string_view, std::string>;

// Lines below `level` are dropped. Default kInfo; INFERA_LOG_LEVEL=debug|info|warning|error
// in the environment sets it at start-up.
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);

void Log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});

// ScopedLogFields: fields added to every line the constructing thread logs while it
// lives — the trace_id and span_id of the request or job the thread is working on
// (tracing/span_log_scope.h makes one from a span). Scopes nest: the innermost one's
// fields are used (not the outer ones'); a field the Log call names itself wins.
// Thread-safety: belongs to the thread that made it; destroy it on that thread, in
// reverse order of construction (as a local variable).
class ScopedLogFields {
 public:
  explicit ScopedLogFields(std::vector<std::pair<std::string, std::string>> fields);
  ~ScopedLogFields();
  ScopedLogFields(const ScopedLogFields&) = delete;
  ScopedLogFields& operator=(const ScopedLogFields&) = delete;

  // The innermost scope of this thread, or null.
  static const ScopedLogFields* Current();
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  const std::vector<std::pair<std::string, std::string>> fields_;
  const ScopedLogFields* const previous_;
};

// Formats one line (without the trailing newline); exposed for tests.
std::string FormatLogLine(LogLevel level, std::string_view event,
                          std::initializer_list<LogField> fields);

}  // namespace infera
