#include "support/peak_memory.h"

#include <malloc.h>

#include <fstream>
#include <string>

namespace infera::testing {
namespace {

int64_t StatusKib(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stoll(line.substr(key.size() + 1)) * 1024;
  }
  return -1;
}

}  // namespace

bool PeakMemory::Reset() {
  // Freed memory glibc still holds resident would let an allocation reuse it without the
  // resident size rising: hand it back first, so the peak counts what is live.
  ::malloc_trim(0);
  {
    std::ofstream clear("/proc/self/clear_refs");
    if (!clear) return false;
    clear << "5";
    if (!clear.flush()) return false;
  }
  start_ = Resident();
  const int64_t peak = Peak();
  // After a reset the peak is the current level (give a little for the reads themselves).
  return start_ > 0 && peak >= 0 && peak - start_ < (int64_t{4} << 20);
}

int64_t PeakMemory::Growth() const { return Peak() - start_; }

int64_t PeakMemory::Resident() { return StatusKib("VmRSS"); }
int64_t PeakMemory::Peak() { return StatusKib("VmHWM"); }

}  // namespace infera::testing
