#include "common/byte_budget.h"

#include <utility>

#include "common/strings.h"

namespace infera {

ByteBudget::Reservation::Reservation(Reservation&& other) noexcept
    : budget_(std::exchange(other.budget_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

ByteBudget::Reservation& ByteBudget::Reservation::operator=(Reservation&& other) noexcept {
  if (this != &other) {
    Release();
    budget_ = std::exchange(other.budget_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void ByteBudget::Reservation::Release() {
  if (budget_ != nullptr) budget_->Give(bytes_);
  budget_ = nullptr;
  bytes_ = 0;
}

StatusOr<ByteBudget::Reservation> ByteBudget::Acquire(uint64_t bytes,
                                                      std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  MutexLock lock(&mu_);
  // Fits beside what is held, or (too large for any company) runs alone.
  while (!(in_use_ + bytes <= capacity_ || (in_use_ == 0 && bytes > capacity_))) {
    if (freed_.WaitUntil(&mu_, deadline)) {
      if (in_use_ + bytes <= capacity_ || (in_use_ == 0 && bytes > capacity_)) break;
      return absl::UnavailableError(StrCat("the server is busy with other uploads (", in_use_,
                                           " of ", capacity_, " bytes in use); try again shortly"));
    }
  }
  in_use_ += bytes;
  return Reservation(this, bytes);
}

uint64_t ByteBudget::in_use() const {
  MutexLock lock(&mu_);
  return in_use_;
}

void ByteBudget::Give(uint64_t bytes) {
  MutexLock lock(&mu_);
  in_use_ -= bytes;
  freed_.SignalAll();
}

}  // namespace infera
