#include "common/base64.h"

#include <array>

#include "common/strings.h"

namespace infera {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrlSafeAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<int8_t, 256> MakeTable() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  t['-'] = 62;  // the URL-safe alphabet too
  t['_'] = 63;
  return t;
}

constexpr std::array<int8_t, 256> kTable = MakeTable();

}  // namespace

StatusOr<std::vector<std::byte>> Base64Decode(std::string_view text) {
  if (text.substr(0, 5) == "data:") {
    const size_t comma = text.find(',');
    if (comma == std::string_view::npos ||
        text.substr(0, comma).find(";base64") == std::string_view::npos) {
      return absl::InvalidArgumentError("data URL is not base64-encoded");
    }
    text.remove_prefix(comma + 1);
  }
  // Sized for the whole text up front and written through a pointer (no push_back per
  // byte); trimmed to what was decoded at the end.
  std::vector<std::byte> out(text.size() / 4 * 3 + 3);
  std::byte* dst = out.data();
  const auto* src = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  uint32_t acc = 0;
  int bits = 0;
  size_t padding = 0;
  size_t i = 0;
  while (i < n) {
    // Fast path: whole groups of four alphabet characters between byte boundaries
    // (bits == 0), 3 bytes each. Anything else (whitespace, '=', a bad character, the
    // tail) goes one character at a time below, with the same errors.
    if (bits == 0 && padding == 0) {
      while (i + 4 <= n) {
        const int8_t a = kTable[src[i]];
        const int8_t b = kTable[src[i + 1]];
        const int8_t c = kTable[src[i + 2]];
        const int8_t d = kTable[src[i + 3]];
        if ((a | b | c | d) < 0) break;
        const uint32_t v = (static_cast<uint32_t>(a) << 18) | (static_cast<uint32_t>(b) << 12) |
                           (static_cast<uint32_t>(c) << 6) | static_cast<uint32_t>(d);
        dst[0] = static_cast<std::byte>(v >> 16);
        dst[1] = static_cast<std::byte>((v >> 8) & 0xFF);
        dst[2] = static_cast<std::byte>(v & 0xFF);
        dst += 3;
        i += 4;
      }
      if (i >= n) break;
    }
    const unsigned char c = src[i];
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      ++i;
      continue;
    }
    if (c == '=') {
      ++padding;
      ++i;
      continue;
    }
    const int8_t v = kTable[c];
    if (v < 0 || padding > 0) {
      return absl::InvalidArgumentError(
          StrCat("invalid base64: unexpected character at offset ", i));
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      *dst++ = static_cast<std::byte>((acc >> bits) & 0xFF);
    }
    ++i;
  }
  if (bits >= 6 || padding > 2) {
    return absl::InvalidArgumentError("invalid base64: truncated input");
  }
  out.resize(static_cast<size_t>(dst - out.data()));
  return out;
}

std::string Base64Encode(std::string_view bytes, Base64Alphabet alphabet, Base64Padding padding) {
  const char* chars = alphabet == Base64Alphabet::kStandard ? kAlphabet : kUrlSafeAlphabet;
  const bool pad = padding == Base64Padding::kPadded;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t size = bytes.size();
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < size; i += 3) {
    const uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    out.push_back(chars[(v >> 18) & 63]);
    out.push_back(chars[(v >> 12) & 63]);
    out.push_back(chars[(v >> 6) & 63]);
    out.push_back(chars[v & 63]);
  }
  if (i < size) {
    uint32_t v = uint32_t{p[i]} << 16;
    if (i + 1 < size) v |= uint32_t{p[i + 1]} << 8;
    out.push_back(chars[(v >> 18) & 63]);
    out.push_back(chars[(v >> 12) & 63]);
    if (i + 1 < size) {
      out.push_back(chars[(v >> 6) & 63]);
    } else if (pad) {
      out.push_back('=');
    }
    if (pad) out.push_back('=');
  }
  return out;
}

std::string Base64Encode(const void* data, size_t size) {
  return Base64Encode(std::string_view(static_cast<const char*>(data), size),
                      Base64Alphabet::kStandard, Base64Padding::kPadded);
}

}  // namespace infera
