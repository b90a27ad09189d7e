#include "common/sha256.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "common/hex.h"

namespace infera {
namespace {

constexpr char kAbcSha[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr char kEmptySha[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::span<const std::byte> Bytes(std::string_view s) { return std::as_bytes(std::span(s)); }

// Bytes that do not repeat at the chunk size (Knuth's multiplicative hash of the index).
std::string Unaligned(size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) {
    s[i] = static_cast<char>((static_cast<uint32_t>(i) * 2654435761u) >> 24);
  }
  return s;
}

TEST(Sha256Test, MatchesFips180Vector) {
  EXPECT_EQ(HexEncode(Sha256Digest("abc")), kAbcSha);
  EXPECT_EQ(HexEncode(Sha256Digest("")), kEmptySha);
  EXPECT_EQ(Sha256Digest("abc").size(), kSha256Bytes);
}

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Hex(Bytes("abc")), kAbcSha);
  EXPECT_EQ(Sha256Hex(Bytes("")), kEmptySha);
  Sha256Hasher hasher;
  hasher.Update("a");
  hasher.Update("");
  hasher.Update("bc");
  EXPECT_EQ(hasher.FinishHex(), kAbcSha);
  const std::string big = Unaligned(3'000'001);
  Sha256Hasher chunked;
  for (size_t i = 0; i < big.size(); i += 65536)
    chunked.Update(std::string_view(big).substr(i, 65536));
  EXPECT_EQ(chunked.FinishHex(), Sha256Hex(Bytes(big)));
}

TEST(Sha256Test, FinishGivesTheRawDigest) {
  Sha256Hasher hasher;
  hasher.Update("ab");
  hasher.Update("c");
  EXPECT_EQ(hasher.Finish(), Sha256Digest("abc"));
}

TEST(Sha256Test, IsSha256HexAcceptsOnlyLowerHexOfLength64) {
  EXPECT_TRUE(IsSha256Hex(kAbcSha));
  EXPECT_FALSE(IsSha256Hex(std::string(kAbcSha).substr(1)));
  EXPECT_FALSE(IsSha256Hex(std::string(kAbcSha) + "0"));
  EXPECT_FALSE(IsSha256Hex(std::string(64, 'A')));
  EXPECT_FALSE(IsSha256Hex(std::string(64, 'g')));
  EXPECT_FALSE(IsSha256Hex("../../etc/passwd"));
  EXPECT_FALSE(IsSha256Hex(""));
}

}  // namespace
}  // namespace infera
