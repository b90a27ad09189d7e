// DicomwebAuth: the credentials a user gives for a PACS ({type: basic, username,
// password} or {type: bearer, token}), and how they are kept.
//
// Credentials are never logged, never put in error messages and never stored in plain
// text: a durable job keeps them sealed (AES-256-GCM under a key derived from the
// server's credentials secret, CredentialSealer) in its spec, and the job's JSON shows only
// {"type": ..., "redacted": true}. Whoever can read both the database and the secret
// (<storage>/dicomweb_secret, or the shared database's secret on postgres) can unseal
// them, as the server itself must.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/status.h"

namespace infera {

struct DicomwebAuth {
  enum class Type { kNone, kBasic, kBearer };
  Type type = Type::kNone;
  std::string username;  // basic
  std::string password;  // basic
  std::string token;     // bearer

  // The Authorization header's value ("" for kNone).
  std::string Header() const;
  // "none", "basic", "bearer".
  std::string_view TypeName() const;
};

// Reads the request's `auth` (null or absent: none). InvalidArgument naming the field that
// is wrong (never echoing a secret): unknown type or fields, missing or non-string values,
// control characters, a username with ':', longer than 4096 bytes.
StatusOr<DicomwebAuth> ParseDicomwebAuth(const nlohmann::json& auth);
// What the API shows of it: null for none, else {"type": "basic", "redacted": true}.
nlohmann::json RedactedAuthJson(const DicomwebAuth& auth);

// Seals and opens credentials with a 32-byte key. Thread-safe (immutable).
class CredentialSealer {
 public:
  // The key is derived from `secret` (any length, at least 16 bytes).
  explicit CredentialSealer(std::string_view secret);
  // base64(nonce | ciphertext | tag) of the credentials' JSON.
  StatusOr<std::string> Seal(const DicomwebAuth& auth) const;
  // InvalidArgument when `sealed` is malformed or was sealed under another key.
  StatusOr<DicomwebAuth> Open(std::string_view sealed) const;

 private:
  std::string key_;
};

}  // namespace infera
