// ModelMetrics: the Prometheus series of one loaded model version, labelled
// {model, version}, fed by its batcher's events and by refused requests.
//
//   infera_model_requests_total{outcome=success|failure|timeout|rejected}
//   infera_model_inferences_total (rows), infera_model_executions_total (batches:
//     inferences / executions = average batch size)
//   infera_model_queue_duration_seconds, infera_model_compute_duration_seconds,
//   infera_model_request_duration_seconds (queue + compute) — histograms
//   infera_model_batch_size — histogram of rows per execution
// The pending-queue gauge is collected at scrape time by the server.
// Thread-safe (the metric types are). The registry must outlive this object.
#pragma once

#include <string>

#include "batching/dynamic_batcher.h"
#include "metrics/metrics.h"

namespace infera {

class ModelMetrics {
 public:
  // Takes the series of {model, version}, creating them on first use: a reloaded
  // version continues the counters of the one it replaces.
  ModelMetrics(MetricsRegistry& registry, const std::string& model, int64_t version);

  // Stops exporting the series of {model, version} (after an unload). Objects still
  // holding them keep working; their updates are no longer exported.
  static void RemoveSeries(MetricsRegistry& registry, const std::string& model, int64_t version);

  void OnBatch(const BatchEvent& event);
  void OnExpired(size_t count);
  void OnRejected();

 private:
  LabelValues labels_;
  Counter& success_;
  Counter& failure_;
  Counter& timeout_;
  Counter& rejected_;
  Counter& inferences_;
  Counter& executions_;
  Histogram& queue_;
  Histogram& compute_;
  Histogram& request_;
  Histogram& batch_size_;
};

}  // namespace infera
