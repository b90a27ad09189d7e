#include "tracing/tracer.h"

#include <cmath>
#include <utility>
#include <vector>

#include "common/logging.h"
#include "common/strings.h"

namespace infera {
namespace {

Counter* CounterOf(MetricsRegistry* metrics, const char* name, const char* help) {
  if (metrics == nullptr) return nullptr;
  return &metrics->AddCounter(name, help, {}).Get({});
}

}  // namespace

StatusOr<std::unique_ptr<Tracer>> Tracer::Create(const TracerOptions& options,
                                                 MetricsRegistry* metrics) {
  ASSIGN_OR_RETURN(OtlpEndpoint endpoint, ParseOtlpEndpoint(options.endpoint));
  if (std::isnan(options.rate) || options.rate < 0 || options.rate > 1) {
    return absl::InvalidArgumentError(StrCat("tracing rate ", options.rate, " is outside 0..1"));
  }
  if (options.max_queue_spans == 0 || options.max_export_batch == 0) {
    return absl::InvalidArgumentError("tracing queue and batch sizes must be positive");
  }
  return std::unique_ptr<Tracer>(new Tracer(options, std::move(endpoint), metrics));
}

Tracer::Tracer(const TracerOptions& options, OtlpEndpoint endpoint, MetricsRegistry* metrics)
    : options_(options),
      sampler_(options.rate),
      exported_(CounterOf(metrics, "infera_tracing_spans_exported_total",
                          "Spans the OTLP collector accepted.")),
      failed_(CounterOf(metrics, "infera_tracing_spans_failed_total",
                        "Spans of export batches the OTLP collector did not take (unreachable, "
                        "timeout, error answer).")),
      queue_(std::make_shared<SpanQueue>(
          options.max_queue_spans,
          CounterOf(metrics, "infera_tracing_spans_dropped_total",
                    "Spans dropped because the export queue was full (the exporter never "
                    "blocks requests)."))),
      exporter_(std::move(endpoint), OtlpResource{options.service_name, INFERA_VERSION},
                options.export_timeout) {
  thread_ = std::thread([this] { ExportLoop(); });
}

Tracer::~Tracer() {
  queue_->Close();
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<TraceSpan> Tracer::StartRequestSpan(std::optional<std::string_view> traceparent,
                                                    std::string name, std::string_view tracestate,
                                                    SpanKind kind) {
  const int64_t start = NowUnixNano();
  std::optional<SpanContext> parent;
  if (traceparent) parent = ParseTraceparent(*traceparent, tracestate);
  std::string state = parent ? parent->tracestate : std::string();
  return Start(parent ? &*parent : nullptr, std::move(name), kind, std::move(state), start);
}

std::shared_ptr<TraceSpan> Tracer::StartRootSpan(std::string name,
                                                 std::optional<int64_t> start_unix_nano,
                                                 SpanKind kind) {
  return Start(nullptr, std::move(name), kind, {}, start_unix_nano.value_or(NowUnixNano()));
}

std::shared_ptr<TraceSpan> Tracer::Start(const SpanContext* parent, std::string name, SpanKind kind,
                                         std::string tracestate, int64_t start_unix_nano) {
  SpanContext context;
  context.trace_id = parent != nullptr ? parent->trace_id : NewTraceId();
  context.span_id = NewSpanId();
  const bool sampled = sampler_.ShouldSample(parent, context.trace_id);
  context.flags = sampled ? kTraceFlagSampled : 0;
  context.tracestate = std::move(tracestate);
  const SpanId parent_id = parent != nullptr ? parent->span_id : SpanId{};
  return std::make_shared<TraceSpan>(std::move(context), parent_id, std::move(name), kind,
                                     sampled ? queue_ : nullptr, start_unix_nano);
}

void Tracer::ExportLoop() {
  std::vector<SpanData> batch;
  bool failing = false;
  while (true) {
    batch.clear();
    const auto deadline = std::chrono::steady_clock::now() + options_.export_interval;
    queue_->PopBatch(options_.max_export_batch, deadline, &batch);
    if (batch.empty()) {
      if (queue_->closed()) return;
      continue;
    }
    const Status status = exporter_.Export(batch);
    const auto n = static_cast<double>(batch.size());
    if (status.ok()) {
      exported_count_ += batch.size();
      if (exported_ != nullptr) exported_->Increment(n);
      if (failing) Log(LogLevel::kInfo, "tracing_export_recovered", {});
      failing = false;
    } else {
      failed_count_ += batch.size();
      if (failed_ != nullptr) failed_->Increment(n);
      if (!failing) {
        Log(LogLevel::kWarning, "tracing_export_failed",
            {{"error", std::string(ToStd(status.message()))},
             {"spans", std::to_string(batch.size())}});
      }
      failing = true;
      if (queue_->closed()) {  // shutting down: no more attempts at a failing endpoint
        batch.clear();
        while (queue_->PopBatch(options_.max_export_batch, deadline, &batch) > 0) {
          failed_count_ += batch.size();
          if (failed_ != nullptr) failed_->Increment(static_cast<double>(batch.size()));
          batch.clear();
        }
        return;
      }
    }
  }
}

}  // namespace infera
