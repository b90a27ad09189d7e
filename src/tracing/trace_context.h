// W3C Trace Context (https://www.w3.org/TR/trace-context/, version 00): the trace and
// span ids a request carries across processes, the `traceparent` and `tracestate`
// headers that carry them, and fresh random ids.
//
//   traceparent: 00-<trace-id: 32 hex>-<parent-id: 16 hex>-<trace-flags: 2 hex>
//
// Parsing follows the spec's validity rules: exactly 55 characters for version 00, '-'
// separators, lower-case hex only, trace id and parent id not all zeros, version "ff"
// invalid. A higher (future) version is accepted when its first four fields parse and
// what follows them starts with '-' (the spec's forward compatibility); its extra
// fields are ignored. A tracestate is a list of at most 32 `key=value` members
// separated by commas (optional spaces/tabs around them), keys as the spec's simple or
// multi-tenant ("tenant@system") keys, values 1-256 printable characters other than ','
// and '=' not ending in a space; a tracestate that breaks a rule is dropped whole.
//
// Thread-safety: values and pure functions; NewTraceId/NewSpanId may be called from any
// thread (one random generator per thread).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace infera {

using TraceId = std::array<uint8_t, 16>;
using SpanId = std::array<uint8_t, 8>;

// trace-flags bit 0: the caller recorded (sampled) its span.
inline constexpr uint8_t kTraceFlagSampled = 0x01;

// SpanContext: what identifies a span to other processes.
struct SpanContext {
  TraceId trace_id{};
  SpanId span_id{};
  uint8_t flags = 0;
  std::string tracestate;  // passed on unchanged ("" when none)

  bool sampled() const { return (flags & kTraceFlagSampled) != 0; }
  // Both ids are non-zero.
  bool valid() const;
};

bool IsZero(const TraceId& id);
bool IsZero(const SpanId& id);

// Lower-case hex (32 and 16 characters), as traceparent and the OTLP JSON mapping spell
// them.
std::string ToHex(const TraceId& id);
std::string ToHex(const SpanId& id);

// Fresh ids from a per-thread generator seeded by the OS's random source
// (std::random_device); never all zeros.
TraceId NewTraceId();
SpanId NewSpanId();

// The context a `traceparent` header carries (its span id is the caller's span: the
// parent of ours), or nullopt when the header is invalid by the rules above.
// `tracestate` is kept in the result when valid (see IsValidTracestate).
std::optional<SpanContext> ParseTraceparent(std::string_view traceparent,
                                            std::string_view tracestate = {});

// "00-<trace id>-<span id>-<flags>".
std::string FormatTraceparent(const SpanContext& context);

// Whether `tracestate` follows the list rules above ("" is valid: no members).
bool IsValidTracestate(std::string_view tracestate);

}  // namespace infera
