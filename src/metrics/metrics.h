// A small Prometheus metrics library: counters, gauges, histograms, labelled families of
// them, scrape-time gauge callbacks, and a registry that renders the Prometheus text
// exposition format 0.0.4.
//
// Programming errors abort the process with a message on stderr (they are bugs, not
// runtime conditions): an invalid metric or label name, re-registering a name with a
// different type / label names / buckets, a label-values vector whose size differs from
// the family's label names, a negative or NaN counter increment, unsorted histogram
// bounds, and a gauge callback returning wrong-arity or duplicate label values.
//
// Naming: metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*
// and must not start with "__"; histograms must not use the label name "le". By
// convention (not enforced) counter names end with "_total" and names carry the base unit
// ("_seconds", "_bytes"); `promtool check metrics` lints this.
//
// Thread-safety: every class here is safe to use from any number of threads at once.
// Lifetimes: families and children are owned by the registry; references returned by
// AddCounter/AddGauge/AddHistogram and by Family::Get stay valid until the registry is
// destroyed, even after Remove (see Remove).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/mutex.h"

namespace infera {

using LabelValues = std::vector<std::string>;

// A monotonically increasing value. Lock-free (atomic).
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // `v` must be >= 0 (a negative or NaN increment aborts).
  void Increment(double v = 1);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// A value that goes up and down. Lock-free (atomic).
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// A consistent copy of a histogram's state.
struct HistogramSnapshot {
  std::vector<double> bounds;  // upper bounds, ascending, without the implied +Inf
  // cumulative_counts[i] = observations <= bounds[i]; the last element (index
  // bounds.size()) is the +Inf bucket and equals `count`.
  std::vector<uint64_t> cumulative_counts;
  double sum = 0;
  uint64_t count = 0;
};

// Observations counted into cumulative buckets ("le" = less than or equal), plus their
// sum and count. Observe takes a short mutex (a bucket search and three additions), so
// snapshots are always consistent (+Inf bucket == count).
class Histogram {
 public:
  // `bounds` must be strictly increasing (NaN aborts); a trailing +Inf is dropped since
  // the +Inf bucket is always implied. Empty bounds give a single +Inf bucket.
  explicit Histogram(std::vector<double> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // NaN is counted in the +Inf bucket only (and makes the sum NaN), like the Go client.
  void Observe(double v);

  const std::vector<double>& bounds() const { return bounds_; }
  HistogramSnapshot Snapshot() const;
  uint64_t count() const;
  double sum() const;

 private:
  const std::vector<double> bounds_;
  mutable Mutex mu_;
  // Non-cumulative, bounds_.size() + 1 entries.
  std::vector<uint64_t> bucket_counts_ GUARDED_BY(mu_);
  double sum_ GUARDED_BY(mu_) = 0;
  uint64_t count_ GUARDED_BY(mu_) = 0;
};

namespace metrics_internal {

// Shared implementation of the labelled families: children keyed by label values.
template <typename T>
class Family {
 public:
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;
  virtual ~Family() = default;

  // Returns the child for `values` (one value per label name, in order; wrong arity
  // aborts), creating it (at zero) on first use. The reference stays valid for the
  // registry's lifetime.
  T& Get(const LabelValues& values);

  // Stops exporting the child for `values` (no-op when absent; wrong arity aborts).
  // References to it stay valid (the object is kept until the registry is destroyed),
  // but updates through them are no longer exported; a later Get for the same values
  // returns a new child starting at zero. Each removed child costs its memory until the
  // registry goes away, which is fine for rare events such as model unloads.
  void Remove(const LabelValues& values);

  const std::string& name() const { return name_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  // The exported children, sorted by label values. The pointers stay valid for the
  // registry's lifetime.
  std::vector<std::pair<LabelValues, const T*>> Children() const;

 protected:
  Family(std::string name, std::vector<std::string> label_names);
  virtual std::unique_ptr<T> NewChild() const = 0;

 private:
  void CheckArity(const LabelValues& values) const;

  const std::string name_;
  const std::vector<std::string> label_names_;
  mutable Mutex mu_;
  std::map<LabelValues, std::unique_ptr<T>> children_ GUARDED_BY(mu_);
  std::vector<std::unique_ptr<T>> removed_ GUARDED_BY(mu_);
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

}  // namespace metrics_internal

class MetricsRegistry;

// A family with no label names starts with its single child (Get({})) already created,
// so it is exported as 0 before first use.
class CounterFamily final : public metrics_internal::Family<Counter> {
 private:
  friend class MetricsRegistry;
  using Family::Family;
  std::unique_ptr<Counter> NewChild() const override { return std::make_unique<Counter>(); }
};

class GaugeFamily final : public metrics_internal::Family<Gauge> {
 private:
  friend class MetricsRegistry;
  using Family::Family;
  std::unique_ptr<Gauge> NewChild() const override { return std::make_unique<Gauge>(); }
};

// All children share the family's bucket bounds.
class HistogramFamily final : public metrics_internal::Family<Histogram> {
 public:
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  friend class MetricsRegistry;
  HistogramFamily(std::string name, std::vector<std::string> label_names,
                  std::vector<double> bounds);
  std::unique_ptr<Histogram> NewChild() const override {
    return std::make_unique<Histogram>(bounds_);
  }
  std::vector<double> bounds_;  // normalised (validated, trailing +Inf dropped)
};

// Owns metric families and renders them. Families cannot be unregistered.
class MetricsRegistry {
 public:
  using GaugeCollector = std::function<std::vector<std::pair<LabelValues, double>>()>;

  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registers a family; registering an existing name again returns the existing family
  // if type and label names (and bounds, for histograms) match, and aborts otherwise.
  // The help text of the first registration wins. The reference stays valid for the
  // registry's lifetime.
  CounterFamily& AddCounter(const std::string& name, const std::string& help,
                            std::vector<std::string> label_names);
  GaugeFamily& AddGauge(const std::string& name, const std::string& help,
                        std::vector<std::string> label_names);
  HistogramFamily& AddHistogram(const std::string& name, const std::string& help,
                                std::vector<std::string> label_names, std::vector<double> bounds);

  // A gauge whose values are computed at scrape time: `collect` returns (label values,
  // value) pairs. It is called by Expose without any registry lock held (so it may use
  // the registry), possibly from several threads at once, and must stay callable for the
  // registry's lifetime. Each label-values vector must have one value per label name and
  // appear once (otherwise Expose aborts). The name must not be registered already
  // (aborts otherwise: a callback cannot be shared or replaced).
  void AddGaugeCallback(const std::string& name, const std::string& help,
                        std::vector<std::string> label_names, GaugeCollector collect);

  // Renders every family in the Prometheus text exposition format 0.0.4, families sorted
  // by name: "# HELP", "# TYPE", then the samples sorted by label values (histograms as
  // _bucket{...,le="..."} cumulative counts, _sum, _count). A family with no children
  // shows only its HELP and TYPE lines.
  std::string Expose() const;

  // Content-Type for an HTTP response carrying Expose()'s output.
  static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  struct Entry;
  Entry& Register(const std::string& name, const std::string& help, int type,
                  std::vector<std::string> label_names, const std::vector<double>* bounds);

  mutable Mutex mu_;
  std::map<std::string, std::unique_ptr<Entry>> entries_ GUARDED_BY(mu_);
};

// `count` bounds: start, start*factor, start*factor^2, ... (start > 0, factor > 1,
// count >= 1; aborts otherwise).
std::vector<double> ExponentialBuckets(double start, double factor, int count);

// {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}.
const std::vector<double>& LatencyBucketsSeconds();

// A sample value (and "le" bound) as the text format spells it: integers without
// exponent where exact ("3", "-1", "1000000"), other finite values in shortest
// round-trip form, without exponent from 1e-4 up like Go's strconv 'g' ("0.0005",
// "0.005", "2.5", "1e-05", "1.5e+20"), and "+Inf", "-Inf", "NaN".
std::string FormatMetricValue(double v);

}  // namespace infera
