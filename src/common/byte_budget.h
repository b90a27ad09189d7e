// ByteBudget: a bound on the bytes that work in flight holds at once, across threads —
// e.g. uploads being read and decoded: four uploads of large images at once must not
// hold four times their size in memory.
//
// Acquire reserves bytes, waiting (up to a limit) while others hold too much; the
// Reservation gives them back when destroyed. A request larger than the whole capacity
// is granted when nothing else is held, so it runs alone rather than never.
// Thread-safe. The budget must outlive its reservations.
#pragma once

#include <chrono>
#include <cstdint>

#include "common/mutex.h"
#include "common/status.h"

namespace infera {

class ByteBudget {
 public:
  explicit ByteBudget(uint64_t capacity) : capacity_(capacity) {}
  ByteBudget(const ByteBudget&) = delete;
  ByteBudget& operator=(const ByteBudget&) = delete;

  // Bytes held until destroyed (or Release()). Move-only.
  class Reservation {
   public:
    Reservation() = default;
    Reservation(Reservation&& other) noexcept;
    Reservation& operator=(Reservation&& other) noexcept;
    ~Reservation() { Release(); }
    void Release();
    uint64_t bytes() const { return bytes_; }

   private:
    friend class ByteBudget;
    Reservation(ByteBudget* budget, uint64_t bytes) : budget_(budget), bytes_(bytes) {}
    ByteBudget* budget_ = nullptr;
    uint64_t bytes_ = 0;
  };

  // Reserves `bytes`, waiting up to `wait` for room. Unavailable ("busy") when the time
  // runs out.
  StatusOr<Reservation> Acquire(uint64_t bytes, std::chrono::milliseconds wait);

  uint64_t capacity() const { return capacity_; }
  uint64_t in_use() const EXCLUDES(mu_);

 private:
  void Give(uint64_t bytes) EXCLUDES(mu_);

  const uint64_t capacity_;
  mutable Mutex mu_;
  CondVar freed_;
  uint64_t in_use_ GUARDED_BY(mu_) = 0;
};

}  // namespace infera
