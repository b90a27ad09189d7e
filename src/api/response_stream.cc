#include "api/response_stream.h"

#include <algorithm>
#include <utility>

namespace infera {

std::function<void()> ResponseStream::TakeReady() { return std::exchange(ready_, nullptr); }

bool ResponseStream::Write(std::string_view bytes) {
  while (!bytes.empty()) {
    std::function<void()> ready;
    {
      MutexLock lock(&mu_);
      while (state_ == State::kOpen && queued_.size() >= capacity_) space_.Wait(&mu_);
      if (state_ != State::kOpen) return false;
      const size_t n = std::min(bytes.size(), capacity_ - queued_.size());
      queued_.append(bytes.substr(0, n));
      bytes.remove_prefix(n);
      ready = TakeReady();
    }
    if (ready) ready();
  }
  return true;
}

void ResponseStream::Close() {
  std::function<void()> ready;
  {
    MutexLock lock(&mu_);
    if (state_ != State::kOpen) return;
    state_ = State::kClosed;
    ready = TakeReady();
  }
  if (ready) ready();
}

void ResponseStream::Abort() {
  std::function<void()> ready;
  {
    MutexLock lock(&mu_);
    if (state_ != State::kOpen) return;
    state_ = State::kAborted;
    queued_.clear();
    ready = TakeReady();
  }
  if (ready) ready();
}

ResponseStream::State ResponseStream::Take(std::string* out) {
  MutexLock lock(&mu_);
  out->clear();
  out->swap(queued_);
  space_.SignalAll();
  return state_;
}

void ResponseStream::OnReady(std::function<void()> ready) {
  std::function<void()> now;
  {
    MutexLock lock(&mu_);
    ready_ = std::move(ready);
    if (!queued_.empty() || state_ != State::kOpen) now = TakeReady();
  }
  if (now) now();
}

void ResponseStream::Cancel() {
  MutexLock lock(&mu_);
  if (state_ == State::kOpen) state_ = State::kCancelled;
  queued_.clear();
  ready_ = nullptr;
  space_.SignalAll();
}

}  // namespace infera
