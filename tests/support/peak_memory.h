// PeakMemory: how far this process's resident memory rose during a block of a test, from
// Linux's VmHWM (peak resident set size), reset at the start by writing "5" to
// /proc/self/clear_refs (Linux >= 4.0). For tests that prove an operation's memory is
// bounded (it does not grow with the size of its input). The whole process counts: keep
// other threads quiet while measuring. Not thread-safe.
#pragma once

#include <cstdint>

namespace infera::testing {

class PeakMemory {
 public:
  // Returns freed heap memory to the kernel (glibc's malloc_trim), then resets the peak
  // to the current resident size and remembers it. False when the kernel does not allow
  // it (then Growth() means nothing).
  bool Reset();
  // Bytes the peak rose above the resident size at Reset().
  int64_t Growth() const;

  // VmRSS / VmHWM of this process in bytes (-1 when unreadable).
  static int64_t Resident();
  static int64_t Peak();

 private:
  int64_t start_ = 0;
};

}  // namespace infera::testing
