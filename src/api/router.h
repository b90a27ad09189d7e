// Router: maps (method, path) to a Handler. Patterns are literal segments and
// "{name}" parameters that match one non-empty segment ("/predict/{model}").
//
// Routes are added before the server starts; Dispatch is then thread-safe (read-only).
// An unknown path answers 404 and a known path with another method 405 (with an
// Allow header), both as JSON errors.
//
// Matching rules:
// - request.path must already be percent-decoded (the server does it); it is split on
//   '/', so an encoded "%2F" inside a parameter splits it too. A path that does not
//   start with '/' or that contains a NUL byte is answered 400.
// - The trailing slash is significant: "/health/" does not match "/health" (404), and
//   "/predict/" does not match "/predict/{model}" since a parameter is never empty.
// - Methods are compared case-sensitively ("get" is not "GET").
// - When several routes match, the one with a literal segment at the first position
//   where they differ wins ("/models/stats" beats "/models/{name}"), whatever the order
//   of Add calls; among equals the first added wins.
// - Exceptions thrown by a handler propagate out of Dispatch (the server turns them into
//   500 responses).
#pragma once

#include <string>
#include <vector>

#include "api/http_types.h"

namespace infera {

class Router {
 public:
  void Add(std::string method, std::string pattern, Handler handler);
  // Finds the route, fills request.params and calls its handler, or answers 404/405.
  void Dispatch(HttpRequest&& request, Responder respond) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{x}" marks a parameter
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace infera
