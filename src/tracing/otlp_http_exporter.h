// OtlpHttpExporter: sends spans to an OpenTelemetry collector as OTLP/HTTP with the
// JSON encoding (POST <endpoint>, Content-Type: application/json; otlp_json.h), over
// one kept-alive plain-HTTP connection (no TLS: put the collector next to the server,
// or a local agent). Every network step is bounded by the timeout.
//
// Thread-safety: not thread-safe; the Tracer's exporter thread is its only user.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "tracing/otlp_json.h"
#include "tracing/span.h"

namespace infera {

// An OTLP/HTTP traces endpoint: "http://host[:port][/path]". The port defaults to 4318
// (OTLP/HTTP's), a missing or "/" path to "/v1/traces" (so the collector's base URL
// works as well as the full one).
struct OtlpEndpoint {
  std::string host;
  uint16_t port = 4318;
  std::string path = "/v1/traces";
};

// InvalidArgument for anything else (https, user info, a bad port...).
StatusOr<OtlpEndpoint> ParseOtlpEndpoint(std::string_view url);

class OtlpHttpExporter {
 public:
  OtlpHttpExporter(OtlpEndpoint endpoint, OtlpResource resource, std::chrono::milliseconds timeout);
  ~OtlpHttpExporter();
  OtlpHttpExporter(const OtlpHttpExporter&) = delete;
  OtlpHttpExporter& operator=(const OtlpHttpExporter&) = delete;

  // POSTs `spans` as one request. OK on a 2xx answer; Unavailable when the collector
  // cannot be reached or answers 5xx/429, DeadlineExceeded on timeout, Internal for
  // another answer (the collector refused the data).
  Status Export(const std::vector<SpanData>& spans);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace infera
