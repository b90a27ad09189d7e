#include "backends/torchscript/torch_warnings.h"

#include <c10/util/Exception.h>

#include <cstring>

#include "common/logging.h"
#include "common/strings.h"

namespace infera {

namespace {

thread_local const std::string* current_model = nullptr;  // the innermost guard's model

// One handler for the process; the model comes from the thread's innermost guard.
class LogWarningHandler final : public c10::WarningHandler {
 public:
  void process(const c10::SourceLocation& location, const std::string& message,
               const bool /*verbatim*/) override {
    const char* file = location.file != nullptr ? location.file : "?";
    const char* slash = std::strrchr(file, '/');
    Log(LogLevel::kWarning, "torch_warning",
        {{"model", current_model != nullptr ? *current_model : std::string()},
         {"source", StrCat(slash != nullptr ? slash + 1 : file, ":", location.line)},
         {"message", message}});
  }
};

LogWarningHandler* Handler() {
  static LogWarningHandler* handler = new LogWarningHandler();  // never destroyed
  return handler;
}

}  // namespace

TorchWarningsToLog::TorchWarningsToLog(const std::string& model_name)
    : previous_handler_(c10::Warning::get_warning_handler()), previous_model_(current_model) {
  current_model = &model_name;
  c10::Warning::set_warning_handler(Handler());
}

TorchWarningsToLog::~TorchWarningsToLog() {
  c10::Warning::set_warning_handler(static_cast<c10::WarningHandler*>(previous_handler_));
  current_model = previous_model_;
}

}  // namespace infera
