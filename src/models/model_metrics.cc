#include "models/model_metrics.h"

namespace infera {

namespace {

const std::vector<std::string> kLabels = {"model", "version"};
const std::vector<std::string> kOutcomeLabels = {"model", "version", "outcome"};

CounterFamily& Requests(MetricsRegistry& r) {
  return r.AddCounter("infera_model_requests_total",
                      "Requests to a model by outcome (timeout: expired in the queue; "
                      "rejected: queue full or model stopping).",
                      kOutcomeLabels);
}
CounterFamily& Inferences(MetricsRegistry& r) {
  return r.AddCounter("infera_model_inferences_total", "Rows (images) executed.", kLabels);
}
CounterFamily& Executions(MetricsRegistry& r) {
  return r.AddCounter("infera_model_executions_total", "Batches executed.", kLabels);
}
HistogramFamily& Queue(MetricsRegistry& r) {
  return r.AddHistogram("infera_model_queue_duration_seconds",
                        "Time from enqueue to the batch being cut.", kLabels,
                        LatencyBucketsSeconds());
}
HistogramFamily& Compute(MetricsRegistry& r) {
  return r.AddHistogram("infera_model_compute_duration_seconds",
                        "Engine time of the batch a request ran in.", kLabels,
                        LatencyBucketsSeconds());
}
HistogramFamily& RequestDuration(MetricsRegistry& r) {
  return r.AddHistogram("infera_model_request_duration_seconds",
                        "Time from enqueue to result (queue + compute).", kLabels,
                        LatencyBucketsSeconds());
}
HistogramFamily& BatchSize(MetricsRegistry& r) {
  return r.AddHistogram("infera_model_batch_size", "Rows per executed batch.", kLabels,
                        ExponentialBuckets(1, 2, 10));
}

LabelValues With(LabelValues labels, std::string outcome) {
  labels.push_back(std::move(outcome));
  return labels;
}

}  // namespace

ModelMetrics::ModelMetrics(MetricsRegistry& registry, const std::string& model, int64_t version)
    : labels_{model, std::to_string(version)},
      success_(Requests(registry).Get(With(labels_, "success"))),
      failure_(Requests(registry).Get(With(labels_, "failure"))),
      timeout_(Requests(registry).Get(With(labels_, "timeout"))),
      rejected_(Requests(registry).Get(With(labels_, "rejected"))),
      inferences_(Inferences(registry).Get(labels_)),
      executions_(Executions(registry).Get(labels_)),
      queue_(Queue(registry).Get(labels_)),
      compute_(Compute(registry).Get(labels_)),
      request_(RequestDuration(registry).Get(labels_)),
      batch_size_(BatchSize(registry).Get(labels_)) {}

void ModelMetrics::RemoveSeries(MetricsRegistry& registry, const std::string& model,
                                int64_t version) {
  const LabelValues labels = {model, std::to_string(version)};
  for (const char* outcome : {"success", "failure", "timeout", "rejected"}) {
    Requests(registry).Remove(With(labels, outcome));
  }
  Inferences(registry).Remove(labels);
  Executions(registry).Remove(labels);
  Queue(registry).Remove(labels);
  Compute(registry).Remove(labels);
  RequestDuration(registry).Remove(labels);
  BatchSize(registry).Remove(labels);
}

void ModelMetrics::OnBatch(const BatchEvent& event) {
  success_.Increment(static_cast<double>(event.succeeded));
  failure_.Increment(static_cast<double>(event.failed));
  inferences_.Increment(static_cast<double>(event.rows));
  executions_.Increment();
  batch_size_.Observe(static_cast<double>(event.rows));
  for (double q : event.queue_seconds) {
    queue_.Observe(q);
    compute_.Observe(event.compute_seconds);
    request_.Observe(q + event.compute_seconds);
  }
}

void ModelMetrics::OnExpired(size_t count) { timeout_.Increment(static_cast<double>(count)); }
void ModelMetrics::OnRejected() { rejected_.Increment(); }

}  // namespace infera
