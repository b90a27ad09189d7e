// OtlpReceiver: a real OTLP/HTTP JSON receiver for tests — the project's HttpServer on
// 127.0.0.1 (port 0) with POST /v1/traces, keeping every span it is sent. It can also
// answer with an error status, to test failing exports.
//
// Thread-safety: spans()/WaitForSpans may be called from the test thread while the
// server's threads add spans.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/http_server.h"
#include "api/router.h"
#include "common/mutex.h"

namespace infera::testing {

// One received span, flattened with its resource's service.name.
struct ReceivedSpan {
  std::string service_name;
  nlohmann::json span;  // the OTLP JSON span object as sent

  std::string name() const { return span.value("name", ""); }
  std::string trace_id() const { return span.value("traceId", ""); }
  std::string span_id() const { return span.value("spanId", ""); }
  std::string parent_span_id() const { return span.value("parentSpanId", ""); }
  // The attribute's value object ({"stringValue": ...}), or null.
  nlohmann::json attribute(const std::string& key) const;
  std::string string_attribute(const std::string& key) const;
};

class OtlpReceiver {
 public:
  OtlpReceiver();  // starts listening; fails the test (ADD_FAILURE) when it cannot
  ~OtlpReceiver();

  // "http://127.0.0.1:<port>/v1/traces".
  std::string endpoint() const;
  // The status the receiver answers with (200 by default).
  void set_status(int status);
  int requests() const;
  std::vector<ReceivedSpan> spans() const;
  // Waits (bounded by `timeout`) until `done(spans())` holds; returns the spans then
  // (or the last seen ones on timeout).
  std::vector<ReceivedSpan> WaitFor(
      const std::function<bool(const std::vector<ReceivedSpan>&)>& done,
      std::chrono::milliseconds timeout = std::chrono::seconds(15));

 private:
  mutable Mutex mu_;
  std::vector<ReceivedSpan> spans_ GUARDED_BY(mu_);
  int status_ GUARDED_BY(mu_) = 200;
  int requests_ GUARDED_BY(mu_) = 0;
  Router router_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace infera::testing
