// Principal: the authenticated caller of a request (AuthService::Authenticate), carried
// on the HttpRequest for handlers that check ownership. A plain value; thread-compatible.
#pragma once

#include <cstdint>
#include <string>

#include "auth/role.h"

namespace infera {

struct Principal {
  int64_t user_id = 0;
  std::string username;
  Role role = Role::kUser;
  std::string jti;         // the access token's id ("" for an API key)
  int64_t expires_at = 0;  // the access token's exp in seconds (0 for an API key)
  int64_t api_key_id = 0;  // the key used, 0 for an access token
  bool admin() const { return role == Role::kAdmin; }
};

}  // namespace infera
