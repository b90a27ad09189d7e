// Request ids: what every front end (HTTP's router, gRPC) calls a request in its logs
// and echoes to the client (X-Request-Id / x-request-id metadata).
#pragma once

#include <string>
#include <string_view>

namespace infera {

// The id for a request: `client_id` when it is 1-128 characters of [A-Za-z0-9._:-],
// else a fresh random 16-hex-digit id. Thread-safe.
std::string MakeRequestId(std::string_view client_id);

}  // namespace infera
