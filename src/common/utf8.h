// UTF-8 text from untrusted sources (file names, form fields, ZIP entry names): checking,
// repairing and removing the characters that make a name display as something else.
//
// Every function is pure and thread-safe. None throws; none allocates more than its
// output.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace infera {

// IsValidUtf8 is true when `text` is well-formed UTF-8 (RFC 3629): no stray
// continuation bytes, no truncated or overlong sequences, no surrogates (U+D800..DFFF),
// nothing above U+10FFFF.
bool IsValidUtf8(std::string_view text);

// ToValidUtf8 returns `text` with each maximal ill-formed subsequence replaced by U+FFFD
// (the Unicode "substitution of maximal subparts" practice, as browsers decode). Valid
// text is returned unchanged.
std::string ToValidUtf8(std::string_view text);

// IsHiddenFormatCharacter is true for code points that are invisible or reorder the text
// around them, so that a name shows as something other than what it is: C0 and C1
// controls and DEL, the bidirectional marks, embeddings, overrides and isolates
// (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069), the zero-width space and
// joiners (U+200B..U+200D), the word joiner and invisible operators (U+2060..U+2064),
// the line and paragraph separators (U+2028, U+2029) and the byte order mark (U+FEFF).
bool IsHiddenFormatCharacter(char32_t code_point);

// CleanDisplayText returns valid UTF-8 (ToValidUtf8) without hidden format characters:
// what a stored name or a ZIP entry name may hold. "a\u202Egnp.exe" -> "agnp.exe".
std::string CleanDisplayText(std::string_view text);

}  // namespace infera
