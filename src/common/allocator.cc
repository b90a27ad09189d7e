#include "common/allocator.h"

#include <malloc.h>

#include <cstdlib>
#include <string_view>

namespace infera {

bool ConfigureAllocator() {
  const char* env = std::getenv("INFERA_MALLOC");
  if (env != nullptr && std::string_view(env) == "default") return false;
  constexpr int kOneGiB = 1 << 30;
  return mallopt(M_ARENA_MAX, 1) == 1 && mallopt(M_MMAP_THRESHOLD, kOneGiB) == 1 &&
         mallopt(M_TRIM_THRESHOLD, kOneGiB) == 1;
}

}  // namespace infera
