#include "auth/password_hash.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>

namespace infera {
namespace {

const Argon2Params kFast = Argon2Params::ForTesting();

std::string MustHash(std::string_view password, const Argon2Params& params = kFast) {
  StatusOr<std::string> encoded = HashPassword(password, params);
  EXPECT_TRUE(encoded.ok()) << encoded.status();
  return encoded.ok() ? *encoded : "";
}

bool MustVerify(std::string_view password, std::string_view encoded) {
  StatusOr<bool> ok = VerifyPassword(password, encoded);
  EXPECT_TRUE(ok.ok()) << ok.status();
  return ok.ok() && *ok;
}

TEST(PasswordHashTest, RoundTripsInTheStandardEncoding) {
  const std::string encoded = MustHash("correct horse battery staple");
  EXPECT_EQ(encoded.rfind("$argon2id$v=19$m=64,t=1,p=1$", 0), 0u) << encoded;
  // 16-byte salt -> 22 base64 characters, 32-byte hash -> 43.
  const size_t salt_at = encoded.find('$', 20) + 1;  // after "p=1$"
  const size_t hash_at = encoded.find('$', salt_at) + 1;
  EXPECT_EQ(hash_at - salt_at - 1, 22u) << encoded;
  EXPECT_EQ(encoded.size() - hash_at, 43u) << encoded;
  EXPECT_TRUE(MustVerify("correct horse battery staple", encoded));
}

TEST(PasswordHashTest, DefaultParametersAreOwaspArgon2id) {
  const Argon2Params defaults;
  EXPECT_EQ(defaults.memory_kib, 19456u);
  EXPECT_EQ(defaults.iterations, 2u);
  EXPECT_EQ(defaults.parallelism, 1u);
  const std::string encoded = MustHash("a default password", defaults);
  EXPECT_EQ(encoded.rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << encoded;
  EXPECT_TRUE(MustVerify("a default password", encoded));
}

TEST(PasswordHashTest, WrongPasswordsDoNotVerify) {
  const std::string encoded = MustHash("password-one");
  EXPECT_FALSE(MustVerify("password-onE", encoded));
  EXPECT_FALSE(MustVerify("password-one ", encoded));
  EXPECT_FALSE(MustVerify("password-on", encoded));
  EXPECT_FALSE(MustVerify("", encoded));
}

TEST(PasswordHashTest, EmbeddedNulBytesCount) {
  const std::string with_nul("abc\0defgh", 9);
  const std::string encoded = MustHash(with_nul);
  EXPECT_TRUE(MustVerify(with_nul, encoded));
  EXPECT_FALSE(MustVerify("abc", encoded));  // a C-string API would stop at the NUL
}

TEST(PasswordHashTest, SaltsAreFreshPerHash) {
  const std::string a = MustHash("same password");
  const std::string b = MustHash("same password");
  EXPECT_NE(a, b);
  const auto salt = [](const std::string& e) {
    const size_t at = e.find('$', 20) + 1;
    return e.substr(at, e.find('$', at) - at);
  };
  EXPECT_NE(salt(a), salt(b));
  EXPECT_TRUE(MustVerify("same password", a));
  EXPECT_TRUE(MustVerify("same password", b));
}

TEST(PasswordHashTest, VerifiesTheReferenceImplementationsVector) {
  // From the Argon2 reference implementation's test suite (phc-winner-argon2 test.c):
  // argon2id, t=2, m=64 MiB, p=1, password "password", salt "somesalt".
  EXPECT_TRUE(MustVerify(
      "password",
      "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"));
  EXPECT_FALSE(MustVerify(
      "passwore",
      "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"));
}

TEST(PasswordHashTest, MalformedEncodingsAreInvalidArgument) {
  const std::string good = MustHash("password-one");
  const std::string tail = good.substr(good.find("$m="));          // "$m=64,t=1,p=1$salt$hash"
  const std::string params_tail = tail.substr(tail.find('$', 1));  // "$salt$hash"
  const std::string cases[] = {
      "",
      "password-one",
      "$argon2i" + good.substr(9),                           // argon2i, not argon2id
      "$argon2d" + good.substr(9),                           // argon2d
      "$argon2id$v=16" + tail,                               // old version
      "$argon2id" + tail,                                    // no version
      "$argon2id$v=19$m=064,t=1,p=1" + params_tail,          // leading zero
      "$argon2id$v=19$m=64,t=1" + params_tail,               // no p
      "$argon2id$v=19$m=-64,t=1,p=1" + params_tail,          // sign
      "$argon2id$v=19$m=64,t=0,p=1" + params_tail,           // t = 0
      "$argon2id$v=19$m=64,t=1,p=0" + params_tail,           // p = 0
      "$argon2id$v=19$m=4,t=1,p=1" + params_tail,            // below libargon2's minimum
      "$argon2id$v=19$m=99999999999,t=1,p=1" + params_tail,  // overflows uint32
      "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ",             // no hash
      "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$",            // empty hash
      "$argon2id$v=19$m=64,t=1,p=1$c29t$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",  // salt 3 B
      "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1a",  // hash 9 bytes
      "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ=$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      "$argon2id$v=19$m=64,t=1,p=1$c29t-XNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      good + "$extra",
      good + "\n",
      good.substr(0, 20) + std::string(1, '\0') + good.substr(21),
      good + std::string(300, 'A'),  // too long
  };
  for (const std::string& bad : cases) {
    EXPECT_EQ(VerifyPassword("password-one", bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
    EXPECT_EQ(PasswordNeedsRehash(bad, kFast).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(PasswordHashTest, HugeStoredCostIsRefusedBeforeAnyWork) {
  // 4 GiB and 1000 passes: within the format, outside our limits. Must fail fast
  // instead of allocating.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(VerifyPassword("x",
                           "$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHQ$"
                           "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyPassword("x",
                           "$argon2id$v=19$m=64,t=1000,p=1$c29tZXNhbHQ$"
                           "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyPassword("x",
                           "$argon2id$v=19$m=1024,t=1,p=64$c29tZXNhbHQ$"
                           "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST(PasswordHashTest, LengthLimitOnHashAndVerify) {
  const std::string max(kMaxPasswordBytes, 'p');
  const std::string too_long(kMaxPasswordBytes + 1, 'p');
  const std::string encoded = MustHash(max);
  EXPECT_TRUE(MustVerify(max, encoded));
  EXPECT_EQ(HashPassword(too_long, kFast).status().code(), absl::StatusCode::kInvalidArgument);
  // A too-long password is a plain mismatch at login, not an error.
  StatusOr<bool> verified = VerifyPassword(too_long, encoded);
  ASSERT_TRUE(verified.ok());
  EXPECT_FALSE(*verified);
}

TEST(PasswordHashTest, PolicyCountsCharactersAndCapsBytes) {
  EXPECT_EQ(CheckPasswordPolicy("").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckPasswordPolicy("1234567").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckPasswordPolicy("12345678").ok());
  // Four two-byte characters: 8 bytes but only 4 characters.
  EXPECT_EQ(CheckPasswordPolicy("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      CheckPasswordPolicy("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9").ok());
  EXPECT_TRUE(CheckPasswordPolicy(std::string(kMaxPasswordBytes, 'x')).ok());
  EXPECT_EQ(CheckPasswordPolicy(std::string(kMaxPasswordBytes + 1, 'x')).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PasswordHashTest, NeedsRehashWhenParametersChange) {
  const std::string encoded = MustHash("password-one");
  StatusOr<Argon2Params> parsed = ParsePasswordHashParams(encoded);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, kFast);
  EXPECT_FALSE(*PasswordNeedsRehash(encoded, kFast));
  EXPECT_TRUE(*PasswordNeedsRehash(encoded, Argon2Params{}));
  EXPECT_TRUE(*PasswordNeedsRehash(encoded, Argon2Params{64, 2, 1}));
  EXPECT_TRUE(*PasswordNeedsRehash(encoded, Argon2Params{128, 1, 1}));
  // Same parameters but an 8-byte salt (the reference vector): rehash to our sizes.
  EXPECT_TRUE(*PasswordNeedsRehash(
      "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      Argon2Params{65536, 2, 1}));
}

TEST(PasswordHashTest, InvalidParametersAreRefused) {
  for (const Argon2Params& bad :
       {Argon2Params{64, 0, 1}, Argon2Params{64, 1, 0}, Argon2Params{7, 1, 1},
        Argon2Params{64, 1, 9}, Argon2Params{kMaxArgon2MemoryKib + 1, 1, 1},
        Argon2Params{64, kMaxArgon2Iterations + 1, 1}}) {
    EXPECT_EQ(ValidateArgon2Params(bad).code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(HashPassword("password-one", bad).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(ValidateArgon2Params(Argon2Params{}).ok());
  EXPECT_TRUE(ValidateArgon2Params(kFast).ok());
}

TEST(PasswordHashTest, BurnTakesAboutAsLongAsAVerification) {
  // A no-op burn would let response times reveal which usernames exist.
  const Argon2Params params{16384, 2, 1};
  const std::string encoded = MustHash("password-one", params);
  using Clock = std::chrono::steady_clock;
  Clock::duration verify = Clock::duration::max(), burn = Clock::duration::max();
  for (int i = 0; i < 3; ++i) {
    auto t0 = Clock::now();
    ASSERT_TRUE(VerifyPassword("password-two", encoded).ok());
    auto t1 = Clock::now();
    BurnPasswordVerifyTime("password-two", params);
    auto t2 = Clock::now();
    verify = std::min(verify, t1 - t0);
    burn = std::min(burn, t2 - t1);
  }
  EXPECT_GT(burn * 4, verify) << "burn " << burn.count() << " verify " << verify.count();
}

}  // namespace
}  // namespace infera
