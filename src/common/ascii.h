// ASCII-only case helpers for protocol text (HTTP header names and values, MIME
// parameters): only 'A'-'Z' and 'a'-'z' fold, every other byte (UTF-8 included) is
// compared as is, whatever the C locale says.
//
// absl::AsciiStrToLower and absl::EqualsIgnoreCase take absl::string_view, which
// Debian's Abseil does not alias to std::string_view; these take std::string_view.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace infera {

// AsciiToLower: `c` with 'A'-'Z' mapped to 'a'-'z'.
inline char AsciiToLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// AsciiStrToLower: a copy of `s` with every ASCII capital letter in lower case.
std::string AsciiStrToLower(std::string_view s);

// EqualsIgnoreCase: whether `a` and `b` are equal once ASCII letters are folded.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// StartsWithIgnoreCase: whether `s` begins with `prefix`, ASCII letters folded.
bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix);

}  // namespace infera
