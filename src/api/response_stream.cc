#include "api/response_stream.h"

#include <utility>

namespace infera {

void ResponseStream::NotifyLocked(std::unique_lock<std::mutex>& lock) {
  std::function<void()> ready = std::move(ready_);
  ready_ = nullptr;
  lock.unlock();
  if (ready) ready();
}

bool ResponseStream::Write(std::string_view bytes) {
  std::unique_lock lock(mu_);
  while (!bytes.empty()) {
    space_.wait(lock, [this] { return state_ != State::kOpen || queued_.size() < capacity_; });
    if (state_ != State::kOpen) return false;
    const size_t n = std::min(bytes.size(), capacity_ - queued_.size());
    queued_.append(bytes.substr(0, n));
    bytes.remove_prefix(n);
    if (ready_) {
      NotifyLocked(lock);
      lock.lock();
    }
  }
  return true;
}

void ResponseStream::Close() {
  std::unique_lock lock(mu_);
  if (state_ != State::kOpen) return;
  state_ = State::kClosed;
  NotifyLocked(lock);
}

void ResponseStream::Abort() {
  std::unique_lock lock(mu_);
  if (state_ != State::kOpen) return;
  state_ = State::kAborted;
  queued_.clear();
  NotifyLocked(lock);
}

ResponseStream::State ResponseStream::Take(std::string* out) {
  std::lock_guard lock(mu_);
  out->clear();
  out->swap(queued_);
  space_.notify_all();
  return state_;
}

void ResponseStream::OnReady(std::function<void()> ready) {
  std::unique_lock lock(mu_);
  ready_ = std::move(ready);
  if (!queued_.empty() || state_ != State::kOpen) NotifyLocked(lock);
}

void ResponseStream::Cancel() {
  std::lock_guard lock(mu_);
  if (state_ == State::kOpen) state_ = State::kCancelled;
  queued_.clear();
  ready_ = nullptr;
  space_.notify_all();
}

}  // namespace infera
