#include "metrics/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <set>
#include <string_view>

#include "common/strings.h"

namespace infera {
namespace {

[[noreturn]] void Fatal(const std::string& message) {
  std::fprintf(stderr, "infera metrics: programming error: %s\n", message.c_str());
  std::fflush(stderr);
  std::abort();
}

std::string Quoted(const std::vector<std::string>& items) {
  std::string out = "{";
  bool first = true;
  for (const std::string& item : items) {
    if (!first) out += ", ";
    first = false;
    out += StrCat("\"", item, "\"");
  }
  return out + "}";
}

bool IsMetricNameChar(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

bool IsLabelNameChar(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  return !first && c >= '0' && c <= '9';
}

void ValidateMetricName(const std::string& name) {
  bool ok = !name.empty();
  for (size_t i = 0; ok && i < name.size(); ++i) ok = IsMetricNameChar(name[i], i == 0);
  if (!ok)
    Fatal(StrCat("invalid metric name \"", name, "\" (must match [a-zA-Z_:][a-zA-Z0-9_:]*)"));
}

void ValidateLabelNames(const std::string& metric, const std::vector<std::string>& names,
                        bool histogram) {
  std::set<std::string> seen;
  for (const std::string& name : names) {
    bool ok = !name.empty();
    for (size_t i = 0; ok && i < name.size(); ++i) ok = IsLabelNameChar(name[i], i == 0);
    if (!ok) {
      Fatal(StrCat("metric \"", metric, "\": invalid label name \"", name,
                   "\" (must match [a-zA-Z_][a-zA-Z0-9_]*)"));
    }
    if (name.starts_with("__")) {
      Fatal(StrCat("metric \"", metric, "\": label name \"", name,
                   "\" is reserved (starts with \"__\")"));
    }
    if (histogram && name == "le") {
      Fatal(StrCat("histogram \"", metric, "\": label name \"le\" is reserved"));
    }
    if (!seen.insert(name).second) {
      Fatal(StrCat("metric \"", metric, "\": duplicate label name \"", name, "\""));
    }
  }
}

// Validates histogram bounds and drops a trailing +Inf.
std::vector<double> NormaliseBounds(std::vector<double> bounds) {
  if (!bounds.empty() && bounds.back() == std::numeric_limits<double>::infinity()) {
    bounds.pop_back();
  }
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (std::isnan(bounds[i]) || (i > 0 && !(bounds[i - 1] < bounds[i]))) {
      Fatal(StrCat("histogram bounds must be strictly increasing and not NaN, got ", "{",
                   StrJoin(bounds, ", "), "}"));
    }
  }
  return bounds;
}

void AppendEscaped(std::string& out, std::string_view s, bool quote) {
  for (char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '"':
        if (quote) {
          out += "\\\"";
        } else {
          out += c;
        }
        break;
      default:
        out += c;
    }
  }
}

// Appends `{a="x",b="y"}` (plus an extra label, e.g. le, when `extra_name` is set);
// nothing when there are no labels at all.
void AppendLabels(std::string& out, const std::vector<std::string>& names,
                  const LabelValues& values, std::string_view extra_name = {},
                  std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out += '{';
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    AppendEscaped(out, values[i], /*quote=*/true);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out += ',';
    out += extra_name;
    out += "=\"";
    AppendEscaped(out, extra_value, /*quote=*/true);
    out += '"';
  }
  out += '}';
}

void AppendSample(std::string& out, std::string_view name, std::string_view suffix,
                  const std::vector<std::string>& label_names, const LabelValues& values,
                  double value, std::string_view extra_name = {},
                  std::string_view extra_value = {}) {
  out += name;
  out += suffix;
  AppendLabels(out, label_names, values, extra_name, extra_value);
  out += ' ';
  out += FormatMetricValue(value);
  out += '\n';
}

enum Type { kCounter = 0, kGauge = 1, kHistogram = 2, kGaugeCallback = 3 };

const char* TypeName(int type) {
  switch (type) {
    case kCounter:
      return "counter";
    case kGauge:
      return "gauge";
    case kHistogram:
      return "histogram";
    default:
      return "gauge (callback)";
  }
}

}  // namespace

std::string FormatMetricValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::to_chars_result r;
  // Every integer-valued double below 2^63 in magnitude converts to int64 exactly.
  if (v == std::trunc(v) && std::fabs(v) < 9223372036854775808.0) {
    r = std::to_chars(buf, buf + sizeof(buf), static_cast<int64_t>(v));
  } else if (std::fabs(v) >= 1e-4 && std::fabs(v) < 1e16) {
    // Like Go's strconv 'g' (what the reference clients use): no exponent from 1e-4 up.
    r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  } else {
    r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  }
  return std::string(buf, r.ptr);
}

void Counter::Increment(double v) {
  if (!(v >= 0)) Fatal(StrCat("counter increment must be >= 0, got ", FormatMetricValue(v)));
  value_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(NormaliseBounds(std::move(bounds))), bucket_counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double v) {
  // First bound >= v ("le" is inclusive); NaN compares false everywhere, so place it in
  // the +Inf bucket explicitly.
  const size_t i = std::isnan(v)
                       ? bounds_.size()
                       : static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                             bounds_.begin());
  MutexLock lock(&mu_);
  ++bucket_counts_[i];
  sum_ += v;
  ++count_;
}

HistogramSnapshot Histogram::Snapshot() const {
  HistogramSnapshot s;
  s.bounds = bounds_;
  s.cumulative_counts.reserve(bounds_.size() + 1);
  MutexLock lock(&mu_);
  uint64_t total = 0;
  for (uint64_t c : bucket_counts_) {
    total += c;
    s.cumulative_counts.push_back(total);
  }
  s.sum = sum_;
  s.count = count_;
  return s;
}

uint64_t Histogram::count() const {
  MutexLock lock(&mu_);
  return count_;
}

double Histogram::sum() const {
  MutexLock lock(&mu_);
  return sum_;
}

namespace metrics_internal {

template <typename T>
Family<T>::Family(std::string name, std::vector<std::string> label_names)
    : name_(std::move(name)), label_names_(std::move(label_names)) {}

template <typename T>
void Family<T>::CheckArity(const LabelValues& values) const {
  if (values.size() != label_names_.size()) {
    Fatal(StrCat("metric \"", name_, "\" has label names ", Quoted(label_names_), " but got ",
                 values.size(), " label value(s) ", Quoted(values)));
  }
}

template <typename T>
T& Family<T>::Get(const LabelValues& values) {
  CheckArity(values);
  MutexLock lock(&mu_);
  auto it = children_.find(values);
  if (it == children_.end()) it = children_.emplace(values, NewChild()).first;
  return *it->second;
}

template <typename T>
void Family<T>::Remove(const LabelValues& values) {
  CheckArity(values);
  MutexLock lock(&mu_);
  auto it = children_.find(values);
  if (it == children_.end()) return;
  removed_.push_back(std::move(it->second));
  children_.erase(it);
}

template <typename T>
std::vector<std::pair<LabelValues, const T*>> Family<T>::Children() const {
  MutexLock lock(&mu_);
  std::vector<std::pair<LabelValues, const T*>> out;
  out.reserve(children_.size());
  for (const auto& [values, child] : children_) out.emplace_back(values, child.get());
  return out;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

}  // namespace metrics_internal

HistogramFamily::HistogramFamily(std::string name, std::vector<std::string> label_names,
                                 std::vector<double> bounds)
    : Family(std::move(name), std::move(label_names)),
      bounds_(NormaliseBounds(std::move(bounds))) {}

// Immutable once inserted into entries_ (families synchronise themselves).
struct MetricsRegistry::Entry {
  std::string name;
  std::string help;
  int type = kCounter;
  std::vector<std::string> label_names;
  std::unique_ptr<CounterFamily> counter;
  std::unique_ptr<GaugeFamily> gauge;
  std::unique_ptr<HistogramFamily> histogram;
  GaugeCollector collect;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Entry& MetricsRegistry::Register(const std::string& name, const std::string& help,
                                                  int type, std::vector<std::string> label_names,
                                                  const std::vector<double>* bounds) {
  ValidateMetricName(name);
  ValidateLabelNames(name, label_names, type == kHistogram);
  std::vector<double> normalised;
  if (bounds != nullptr) normalised = NormaliseBounds(*bounds);

  MutexLock lock(&mu_);
  auto it = entries_.find(name);
  if (it != entries_.end()) {
    Entry& e = *it->second;
    if (type == kGaugeCallback || e.type == kGaugeCallback) {
      Fatal(StrCat("metric \"", name, "\" registered twice (gauge callbacks cannot be shared)"));
    }
    if (e.type != type || e.label_names != label_names) {
      Fatal(StrCat("metric \"", name, "\" already registered as ", TypeName(e.type),
                   " with label names ", Quoted(e.label_names), "; cannot re-register as ",
                   TypeName(type), " with label names ", Quoted(label_names)));
    }
    if (type == kHistogram && e.histogram->bounds() != normalised) {
      Fatal(StrCat("histogram \"", name, "\" already registered with bounds {",
                   StrJoin(e.histogram->bounds(), ", "), "}; cannot re-register with {",
                   StrJoin(normalised, ", "), "}"));
    }
    return e;
  }

  auto e = std::make_unique<Entry>();
  e->name = name;
  e->help = help;
  e->type = type;
  e->label_names = label_names;
  switch (type) {
    case kCounter:
      e->counter.reset(new CounterFamily(name, std::move(label_names)));
      if (e->label_names.empty()) e->counter->Get({});
      break;
    case kGauge:
      e->gauge.reset(new GaugeFamily(name, std::move(label_names)));
      if (e->label_names.empty()) e->gauge->Get({});
      break;
    case kHistogram:
      e->histogram.reset(new HistogramFamily(name, std::move(label_names), std::move(normalised)));
      if (e->label_names.empty()) e->histogram->Get({});
      break;
    default:
      break;
  }
  return *entries_.emplace(name, std::move(e)).first->second;
}

CounterFamily& MetricsRegistry::AddCounter(const std::string& name, const std::string& help,
                                           std::vector<std::string> label_names) {
  return *Register(name, help, kCounter, std::move(label_names), nullptr).counter;
}

GaugeFamily& MetricsRegistry::AddGauge(const std::string& name, const std::string& help,
                                       std::vector<std::string> label_names) {
  return *Register(name, help, kGauge, std::move(label_names), nullptr).gauge;
}

HistogramFamily& MetricsRegistry::AddHistogram(const std::string& name, const std::string& help,
                                               std::vector<std::string> label_names,
                                               std::vector<double> bounds) {
  return *Register(name, help, kHistogram, std::move(label_names), &bounds).histogram;
}

void MetricsRegistry::AddGaugeCallback(const std::string& name, const std::string& help,
                                       std::vector<std::string> label_names,
                                       GaugeCollector collect) {
  if (!collect) Fatal(StrCat("gauge callback \"", name, "\" is empty"));
  // Validate before taking the lock inside Register; set `collect` under the lock so the
  // entry is complete before Expose can see it.
  ValidateMetricName(name);
  ValidateLabelNames(name, label_names, /*histogram=*/false);
  MutexLock lock(&mu_);
  if (entries_.count(name) != 0) {
    Fatal(StrCat("metric \"", name, "\" registered twice (gauge callbacks cannot be shared)"));
  }
  auto e = std::make_unique<Entry>();
  e->name = name;
  e->help = help;
  e->type = kGaugeCallback;
  e->label_names = std::move(label_names);
  e->collect = std::move(collect);
  entries_.emplace(name, std::move(e));
}

std::string MetricsRegistry::Expose() const {
  std::vector<const Entry*> entries;
  {
    MutexLock lock(&mu_);
    entries.reserve(entries_.size());
    for (const auto& [name, entry] : entries_) entries.push_back(entry.get());
  }

  std::string out;
  for (const Entry* e : entries) {
    const std::string& name = e->name;
    out += StrCat("# HELP ", name, " ");
    AppendEscaped(out, e->help, /*quote=*/false);
    out += StrCat("\n# TYPE ", name, " ",
                  e->type == kCounter     ? "counter"
                  : e->type == kHistogram ? "histogram"
                                          : "gauge",
                  "\n");
    switch (e->type) {
      case kCounter:
        for (const auto& [values, c] : e->counter->Children()) {
          AppendSample(out, name, "", e->label_names, values, c->value());
        }
        break;
      case kGauge:
        for (const auto& [values, g] : e->gauge->Children()) {
          AppendSample(out, name, "", e->label_names, values, g->value());
        }
        break;
      case kHistogram:
        for (const auto& [values, h] : e->histogram->Children()) {
          const HistogramSnapshot s = h->Snapshot();
          for (size_t i = 0; i <= s.bounds.size(); ++i) {
            const double le =
                i < s.bounds.size() ? s.bounds[i] : std::numeric_limits<double>::infinity();
            AppendSample(out, name, "_bucket", e->label_names, values,
                         static_cast<double>(s.cumulative_counts[i]), "le", FormatMetricValue(le));
          }
          AppendSample(out, name, "_sum", e->label_names, values, s.sum);
          AppendSample(out, name, "_count", e->label_names, values, static_cast<double>(s.count));
        }
        break;
      case kGaugeCallback: {
        std::vector<std::pair<LabelValues, double>> samples = e->collect();
        std::sort(samples.begin(), samples.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        for (size_t i = 0; i < samples.size(); ++i) {
          if (samples[i].first.size() != e->label_names.size()) {
            Fatal(StrCat("gauge callback \"", name, "\" has label names ", Quoted(e->label_names),
                         " but returned label values ", Quoted(samples[i].first)));
          }
          if (i > 0 && samples[i].first == samples[i - 1].first) {
            Fatal(StrCat("gauge callback \"", name, "\" returned label values ",
                         Quoted(samples[i].first), " twice"));
          }
          AppendSample(out, name, "", e->label_names, samples[i].first, samples[i].second);
        }
        break;
      }
    }
  }
  return out;
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  if (!(start > 0) || !(factor > 1) || count < 1 || std::isinf(start) || std::isinf(factor)) {
    Fatal(StrCat("ExponentialBuckets needs start > 0, factor > 1, count >= 1; got start=",
                 FormatMetricValue(start), " factor=", FormatMetricValue(factor),
                 " count=", count));
  }
  std::vector<double> out;
  out.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    out.push_back(start);
    start *= factor;
  }
  return out;
}

const std::vector<double>& LatencyBucketsSeconds() {
  static const std::vector<double>* const kBuckets = new std::vector<double>{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return *kBuckets;
}

}  // namespace infera
