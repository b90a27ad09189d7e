#include "common/clock.h"

#include <chrono>

namespace infera {

namespace {

class SystemClockImpl final : public Clock {
 public:
  int64_t NowMs() const override { return SystemNowMs(); }
};

}  // namespace

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const Clock& SystemClock() {
  static const SystemClockImpl clock;
  return clock;
}

}  // namespace infera
