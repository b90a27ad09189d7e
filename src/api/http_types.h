// HttpRequest / HttpResponse: the server's plain view of an HTTP exchange, free of
// Beast types so that routes and tests do not depend on the transport.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace infera {

// Header names are stored lower-case.
using HttpHeaders = std::map<std::string, std::string>;

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // the raw request target: path and query
  std::string path;    // percent-decoded path without the query
  std::string query;   // the raw query string after '?', or empty
  HttpHeaders headers;
  std::string body;
  std::string remote_address;
  // Path parameters filled in by the Router ("{model}" -> "mobilenet_v2").
  std::map<std::string, std::string> params;

  // Header value or "" (name is matched case-insensitively).
  std::string_view header(std::string_view name) const;
  // Value of a query parameter (percent-decoded), or nullopt-like empty + false.
  // Finds the first "name=value" (or bare "name", value "") pair of the query whose
  // decoded name equals `name`; stores its decoded value in *value (when not null) and
  // returns true. A malformed escape is kept literally. Returns false when absent.
  bool query_param(std::string_view name, std::string* value) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  HttpHeaders headers;
  std::string body;
};

// Responder: completes a request. Must be called exactly once, from any thread; the
// transport takes care of writing on the connection's own executor.
using Responder = std::function<void(HttpResponse)>;

// Handler: serves one route. May call the responder before returning (synchronous
// handlers) or later from another thread (asynchronous ones, e.g. after batching).
// Runs on an HTTP I/O thread: must not block for long.
using Handler = std::function<void(HttpRequest&& request, Responder respond)>;

// JSON response helpers.
HttpResponse JsonResponse(int status, std::string body);
// {"error": message} with the given status.
HttpResponse ErrorResponse(int status, std::string_view message);

// PercentDecode decodes "%XX" escapes (and '+' as a space when plus_as_space, as in
// query strings) into *out. Returns false, leaving *out unspecified, on a malformed
// escape ("%", "%4", "%zz").
bool PercentDecode(std::string_view in, bool plus_as_space, std::string* out);

}  // namespace infera
