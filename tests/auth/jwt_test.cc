#include "auth/jwt.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <set>
#include <string>

#include "auth/base64url.h"
#include "common/strings.h"

namespace infera {
namespace {

const std::string kKey = "0123456789abcdef0123456789abcdef-test-key";  // 41 bytes

// HMAC-SHA-256 straight from OpenSSL, independent of auth/crypto.
std::string TestHmac(std::string_view key, std::string_view data) {
  unsigned char tag[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), tag, &size);
  return std::string(reinterpret_cast<const char*>(tag), size);
}

// A token built by hand: our test's own signer, not SignJwt.
std::string MakeToken(std::string_view header_json, std::string_view payload_json,
                      std::string_view key = kKey) {
  std::string input = Base64UrlEncode(header_json) + "." + Base64UrlEncode(payload_json);
  return input + "." + Base64UrlEncode(TestHmac(key, input));
}

constexpr std::string_view kHeader = R"({"alg":"HS256","typ":"JWT"})";
constexpr std::string_view kPayload =
    R"({"sub":"u1","role":"user","jti":"id1","iat":1000,"exp":1900})";

JwtClaims Claims() {
  JwtClaims c;
  c.sub = "u1";
  c.role = "user";
  c.jti = "id1";
  c.iat = 1000;
  c.exp = 1900;
  return c;
}

std::string Sign(const JwtClaims& claims) {
  StatusOr<std::string> token = SignJwt(claims, kKey);
  EXPECT_TRUE(token.ok()) << token.status();
  return token.ok() ? *token : "";
}

// The message of a failed VerifyJwt, after checking the code is Unauthenticated.
std::string Reason(std::string_view token, int64_t now = 1500, int64_t leeway = 0,
                   std::string_view key = kKey) {
  StatusOr<JwtClaims> got = VerifyJwt(token, key, now, leeway);
  if (got.ok()) return "OK";
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnauthenticated) << got.status();
  return std::string(ToStd(got.status().message()));
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Issue 22 item 6: access tokens name their session (sid) and password version (pwv).
TEST(JwtTest, SessionAndPasswordVersionRoundTrip) {
  JwtClaims claims = Claims();
  claims.sid = "session-1";
  claims.pwv = 1'800'000'000'123;  // ms: beyond a NumericDate's range, fine for a counter
  StatusOr<JwtClaims> got = VerifyJwt(Sign(claims), kKey, 1500, 0);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, claims);
  got = VerifyJwt(Sign(Claims()), kKey, 1500, 0);  // both optional
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->sid, "");
  EXPECT_FALSE(got->pwv.has_value());
  claims.pwv = -1;
  EXPECT_EQ(SignJwt(claims, kKey).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(JwtTest, SignThenVerifyRoundTrips) {
  JwtClaims claims = Claims();
  StatusOr<JwtClaims> got = VerifyJwt(Sign(claims), kKey, 1500, 0);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, claims);

  claims.nbf = 1200;
  claims.sub =
      "\xc3\xbc"
      "n"
      "\xc3\xaf"
      "c"
      "\xc3\xb6"
      "d"
      "\xc3\xa9";  // "ünïcödé"
  got = VerifyJwt(Sign(claims), kKey, 1500, 0);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, claims);
}

TEST(JwtTest, SignWritesTheStandardHeaderAndAnIndependentlyCheckableSignature) {
  const std::string token = Sign(Claims());
  const size_t dot1 = token.find('.');
  const size_t dot2 = token.rfind('.');
  ASSERT_NE(dot1, dot2);
  EXPECT_EQ(*Base64UrlDecode(token.substr(0, dot1)), kHeader);
  EXPECT_EQ(*Base64UrlDecode(token.substr(dot2 + 1)), TestHmac(kKey, token.substr(0, dot2)));
}

TEST(JwtTest, InteropWithRfc7515AppendixA1) {
  // RFC 7515 appendix A.1: the HS256 example. Its header has a CRLF and a space, and its
  // payload lacks our claims, so verification passes the signature and then stops at the
  // claims: proof the MAC is computed over the received bytes exactly as the RFC says.
  const std::string signing_input =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0"
      "cnVlfQ";
  const std::string signature = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  StatusOr<std::string> key = Base64UrlDecode(
      "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
  ASSERT_TRUE(key.ok());
  ASSERT_EQ(Base64UrlEncode(TestHmac(*key, signing_input)), signature);

  const std::string token = signing_input + "." + signature;
  EXPECT_EQ(Reason(token, 1300819000, 0, *key), "malformed token: missing sub");
  EXPECT_EQ(
      Reason(signing_input + ".eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", 1300819000, 0, *key),
      kJwtInvalidSignature);
  EXPECT_EQ(Reason(token, 1300819000, 0, kKey), kJwtInvalidSignature);
}

TEST(JwtTest, AcceptsTokensFromAnIndependentSigner) {
  // Key order, whitespace and extra claims differ from what SignJwt writes.
  const std::string token = MakeToken(
      "{ \"typ\" : \"jwt\", \"alg\" : \"HS256\", \"kid\": \"k1\" }",
      R"({"iss":"other","exp":1900,"iat":1000,"nbf":1100,"jti":"j","role":"admin","sub":"7"})");
  StatusOr<JwtClaims> got = VerifyJwt(token, kKey, 1500, 0);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->sub, "7");
  EXPECT_EQ(got->role, "admin");
  EXPECT_EQ(got->jti, "j");
  EXPECT_EQ(got->nbf, 1100);
}

TEST(JwtTest, TamperedPayloadIsAnInvalidSignature) {
  const std::string token = Sign(Claims());
  const size_t dot1 = token.find('.');
  const size_t dot2 = token.rfind('.');
  const std::string admin_payload =
      Base64UrlEncode(R"({"exp":1900,"iat":1000,"jti":"id1","role":"admin","sub":"u1"})");
  const std::string forged = token.substr(0, dot1 + 1) + admin_payload + token.substr(dot2);
  EXPECT_EQ(Reason(forged), kJwtInvalidSignature);
  // Also a single changed character anywhere in the signed part.
  for (size_t i = 0; i < dot2; ++i) {
    if (token[i] == '.') continue;
    std::string t = token;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    const std::string reason = Reason(t);
    EXPECT_TRUE(reason == kJwtInvalidSignature || StartsWith(reason, kJwtMalformed) ||
                reason == kJwtUnsupportedAlgorithm)
        << i << " " << reason;
  }
}

TEST(JwtTest, WrongKeyIsAnInvalidSignature) {
  const std::string token = Sign(Claims());
  EXPECT_EQ(Reason(token, 1500, 0, kKey + "x"), kJwtInvalidSignature);
  EXPECT_EQ(Reason(token, 1500, 0, std::string(kKey.size(), 'k')), kJwtInvalidSignature);
}

TEST(JwtTest, AlgNoneIsRefused) {
  const std::string payload = Base64UrlEncode(kPayload);
  for (const char* alg : {"none", "None", "NONE", "nOnE"}) {
    const std::string header = Base64UrlEncode(StrCat(R"({"alg":")", alg, R"(","typ":"JWT"})"));
    EXPECT_EQ(Reason(StrCat(header, ".", payload, ".")), kJwtUnsupportedAlgorithm) << alg;
    // Even with a valid HMAC attached.
    EXPECT_EQ(Reason(MakeToken(StrCat(R"({"alg":")", alg, R"("})"), kPayload)),
              kJwtUnsupportedAlgorithm)
        << alg;
  }
}

TEST(JwtTest, OtherAlgorithmsAreRefusedEvenWithAValidHs256Mac) {
  for (const char* alg :
       {"HS512", "HS384", "RS256", "ES256", "PS256", "EdDSA", "hs256", "HS256 ", ""}) {
    EXPECT_EQ(Reason(MakeToken(StrCat(R"({"alg":")", alg, R"(","typ":"JWT"})"), kPayload)),
              kJwtUnsupportedAlgorithm)
        << alg;
  }
}

TEST(JwtTest, MissingOrNonStringAlgIsMalformed) {
  EXPECT_EQ(Reason(MakeToken(R"({"typ":"JWT"})", kPayload)), "malformed token: header has no alg");
  EXPECT_EQ(Reason(MakeToken(R"({})", kPayload)), "malformed token: header has no alg");
  for (const char* alg : {"256", "null", "true", "[\"HS256\"]", "{\"a\":\"HS256\"}"}) {
    EXPECT_EQ(Reason(MakeToken(StrCat(R"({"alg":)", alg, "}"), kPayload)),
              "malformed token: alg is not a string")
        << alg;
  }
}

TEST(JwtTest, HeaderTypAndCritAreChecked) {
  EXPECT_EQ(Reason(MakeToken(R"({"alg":"HS256"})", kPayload)), "OK");  // typ optional
  EXPECT_EQ(Reason(MakeToken(R"({"alg":"HS256","typ":"jwt"})", kPayload)), "OK");
  EXPECT_EQ(Reason(MakeToken(R"({"alg":"HS256","typ":"JWS"})", kPayload)),
            "malformed token: typ is not JWT");
  EXPECT_EQ(Reason(MakeToken(R"({"alg":"HS256","typ":1})", kPayload)),
            "malformed token: typ is not JWT");
  EXPECT_EQ(Reason(MakeToken(R"({"alg":"HS256","crit":["exp"],"exp":1})", kPayload)),
            "malformed token: unsupported critical header parameters");
  EXPECT_EQ(Reason(MakeToken(R"({"alg":"HS256","b64":false,"crit":["b64"]})", kPayload)),
            "malformed token: unsupported critical header parameters");
}

TEST(JwtTest, DuplicateKeysAreMalformed) {
  // Parsers disagree on which duplicate wins; refuse rather than guess.
  EXPECT_EQ(Reason(MakeToken(R"({"alg":"none","alg":"HS256"})", kPayload)),
            "malformed token: header is not a JSON object");
  EXPECT_EQ(Reason(MakeToken(kHeader, R"({"sub":"u1","role":"user","role":"admin","jti":"i",)"
                                      R"("iat":1000,"exp":1900})")),
            "malformed token: payload is not a JSON object");
  // The same key in different objects is fine.
  EXPECT_EQ(Reason(MakeToken(kHeader, R"({"sub":"u1","role":"user","jti":"i","iat":1000,)"
                                      R"("exp":1900,"x":{"sub":1},"y":{"sub":2}})")),
            "OK");
}

TEST(JwtTest, ExpiryBoundariesWithAndWithoutLeeway) {
  const std::string token = Sign(Claims());  // exp 1900
  EXPECT_EQ(Reason(token, 1899, 0), "OK");
  EXPECT_EQ(Reason(token, 1900, 0), kJwtExpired);  // exp is exclusive
  EXPECT_EQ(Reason(token, 1929, 30), "OK");
  EXPECT_EQ(Reason(token, 1930, 30), kJwtExpired);
  EXPECT_EQ(Reason(token, kMaxJwtNumericDate, kMaxJwtLeewaySeconds), kJwtExpired);
}

TEST(JwtTest, NotBeforeBoundariesWithAndWithoutLeeway) {
  JwtClaims claims = Claims();
  claims.nbf = 1200;
  const std::string token = Sign(claims);
  EXPECT_EQ(Reason(token, 1199, 0), kJwtNotYetValid);
  EXPECT_EQ(Reason(token, 1200, 0), "OK");
  EXPECT_EQ(Reason(token, 1169, 30), kJwtNotYetValid);
  EXPECT_EQ(Reason(token, 1170, 30), "OK");
}

TEST(JwtTest, IssuedInTheFutureIsNotYetValid) {
  const std::string token = Sign(Claims());  // iat 1000
  EXPECT_EQ(Reason(token, 999, 0), kJwtNotYetValid);
  EXPECT_EQ(Reason(token, 1000, 0), "OK");
  EXPECT_EQ(Reason(token, 969, 30), kJwtNotYetValid);
  EXPECT_EQ(Reason(token, 970, 30), "OK");
}

TEST(JwtTest, DefaultLeewayIsThirtySeconds) {
  const std::string token = Sign(Claims());
  EXPECT_TRUE(VerifyJwt(token, kKey, 1929).ok());
  EXPECT_FALSE(VerifyJwt(token, kKey, 1930).ok());
}

TEST(JwtTest, StructurallyMalformedTokens) {
  const std::string good = Sign(Claims());
  const std::string h = good.substr(0, good.find('.'));
  const std::string p = good.substr(good.find('.') + 1, good.rfind('.') - good.find('.') - 1);
  const std::string s = good.substr(good.rfind('.') + 1);
  EXPECT_EQ(Reason(""), "malformed token: expected three segments");
  EXPECT_EQ(Reason("abc"), "malformed token: expected three segments");
  EXPECT_EQ(Reason(h + "." + p), "malformed token: expected three segments");
  EXPECT_EQ(Reason(good + "." + s), "malformed token: expected three segments");
  EXPECT_EQ(Reason(good + "."), "malformed token: expected three segments");
  EXPECT_EQ(Reason("." + p + "." + s), "malformed token: empty header");
  EXPECT_EQ(Reason(h + ".." + s), kJwtInvalidSignature);  // the MAC is checked first
  EXPECT_EQ(Reason(MakeToken(kHeader, "")), "malformed token: empty payload");
  EXPECT_EQ(Reason(h + "=." + p + "." + s), "malformed token: header is not base64url");
  EXPECT_EQ(Reason(" " + good), "malformed token: header is not base64url");
  EXPECT_EQ(Reason(good + " "), "malformed token: signature is not base64url");
  EXPECT_EQ(Reason(good + "="), "malformed token: signature is not base64url");
  EXPECT_EQ(Reason(h + "." + p + ".+/" + s.substr(2)),
            "malformed token: signature is not base64url");
  EXPECT_EQ(Reason(std::string(kMaxJwtBytes + 1, 'a')), "malformed token: too long");
  // A signature re-encoded with non-zero unused bits: the same bytes, a different string.
  std::string variant = good;
  char& last = variant.back();
  last = last == 'A' ? 'B' : static_cast<char>(last + 1);
  EXPECT_TRUE(StartsWith(Reason(variant), kJwtMalformed) ||
              Reason(variant) == kJwtInvalidSignature);
  EXPECT_NE(Reason(variant), "OK");
}

TEST(JwtTest, SignatureOfTheWrongLengthIsInvalid) {
  const std::string good = Sign(Claims());
  const std::string signed_part = good.substr(0, good.rfind('.'));
  EXPECT_EQ(Reason(signed_part + "."), kJwtInvalidSignature);
  const std::string mac = TestHmac(kKey, signed_part);
  EXPECT_EQ(Reason(signed_part + "." + Base64UrlEncode(mac.substr(0, 16))), kJwtInvalidSignature);
  EXPECT_EQ(Reason(signed_part + "." + Base64UrlEncode(mac + "x")), kJwtInvalidSignature);
}

TEST(JwtTest, HeaderAndPayloadMustBeJsonObjects) {
  EXPECT_EQ(Reason(MakeToken("not json", kPayload)),
            "malformed token: header is not a JSON object");
  EXPECT_EQ(Reason(MakeToken(R"(["alg","HS256"])", kPayload)),
            "malformed token: header is not a JSON object");
  EXPECT_EQ(Reason(MakeToken(R"({"alg":"HS256"} x)", kPayload)),
            "malformed token: header is not a JSON object");
  EXPECT_EQ(Reason(MakeToken(kHeader, "not json")),
            "malformed token: payload is not a JSON object");
  EXPECT_EQ(Reason(MakeToken(kHeader, "\"a string\"")),
            "malformed token: payload is not a JSON object");
  EXPECT_EQ(Reason(MakeToken(kHeader, std::string(kPayload) + "{}")),
            "malformed token: payload is not a JSON object");
  // Invalid UTF-8 inside a JSON string.
  EXPECT_EQ(Reason(MakeToken(kHeader,
                             "{\"sub\":\"\xff\",\"role\":\"user\",\"jti\":\"i\","
                             "\"iat\":1000,\"exp\":1900}")),
            "malformed token: payload is not a JSON object");
  // Deep nesting.
  EXPECT_EQ(Reason(MakeToken(kHeader, R"({"sub":"u1","role":"user","jti":"i","iat":1000,)"
                                      R"("exp":1900,"x":[[[[[[[[[[1]]]]]]]]]]})")),
            "malformed token: payload is not a JSON object");
}

TEST(JwtTest, ClaimTypesAndPresenceAreChecked) {
  const auto payload = [](std::string_view fields) {
    return MakeToken(kHeader, StrCat("{", fields, "}"));
  };
  const std::string base = R"("sub":"u1","role":"user","jti":"i","iat":1000)";
  EXPECT_EQ(Reason(payload(base + R"(,"exp":1900)")), "OK");
  EXPECT_EQ(Reason(payload(base)), "malformed token: missing exp");
  EXPECT_EQ(Reason(payload(base + R"(,"exp":"1900")")), "malformed token: exp is not an integer");
  EXPECT_EQ(Reason(payload(base + R"(,"exp":1900.5)")), "malformed token: exp is not an integer");
  EXPECT_EQ(Reason(payload(base + R"(,"exp":1.9e3)")), "malformed token: exp is not an integer");
  EXPECT_EQ(Reason(payload(base + R"(,"exp":null)")), "malformed token: exp is not an integer");
  EXPECT_EQ(Reason(payload(base + R"(,"exp":true)")), "malformed token: exp is not an integer");
  EXPECT_EQ(Reason(payload(base + R"(,"exp":-1)")), "malformed token: exp is out of range");
  EXPECT_EQ(Reason(payload(base + R"(,"exp":18446744073709551615)")),
            "malformed token: exp is out of range");
  EXPECT_EQ(Reason(payload(base + R"(,"exp":9223372036854775807)")),
            "malformed token: exp is out of range");
  EXPECT_EQ(Reason(payload(base + R"(,"exp":1900,"nbf":"x")")),
            "malformed token: nbf is not an integer");
  EXPECT_EQ(Reason(payload(R"("sub":"u1","role":"user","jti":"i","exp":1900)")),
            "malformed token: missing iat");
  EXPECT_EQ(Reason(payload(R"("role":"user","jti":"i","iat":1000,"exp":1900)")),
            "malformed token: missing sub");
  EXPECT_EQ(Reason(payload(R"("sub":7,"role":"user","jti":"i","iat":1000,"exp":1900)")),
            "malformed token: sub is not a string");
  EXPECT_EQ(Reason(payload(R"("sub":"","role":"user","jti":"i","iat":1000,"exp":1900)")),
            "malformed token: sub is empty");
  EXPECT_EQ(Reason(payload(R"("sub":"u1","jti":"i","iat":1000,"exp":1900)")),
            "malformed token: missing role");
  EXPECT_EQ(Reason(payload(R"("sub":"u1","role":["admin"],"jti":"i","iat":1000,"exp":1900)")),
            "malformed token: role is not a string");
  EXPECT_EQ(Reason(payload(R"("sub":"u1","role":"user","iat":1000,"exp":1900)")),
            "malformed token: missing jti");
}

TEST(JwtTest, ReasonsAreDistinct) {
  JwtClaims future = Claims();
  future.nbf = 1800;
  const std::string good = Sign(Claims());
  const std::set<std::string> reasons = {
      Reason(MakeToken(R"({"alg":"none"})", kPayload)),
      Reason(good, 1500, 0, kKey + "x"),
      Reason(good, 2000),
      Reason(Sign(future), 1500),
      Reason("a.b"),
  };
  EXPECT_EQ(reasons.size(), 5u);
  EXPECT_TRUE(reasons.count(std::string(kJwtUnsupportedAlgorithm)));
  EXPECT_TRUE(reasons.count(std::string(kJwtInvalidSignature)));
  EXPECT_TRUE(reasons.count(std::string(kJwtExpired)));
  EXPECT_TRUE(reasons.count(std::string(kJwtNotYetValid)));
}

TEST(JwtTest, KeysShorterThan32BytesAreInvalidArgument) {
  const std::string short_key(31, 'k');
  const std::string key32(32, 'k');
  EXPECT_EQ(SignJwt(Claims(), short_key).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SignJwt(Claims(), "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyJwt(Sign(Claims()), short_key, 1500).status().code(),
            absl::StatusCode::kInvalidArgument);
  StatusOr<std::string> token = SignJwt(Claims(), key32);
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE(VerifyJwt(*token, key32, 1500).ok());
}

TEST(JwtTest, VerifyArgumentsOutOfRangeAreInvalidArgument) {
  const std::string token = Sign(Claims());
  EXPECT_EQ(VerifyJwt(token, kKey, 1500, -1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyJwt(token, kKey, 1500, kMaxJwtLeewaySeconds + 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyJwt(token, kKey, -5).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyJwt(token, kKey, kMaxJwtNumericDate + 1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(JwtTest, SignRefusesBadClaims) {
  const auto code = [](const JwtClaims& c) { return SignJwt(c, kKey).status().code(); };
  JwtClaims c = Claims();
  c.sub.clear();
  EXPECT_EQ(code(c), absl::StatusCode::kInvalidArgument);
  c = Claims();
  c.role.clear();
  EXPECT_EQ(code(c), absl::StatusCode::kInvalidArgument);
  c = Claims();
  c.jti.clear();
  EXPECT_EQ(code(c), absl::StatusCode::kInvalidArgument);
  c = Claims();
  c.exp = c.iat;
  EXPECT_EQ(code(c), absl::StatusCode::kInvalidArgument);
  c = Claims();
  c.iat = -1;
  EXPECT_EQ(code(c), absl::StatusCode::kInvalidArgument);
  c = Claims();
  c.nbf = kMaxJwtNumericDate + 1;
  EXPECT_EQ(code(c), absl::StatusCode::kInvalidArgument);
  c = Claims();
  c.sub = "bad \xff utf-8";
  EXPECT_EQ(code(c), absl::StatusCode::kInvalidArgument);
}

TEST(JwtTest, NewJwtIdIsRandomBase64Url) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    StatusOr<std::string> id = NewJwtId();
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(id->size(), 22u);
    EXPECT_TRUE(IsBase64UrlText(*id));
    seen.insert(*id);
  }
  EXPECT_EQ(seen.size(), 100u);
}

}  // namespace
}  // namespace infera
