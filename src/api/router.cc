#include "api/router.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <string_view>
#include <utility>

namespace infera {
namespace {

// "/a/b" -> {"a", "b"}; "/" -> {}; "/a/" -> {"a", ""}. `path` starts with '/'.
std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> segments;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (path.empty()) return segments;
  while (true) {
    const size_t slash = path.find('/');
    segments.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

bool IsParam(const std::string& segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

// Matches `segments` against a route pattern; on success fills *params and *literals
// (true where the pattern segment is literal).
bool Match(const std::vector<std::string>& pattern, const std::vector<std::string>& segments,
           std::map<std::string, std::string>* params, std::vector<bool>* literals) {
  if (pattern.size() != segments.size()) return false;
  params->clear();
  literals->clear();
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (IsParam(pattern[i])) {
      if (segments[i].empty()) return false;
      (*params)[pattern[i].substr(1, pattern[i].size() - 2)] = segments[i];
      literals->push_back(false);
    } else {
      if (pattern[i] != segments[i]) return false;
      literals->push_back(true);
    }
  }
  return true;
}

}  // namespace

// NOLINTNEXTLINE(performance-unnecessary-value-param): the signature is router.h's.
void Router::Add(std::string method, std::string pattern, Handler handler, RouteOptions options) {
  std::vector<std::string> segments = SplitPath(pattern);
  if (decorator_) handler = decorator_(method, pattern, std::move(handler));
  routes_.push_back(Route{std::move(method), std::move(pattern), std::move(segments),
                          std::move(handler), options});
}

RouteOptions Router::BodyOptions(std::string_view method, std::string_view path) const {
  std::map<std::string, std::string> params;
  std::vector<std::string> allowed;
  const Route* route = Find(method, path, &params, &allowed);
  return route != nullptr ? route->options : RouteOptions{};
}

const Router::Route* Router::Find(std::string_view method, std::string_view path,
                                  std::map<std::string, std::string>* best_params,
                                  std::vector<std::string>* allowed) const {
  const std::vector<std::string> segments = SplitPath(path);
  const Route* best = nullptr;
  std::vector<bool> best_literals;
  std::map<std::string, std::string> params;
  std::vector<bool> literals;
  for (const Route& route : routes_) {
    if (!Match(route.segments, segments, &params, &literals)) continue;
    if (route.method != method) {
      allowed->push_back(route.method);
      continue;
    }
    // vector<bool> compares lexicographically with true > false: literals first wins.
    if (best == nullptr || literals > best_literals) {
      best = &route;
      *best_params = std::move(params);
      best_literals = std::move(literals);
    }
  }
  return best;
}

void Router::Dispatch(HttpRequest&& request, Responder respond) const {
  request.request_id = MakeRequestId(request.header("x-request-id"));
  // Wrap the responder: echo the id, count in-flight requests, tell the observer.
  in_flight_->fetch_add(1);
  auto record = std::make_shared<RequestRecord>();
  record->method = request.method;
  record->path = request.path;
  record->request_id = request.request_id;
  const auto start = std::chrono::steady_clock::now();
  auto route_of = std::make_shared<const Route*>(nullptr);
  respond = [respond = std::move(respond), record, start, route_of, in_flight = in_flight_,
             observer = observer_](HttpResponse response) {
    response.headers["x-request-id"] = record->request_id;
    in_flight->fetch_sub(1);
    if (observer) {
      record->status = response.status;
      record->route = *route_of ? (*route_of)->pattern : "";
      record->seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      observer(*record);
    }
    respond(std::move(response));
  };
  DispatchTo(std::move(request), std::move(respond), route_of.get());
}

void Router::DispatchTo(HttpRequest&& request, Responder respond, const Route** matched) const {
  if (request.path.empty() || request.path.front() != '/' ||
      request.path.find('\0') != std::string::npos) {
    respond(ErrorResponse(400, "invalid request path"));
    return;
  }
  std::map<std::string, std::string> best_params;
  std::vector<std::string> allowed;
  const Route* best = Find(request.method, request.path, &best_params, &allowed);

  if (best != nullptr) {
    *matched = best;
    request.params = std::move(best_params);
    best->handler(std::move(request), std::move(respond));
    return;
  }
  if (!allowed.empty()) {
    std::sort(allowed.begin(), allowed.end());
    allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
    std::string allow;
    for (const std::string& method : allowed) {
      if (!allow.empty()) allow += ", ";
      allow += method;
    }
    HttpResponse response = ErrorResponse(405, "method " + request.method + " is not allowed for " +
                                                   request.path + " (allowed: " + allow + ")");
    response.headers["allow"] = allow;
    respond(std::move(response));
    return;
  }
  respond(ErrorResponse(404, "no route for " + request.method + " " + request.path));
}

}  // namespace infera
