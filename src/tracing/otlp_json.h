// The OTLP/JSON encoding of spans (an ExportTraceServiceRequest as POSTed to /v1/traces;
// https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding):
//
//   {"resourceSpans": [{"resource": {"attributes": [service.name, ...]},
//     "scopeSpans": [{"scope": {"name": "infera", "version": ...}, "spans": [...]}]}]}
//
// Per the mapping: trace and span ids are lower-case hex strings (not base64), enum
// fields (kind, status.code) integers, 64-bit integers (times, intValue) decimal
// strings, field names lowerCamelCase; empty parents, trace states and lists omitted.
//
// Thread-safety: pure function.
#pragma once

#include <string>
#include <vector>

#include "tracing/span.h"

namespace infera {

struct OtlpResource {
  std::string service_name;
  std::string service_version;  // "" leaves service.version out
};

std::string SpansToOtlpJson(const OtlpResource& resource, const std::vector<SpanData>& spans);

}  // namespace infera
