// Tracer: starts the spans of traces that begin in this process, or continue here from
// a caller's W3C traceparent, and exports every ended span over OTLP/HTTP.
//
// Front ends (HTTP routes, the gRPC service, job workers) call StartRequestSpan /
// StartRootSpan, put the span in the RequestContext they hand to the core, and end it
// when they answer; the core adds children with StartChildSpan (span.h).
//
// Export: ended spans go to a bounded SpanQueue (TracerOptions::max_queue_spans); one
// exporter thread sends them in batches (max_export_batch spans, or whatever is queued
// every export_interval) with OtlpHttpExporter. Nothing on a request's path waits on
// the exporter: a full queue drops the span. Counted in the registry given to Create:
//   infera_tracing_spans_exported_total  spans the collector accepted
//   infera_tracing_spans_dropped_total   spans refused by the full (or closed) queue
//   infera_tracing_spans_failed_total    spans of batches the collector did not take
//                                         (unreachable, timeout, an error answer)
// A failing endpoint is logged once when it starts failing and once when it recovers.
//
// Sampling: Sampler(rate) (sampler.h). An unsampled request costs its ids and one
// small allocation: its span is non-recording, children are not made.
//
// Thread-safety: all methods may be called from any thread. The destructor closes the
// queue, exports what is queued (one last attempt, bounded by export_timeout) and joins
// the exporter thread; spans ending later are dropped.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "common/status.h"
#include "metrics/metrics.h"
#include "tracing/otlp_http_exporter.h"
#include "tracing/sampler.h"
#include "tracing/span.h"
#include "tracing/span_queue.h"

namespace infera {

// TracerOptions: the config file's `tracing:` section (server/server_config.h) and the
// exporter's tuning.
struct TracerOptions {
  std::string endpoint;  // OTLP/HTTP traces URL (ParseOtlpEndpoint); "" turns tracing off
  double rate = 1.0;     // share of new traces sampled, 0..1
  std::string service_name = "infera";
  size_t max_queue_spans = 8192;
  size_t max_export_batch = 512;
  std::chrono::milliseconds export_interval{500};
  std::chrono::milliseconds export_timeout{2000};
};

class Tracer {
 public:
  // InvalidArgument for a bad endpoint or rate outside [0, 1]. `metrics` (optional) gets
  // the counters above and must outlive the tracer.
  static StatusOr<std::unique_ptr<Tracer>> Create(const TracerOptions& options,
                                                  MetricsRegistry* metrics);
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  // The span of one incoming request, for any front end. `traceparent`: the caller's
  // header (HTTP) or metadata (gRPC) when it sent one; a valid one makes this span its
  // child in its trace (its sampled flag decides), an absent or invalid one starts a new
  // trace (the rate decides). `tracestate` is carried on when valid. Never null: a span
  // that is not sampled is non-recording but has ids for the response's traceparent.
  std::shared_ptr<TraceSpan> StartRequestSpan(std::optional<std::string_view> traceparent,
                                              std::string name, std::string_view tracestate = {},
                                              SpanKind kind = SpanKind::kServer);
  // A new trace for work no request started (a durable job): sampled at the rate.
  // Never null (non-recording when not sampled).
  std::shared_ptr<TraceSpan> StartRootSpan(std::string name,
                                           std::optional<int64_t> start_unix_nano = {},
                                           SpanKind kind = SpanKind::kInternal);

  const Sampler& sampler() const { return sampler_; }
  // Counts so far (tests and the bench read them; /metrics shows the same).
  uint64_t exported() const { return exported_count_.load(); }
  uint64_t failed() const { return failed_count_.load(); }
  uint64_t dropped() const { return queue_->dropped(); }

 private:
  Tracer(const TracerOptions& options, OtlpEndpoint endpoint, MetricsRegistry* metrics);
  std::shared_ptr<TraceSpan> Start(const SpanContext* parent, std::string name, SpanKind kind,
                                   std::string tracestate, int64_t start_unix_nano);
  void ExportLoop();

  const TracerOptions options_;
  const Sampler sampler_;
  Counter* exported_ = nullptr;  // in the registry; null without one
  Counter* failed_ = nullptr;
  std::atomic<uint64_t> exported_count_{0};
  std::atomic<uint64_t> failed_count_{0};
  std::shared_ptr<SpanQueue> queue_;
  OtlpHttpExporter exporter_;  // the exporter thread's alone
  std::thread thread_;
};

}  // namespace infera
