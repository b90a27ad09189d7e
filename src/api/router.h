// Router: maps (method, path) to a Handler. Patterns are literal segments and
// "{name}" parameters that match one non-empty segment ("/predict/{model}").
//
// Routes are added before the server starts; Dispatch is then thread-safe (read-only).
// Every response carries an X-Request-Id header (MakeRequestId, common/request_id.h).
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

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/http_types.h"
#include "tracing/tracer.h"

namespace infera {

// RequestRecord: what the Router's observer learns of each finished request.
struct RequestRecord {
  std::string method;
  std::string path;
  std::string route;  // the matched pattern ("/predict/{model}"), or "" when none matched
  std::string request_id;
  int status = 0;
  double seconds = 0;  // from dispatch to response
  // The request span's ids (lower-case hex), "" when tracing is off.
  std::string trace_id;
  std::string span_id;
};

// RouteOptions: how the server reads the bodies of a route's requests.
struct RouteOptions {
  // Largest body accepted (413 beyond); 0: the server's max_body_bytes.
  uint64_t max_body_bytes = 0;
  // Stream bodies larger than the server's spool threshold (or of unknown length) to a
  // temp file (HttpRequest::body_file) instead of memory: for uploads.
  bool spool = false;
};

class Router {
 public:
  // Called once per request, from the thread that responds, just before the response
  // goes to the transport. Set before the server starts.
  using Observer = std::function<void(const RequestRecord&)>;
  void SetObserver(Observer observer) { observer_ = std::move(observer); }
  // Requests dispatched whose response has not been handed over yet.
  int64_t in_flight() const { return in_flight_->load(); }

  // A decorator wraps the handler of every route added while it is set (e.g. an auth
  // guard for a family of routes); nullptr stops decorating. Set before the server starts.
  using Decorator =
      std::function<Handler(std::string_view method, std::string_view pattern, Handler handler)>;
  void SetDecorator(Decorator decorator) { decorator_ = std::move(decorator); }
  // With a tracer (set before the server starts; it must outlive the router), every
  // request gets a server span (HttpRequest::span) that continues the caller's
  // `traceparent`/`tracestate` headers, named "METHOD route" with OpenTelemetry's
  // HTTP server attributes (http.request.method, url.path, url.scheme, http.route,
  // http.response.status_code, server.address/port, client.address,
  // user_agent.original) and infera.request.id; the response carries its
  // `traceparent`. 5xx answers mark it as an error. The handler's synchronous part
  // logs with the span's trace_id/span_id (tracing/span_log_scope.h).
  void SetTracer(Tracer* tracer) { tracer_ = tracer; }

  void Add(std::string method, std::string pattern, Handler handler, RouteOptions options = {});
  // The options of the route Dispatch would pick for (method, path); defaults when none
  // matches. Thread-safe after the server started (read-only).
  RouteOptions BodyOptions(std::string_view method, std::string_view path) const;
  // Every route as (method, pattern), in the order added: what the server serves, for
  // tests that must cover each route (the auth matrix). Thread-safe after start.
  std::vector<std::pair<std::string, std::string>> Routes() const;
  // Finds the route, fills request.params and calls its handler, or answers 404/405.
  void Dispatch(HttpRequest&& request, Responder respond) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;  // "{x}" marks a parameter
    Handler handler;
    RouteOptions options;
  };
  // The route for (method, path) with its params, or nullptr (filling *allowed with the
  // methods of routes whose pattern matches).
  const Route* Find(std::string_view method, std::string_view path,
                    std::map<std::string, std::string>* params,
                    std::vector<std::string>* allowed) const;
  void DispatchTo(HttpRequest&& request, Responder respond, const Route** matched) const;

  std::vector<Route> routes_;
  Observer observer_;
  Decorator decorator_;
  Tracer* tracer_ = nullptr;
  std::shared_ptr<std::atomic<int64_t>> in_flight_ = std::make_shared<std::atomic<int64_t>>(0);
};

}  // namespace infera
