#include "api/router.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <string_view>
#include <utility>

#include "common/request_id.h"
#include "tracing/span_log_scope.h"

namespace infera {
namespace {

// The request span's attributes known before dispatch (OpenTelemetry HTTP server
// semantic conventions).
void StartHttpAttributes(const HttpRequest& request, TraceSpan& span) {
  span.SetAttribute("http.request.method", request.method);
  span.SetAttribute("url.path", request.path);
  if (!request.query.empty()) span.SetAttribute("url.query", request.query);
  span.SetAttribute("url.scheme", std::string("http"));
  span.SetAttribute("network.protocol.name", std::string("http"));
  std::string_view host = request.header("host");
  if (!host.empty()) {
    // "name", "name:port", "[v6]:port"
    const size_t colon = host.rfind(':');
    const bool has_port = colon != std::string_view::npos &&
                          host.find(']', colon) == std::string_view::npos &&
                          (host.front() == '[' || host.find(':') == colon);
    std::string_view name = has_port ? host.substr(0, colon) : host;
    if (name.size() >= 2 && name.front() == '[' && name.back() == ']') {
      name = name.substr(1, name.size() - 2);
    }
    span.SetAttribute("server.address", std::string(name));
    if (has_port) {
      int64_t port = 0;
      for (char c : host.substr(colon + 1)) {
        if (c < '0' || c > '9' || port > 65535) {
          port = -1;
          break;
        }
        port = port * 10 + (c - '0');
      }
      if (port > 0 && port <= 65535) span.SetAttribute("server.port", port);
    }
  }
  if (!request.remote_address.empty()) span.SetAttribute("client.address", request.remote_address);
  std::string_view agent = request.header("user-agent");
  if (!agent.empty()) span.SetAttribute("user_agent.original", std::string(agent));
  span.SetAttribute("infera.request.id", request.request_id);
}

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

std::vector<std::pair<std::string, std::string>> Router::Routes() const {
  std::vector<std::pair<std::string, std::string>> routes;
  routes.reserve(routes_.size());
  for (const Route& route : routes_) routes.emplace_back(route.method, route.pattern);
  return routes;
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
  if (tracer_ != nullptr) {
    const std::string_view traceparent = request.header("traceparent");
    request.span = tracer_->StartRequestSpan(
        traceparent.empty() ? std::nullopt : std::optional<std::string_view>(traceparent),
        request.method, request.header("tracestate"));
    if (request.span->recording()) StartHttpAttributes(request, *request.span);
    record->trace_id = ToHex(request.span->context().trace_id);
    record->span_id = ToHex(request.span->context().span_id);
  }
  respond = [respond = std::move(respond), record, start, route_of, in_flight = in_flight_,
             observer = observer_, span = request.span](HttpResponse response) {
    response.headers["x-request-id"] = record->request_id;
    if (span != nullptr) {
      response.headers["traceparent"] = span->traceparent();
      if (span->recording()) {
        const std::string route = *route_of ? (*route_of)->pattern : "";
        span->SetName(route.empty() ? record->method : record->method + " " + route);
        if (!route.empty()) span->SetAttribute("http.route", route);
        span->SetAttribute("http.response.status_code", int64_t{response.status});
        if (response.status >= 500) {
          span->SetAttribute("error.type", std::to_string(response.status));
          span->SetStatus(SpanStatusCode::kError);
        }
        span->End();
      }
    }
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
  SpanLogScope log_scope(request.span);
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
