// Fuzz target: JWT verification (auth/jwt), the Authorization header of every request
// when auth is on. Tokens signed with the fixed key below pass the MAC, so the fuzzer
// also reaches the header and claims parsing behind it.
#include "auth/jwt.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr std::string_view kKey = "infera-fuzz-key-0123456789abcdef0123456789";
  const auto claims = infera::VerifyJwt(infera::fuzz::Text(data, size), kKey, 1700000000);
  if (claims.ok()) {
    // A token that verifies signs again into one that verifies with the same claims.
    const auto again = infera::SignJwt(*claims, kKey);
    if (!again.ok()) __builtin_trap();
    const auto back = infera::VerifyJwt(*again, kKey, 1700000000);
    if (!back.ok() || !(*back == *claims)) __builtin_trap();
  }
  return 0;
}
