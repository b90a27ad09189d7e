#include "common/utf8.h"

#include <cstdint>

namespace infera {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Decodes the sequence at text[pos]. Returns its length and sets *cp when it is
// well-formed; returns 0 and sets *bad to the length of the maximal ill-formed subpart
// (at least 1) otherwise.
size_t Decode(std::string_view text, size_t pos, char32_t* cp, size_t* bad) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  if (lead < 0x80) {
    *cp = lead;
    return 1;
  }
  size_t len = 0;
  char32_t value = 0;
  // The valid range of the second byte depends on the lead (Unicode table 3-7).
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    len = 2;
    value = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    len = 3;
    value = lead & 0x0F;
    if (lead == 0xE0) lo = 0xA0;  // no overlongs
    if (lead == 0xED) hi = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    len = 4;
    value = lead & 0x07;
    if (lead == 0xF0) lo = 0x90;  // no overlongs
    if (lead == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    *bad = 1;
    return 0;
  }
  for (size_t k = 1; k < len; ++k) {
    if (pos + k >= text.size()) {
      *bad = k;
      return 0;
    }
    const unsigned char c = byte(pos + k);
    const bool ok = k == 1 ? (c >= lo && c <= hi) : (c >= 0x80 && c <= 0xBF);
    if (!ok) {
      *bad = k;
      return 0;
    }
    value = (value << 6) | (c & 0x3F);
  }
  *cp = value;
  return len;
}

// `text` with every invalid sequence as U+FFFD and the characters `keep` refuses left
// out.
template <typename Keep>
std::string Rewrite(std::string_view text, Keep keep) {
  std::string out;
  out.reserve(text.size() + 8);
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp = 0;
    size_t bad = 0;
    const size_t len = Decode(text, pos, &cp, &bad);
    if (len == 0) {
      out += kReplacement;
      pos += bad;
      continue;
    }
    if (keep(cp)) out.append(text.substr(pos, len));
    pos += len;
  }
  return out;
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp = 0;
    size_t bad = 0;
    const size_t len = Decode(text, pos, &cp, &bad);
    if (len == 0) return false;
    pos += len;
  }
  return true;
}

std::string ToValidUtf8(std::string_view text) {
  if (IsValidUtf8(text)) return std::string(text);
  return Rewrite(text, [](char32_t) { return true; });
}

bool IsHiddenFormatCharacter(char32_t c) {
  if (c < 0x20 || (c >= 0x7F && c <= 0x9F)) return true;  // C0, DEL, C1
  if (c == 0x061C || c == 0xFEFF) return true;            // Arabic letter mark, BOM
  if (c >= 0x200B && c <= 0x200F) return true;            // zero-width space/joiners, LRM, RLM
  if (c >= 0x2028 && c <= 0x202E) return true;            // separators, embeddings, overrides
  if (c >= 0x2060 && c <= 0x2069) return true;            // word joiner, invisible ops, isolates
  return false;
}

std::string CleanDisplayText(std::string_view text) {
  return Rewrite(text, [](char32_t cp) { return !IsHiddenFormatCharacter(cp); });
}

}  // namespace infera
