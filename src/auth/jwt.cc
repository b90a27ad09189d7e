#include "auth/jwt.h"

#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "auth/base64url.h"
#include "auth/crypto.h"
#include "common/strings.h"

namespace infera {
namespace {

using Json = nlohmann::json;

// Deeper JSON than this is refused: our tokens are flat objects.
constexpr int kMaxJsonDepth = 8;

Status Malformed(std::string_view detail) {
  return absl::UnauthenticatedError(StrCat(kJwtMalformed, ": ", detail));
}

// Parses `text` as exactly one JSON value. nullopt when it is not valid JSON (including
// invalid UTF-8 in strings), nests deeper than kMaxJsonDepth, or any object repeats a
// key: with duplicates, which value wins differs between parsers, so a token that means
// different things to different readers is refused outright.
std::optional<Json> ParseStrictJson(std::string_view text) {
  std::vector<std::set<std::string>> keys;  // one set per open object
  bool refused = false;
  auto callback = [&](int depth, Json::parse_event_t event, Json& parsed) -> bool {
    if (depth > kMaxJsonDepth) refused = true;
    switch (event) {
      case Json::parse_event_t::object_start:
        keys.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case Json::parse_event_t::key:
        if (keys.empty() || !keys.back().insert(parsed.get<std::string>()).second) {
          refused = true;
        }
        break;
      default:
        break;
    }
    return true;
  };
  Json json = Json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/false);
  if (json.is_discarded() || refused) return std::nullopt;
  return json;
}

// A required non-empty string claim.
StatusOr<std::string> StringClaim(const Json& payload, const char* name) {
  const auto it = payload.find(name);
  if (it == payload.end()) return Malformed(StrCat("missing ", name));
  if (!it->is_string()) return Malformed(StrCat(name, " is not a string"));
  std::string value = it->get<std::string>();
  if (value.empty()) return Malformed(StrCat(name, " is empty"));
  return value;
}

// An optional non-empty string claim; "" when absent.
StatusOr<std::string> OptionalStringClaim(const Json& payload, const char* name) {
  if (!payload.contains(name)) return std::string();
  return StringClaim(payload, name);
}

// An optional integer claim in [0, kMaxJwtCounter]; nullopt when absent.
StatusOr<std::optional<int64_t>> CounterClaim(const Json& payload, const char* name) {
  const auto it = payload.find(name);
  if (it == payload.end()) return std::optional<int64_t>();
  if (!it->is_number_integer()) return Malformed(StrCat(name, " is not an integer"));
  if (it->is_number_unsigned()) {
    const uint64_t v = it->get<uint64_t>();
    if (v > static_cast<uint64_t>(kMaxJwtCounter))
      return Malformed(StrCat(name, " is out of range"));
    return std::optional<int64_t>(static_cast<int64_t>(v));
  }
  const int64_t v = it->get<int64_t>();
  if (v < 0 || v > kMaxJwtCounter) return Malformed(StrCat(name, " is out of range"));
  return std::optional<int64_t>(v);
}

// An integer NumericDate claim; nullopt when absent.
StatusOr<std::optional<int64_t>> DateClaim(const Json& payload, const char* name) {
  const auto it = payload.find(name);
  if (it == payload.end()) return std::optional<int64_t>();
  if (!it->is_number_integer()) return Malformed(StrCat(name, " is not an integer"));
  if (it->is_number_unsigned()) {
    const uint64_t v = it->get<uint64_t>();
    if (v > static_cast<uint64_t>(kMaxJwtNumericDate)) {
      return Malformed(StrCat(name, " is out of range"));
    }
    return std::optional<int64_t>(static_cast<int64_t>(v));
  }
  const int64_t v = it->get<int64_t>();
  if (v < 0 || v > kMaxJwtNumericDate) return Malformed(StrCat(name, " is out of range"));
  return std::optional<int64_t>(v);
}

bool InDateRange(int64_t t) { return t >= 0 && t <= kMaxJwtNumericDate; }

Status CheckKey(std::string_view key) {
  if (key.size() < kMinJwtKeyBytes) {
    return absl::InvalidArgumentError(
        StrCat("JWT signing key must have at least ", kMinJwtKeyBytes, " bytes, has ", key.size()));
  }
  return absl::OkStatus();
}

bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) return false;
  }
  return true;
}

Status CheckHeader(std::string_view header_b64) {
  if (header_b64.empty()) return Malformed("empty header");
  StatusOr<std::string> header_text = Base64UrlDecode(header_b64);
  if (!header_text.ok()) return Malformed("header is not base64url");
  const std::optional<Json> header = ParseStrictJson(*header_text);
  if (!header || !header->is_object()) return Malformed("header is not a JSON object");
  const auto alg = header->find("alg");
  if (alg == header->end()) return Malformed("header has no alg");
  if (!alg->is_string()) return Malformed("alg is not a string");
  if (alg->get<std::string>() != "HS256") {
    return absl::UnauthenticatedError(std::string(kJwtUnsupportedAlgorithm));
  }
  // RFC 7515 4.1.11: a recipient must refuse critical extensions it does not implement;
  // we implement none (this also refuses RFC 7797's unencoded payloads).
  if (header->contains("crit")) return Malformed("unsupported critical header parameters");
  const auto typ = header->find("typ");
  if (typ != header->end() &&
      (!typ->is_string() || !EqualsIgnoreAsciiCase(typ->get<std::string>(), "JWT"))) {
    return Malformed("typ is not JWT");
  }
  return absl::OkStatus();
}

StatusOr<JwtClaims> ParsePayload(std::string_view payload_b64) {
  if (payload_b64.empty()) return Malformed("empty payload");
  StatusOr<std::string> payload_text = Base64UrlDecode(payload_b64);
  if (!payload_text.ok()) return Malformed("payload is not base64url");
  const std::optional<Json> payload = ParseStrictJson(*payload_text);
  if (!payload || !payload->is_object()) return Malformed("payload is not a JSON object");
  JwtClaims claims;
  ASSIGN_OR_RETURN(claims.sub, StringClaim(*payload, "sub"));
  ASSIGN_OR_RETURN(claims.role, StringClaim(*payload, "role"));
  ASSIGN_OR_RETURN(claims.jti, StringClaim(*payload, "jti"));
  ASSIGN_OR_RETURN(const std::optional<int64_t> exp, DateClaim(*payload, "exp"));
  if (!exp) return Malformed("missing exp");
  claims.exp = *exp;
  ASSIGN_OR_RETURN(const std::optional<int64_t> iat, DateClaim(*payload, "iat"));
  if (!iat) return Malformed("missing iat");
  claims.iat = *iat;
  ASSIGN_OR_RETURN(claims.nbf, DateClaim(*payload, "nbf"));
  ASSIGN_OR_RETURN(claims.sid, OptionalStringClaim(*payload, "sid"));
  ASSIGN_OR_RETURN(claims.pwv, CounterClaim(*payload, "pwv"));
  return claims;
}

}  // namespace

StatusOr<std::string> SignJwt(const JwtClaims& claims, std::string_view key) {
  RETURN_IF_ERROR(CheckKey(key));
  if (claims.sub.empty() || claims.role.empty() || claims.jti.empty()) {
    return absl::InvalidArgumentError("JWT claims sub, role and jti must not be empty");
  }
  if (!InDateRange(claims.iat) || !InDateRange(claims.exp) ||
      (claims.nbf && !InDateRange(*claims.nbf))) {
    return absl::InvalidArgumentError("JWT claim time out of range");
  }
  if (claims.exp <= claims.iat) {
    return absl::InvalidArgumentError("JWT exp must be after iat");
  }
  if (claims.pwv && (*claims.pwv < 0 || *claims.pwv > kMaxJwtCounter)) {
    return absl::InvalidArgumentError("JWT claim pwv out of range");
  }
  Json payload = {{"sub", claims.sub},
                  {"role", claims.role},
                  {"jti", claims.jti},
                  {"iat", claims.iat},
                  {"exp", claims.exp}};
  if (claims.nbf) payload["nbf"] = *claims.nbf;
  if (!claims.sid.empty()) payload["sid"] = claims.sid;
  if (claims.pwv) payload["pwv"] = *claims.pwv;
  std::string payload_text;
  try {
    // The strict handler throws on invalid UTF-8 instead of writing a token that a
    // verifier (ours included) would refuse.
    payload_text = payload.dump(-1, ' ', false, Json::error_handler_t::strict);
  } catch (const Json::exception&) {
    return absl::InvalidArgumentError("JWT claims must be valid UTF-8");
  }
  std::string token = Base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})");
  token.push_back('.');
  token += Base64UrlEncode(payload_text);
  const std::string signature = HmacSha256(key, token);
  token.push_back('.');
  token += Base64UrlEncode(signature);
  return token;
}

StatusOr<JwtClaims> VerifyJwt(std::string_view token, std::string_view key, int64_t now_s,
                              int64_t leeway_s) {
  RETURN_IF_ERROR(CheckKey(key));
  if (leeway_s < 0 || leeway_s > kMaxJwtLeewaySeconds) {
    return absl::InvalidArgumentError(
        StrCat("JWT leeway must be in [0, ", kMaxJwtLeewaySeconds, "] s, got ", leeway_s));
  }
  if (!InDateRange(now_s)) {
    return absl::InvalidArgumentError(StrCat("JWT verification time out of range: ", now_s));
  }
  if (token.size() > kMaxJwtBytes) return Malformed("too long");
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Malformed("expected three segments");
  }
  const std::string_view header_b64 = token.substr(0, dot1);
  const std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_b64 = token.substr(dot2 + 1);

  RETURN_IF_ERROR(CheckHeader(header_b64));

  StatusOr<std::string> signature = Base64UrlDecode(signature_b64);
  if (!signature.ok()) return Malformed("signature is not base64url");
  // The MAC covers the exact bytes received, not a re-encoding of what was parsed.
  const std::string expected = HmacSha256(key, token.substr(0, dot2));
  if (!ConstantTimeEquals(expected, *signature)) {
    return absl::UnauthenticatedError(std::string(kJwtInvalidSignature));
  }

  ASSIGN_OR_RETURN(JwtClaims claims, ParsePayload(payload_b64));
  // All values are within [0, kMaxJwtNumericDate] and leeway <= kMaxJwtLeewaySeconds:
  // no overflow.
  if (now_s >= claims.exp + leeway_s) {
    return absl::UnauthenticatedError(std::string(kJwtExpired));
  }
  if ((claims.nbf && now_s + leeway_s < *claims.nbf) || now_s + leeway_s < claims.iat) {
    return absl::UnauthenticatedError(std::string(kJwtNotYetValid));
  }
  return claims;
}

StatusOr<std::string> NewJwtId() {
  ASSIGN_OR_RETURN(const std::string bytes, SecureRandomBytes(16));
  return Base64UrlEncode(bytes);
}

}  // namespace infera
