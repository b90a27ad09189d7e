// Clock: the time in milliseconds since the Unix epoch (UTC), injectable so that code
// with leases, deadlines and intervals (the job workers, the stores) is tested without
// sleeping: tests hand it a ManualClock and move time themselves.
//
// Thread-safety: NowMs may be called from any thread; ManualClock's Set/Advance too.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

namespace infera {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMs() const = 0;
  // NowMs as a function (the stores take one); the clock must outlive it.
  std::function<int64_t()> AsFunction() const {
    return [this] { return NowMs(); };
  }
};

// The system's wall clock.
int64_t SystemNowMs();
// A process-wide Clock reading SystemNowMs.
const Clock& SystemClock();

// A clock that moves only when told to.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 1'700'000'000'000) : now_(start_ms) {}
  int64_t NowMs() const override { return now_.load(std::memory_order_acquire); }
  void Set(int64_t ms) { now_.store(ms, std::memory_order_release); }
  void Advance(int64_t ms) { now_.fetch_add(ms, std::memory_order_acq_rel); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace infera
