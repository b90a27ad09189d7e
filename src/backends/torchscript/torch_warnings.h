// TorchWarningsToLog: while alive, LibTorch's warnings (TORCH_WARN, i.e. c10::Warning)
// raised on the calling thread become infera log lines — `level=warning
// event=torch_warning model=NAME source=FILE:LINE message="..."` — instead of c10's own
// "[W FILE:LINE] Warning: ..." printed raw on stderr between them.
//
// c10's warning handler is per thread (torch 1.13): the guard installs infera's handler
// on the constructing thread and puts the previous one back on destruction, so guards
// nest. The backend holds one around each load and each forward. Warnings raised on
// OpenMP worker threads inside a parallel region keep c10's default handler.
// Thread-safety: construct and destroy on the same thread; `model_name` must outlive
// the guard.
#pragma once

#include <string>

namespace infera {

class TorchWarningsToLog {
 public:
  explicit TorchWarningsToLog(const std::string& model_name);
  ~TorchWarningsToLog();
  TorchWarningsToLog(const TorchWarningsToLog&) = delete;
  TorchWarningsToLog& operator=(const TorchWarningsToLog&) = delete;

 private:
  void* previous_handler_;  // the thread's c10::WarningHandler before this guard
  const std::string* previous_model_;
};

}  // namespace infera
