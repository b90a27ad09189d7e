#include "auth/base64url.h"

#include <array>
#include <cstdint>

#include "common/base64.h"
#include "common/strings.h"

namespace infera {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<int8_t, 256> MakeTable() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  return t;
}

constexpr std::array<int8_t, 256> kTable = MakeTable();

}  // namespace

std::string Base64UrlEncode(std::string_view bytes) {
  return Base64Encode(bytes, Base64Alphabet::kUrlSafe, Base64Padding::kUnpadded);
}

StatusOr<std::string> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) {
    return absl::InvalidArgumentError(
        StrCat("invalid base64url: length ", text.size(), " is not a possible encoding"));
  }
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const int8_t v = kTable[static_cast<unsigned char>(text[i])];
    if (v < 0) {
      return absl::InvalidArgumentError(
          StrCat("invalid base64url: unexpected character at offset ", i));
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  // 2 or 4 bits are left over after a partial group; they must be zero, or a second
  // text would decode to the same bytes.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
    return absl::InvalidArgumentError("invalid base64url: non-zero trailing bits");
  }
  return out;
}

bool IsBase64UrlText(std::string_view text) {
  for (char c : text) {
    if (kTable[static_cast<unsigned char>(c)] < 0) return false;
  }
  return true;
}

}  // namespace infera
