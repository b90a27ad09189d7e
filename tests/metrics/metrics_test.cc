#include "metrics/metrics.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace infera {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

class MetricsDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST(MetricsTest, FormatsValuesLikePrometheusClients) {
  EXPECT_EQ(FormatMetricValue(0), "0");
  EXPECT_EQ(FormatMetricValue(-0.0), "0");
  EXPECT_EQ(FormatMetricValue(3), "3");
  EXPECT_EQ(FormatMetricValue(-1), "-1");
  EXPECT_EQ(FormatMetricValue(1458255915), "1458255915");
  EXPECT_EQ(FormatMetricValue(1e18), "1000000000000000000");
  EXPECT_EQ(FormatMetricValue(1e20), "1e+20");
  EXPECT_EQ(FormatMetricValue(0.005), "0.005");
  EXPECT_EQ(FormatMetricValue(0.1), "0.1");
  EXPECT_EQ(FormatMetricValue(2.5), "2.5");
  EXPECT_EQ(FormatMetricValue(-0.25), "-0.25");
  EXPECT_EQ(FormatMetricValue(1e-05), "1e-05");
  EXPECT_EQ(FormatMetricValue(0.0005), "0.0005");
  EXPECT_EQ(FormatMetricValue(0.0001), "0.0001");
  EXPECT_EQ(FormatMetricValue(0.00012), "0.00012");
  EXPECT_EQ(FormatMetricValue(1234567.5), "1234567.5");
  EXPECT_EQ(FormatMetricValue(1.5e20), "1.5e+20");
  EXPECT_EQ(FormatMetricValue(-2.5e-7), "-2.5e-07");
  EXPECT_EQ(FormatMetricValue(kInf), "+Inf");
  EXPECT_EQ(FormatMetricValue(-kInf), "-Inf");
  EXPECT_EQ(FormatMetricValue(std::nan("")), "NaN");
}

// The counter example of the text-format spec (without timestamps).
TEST(MetricsTest, ExposesCounterFamily) {
  MetricsRegistry registry;
  CounterFamily& requests = registry.AddCounter(
      "http_requests_total", "The total number of HTTP requests.", {"method", "code"});
  requests.Get({"post", "400"}).Increment(3);
  requests.Get({"post", "200"}).Increment(1000);
  requests.Get({"post", "200"}).Increment(27);
  requests.Get({"post", "200"}).Increment();
  EXPECT_EQ(requests.Get({"post", "200"}).value(), 1028);
  EXPECT_EQ(registry.Expose(),
            "# HELP http_requests_total The total number of HTTP requests.\n"
            "# TYPE http_requests_total counter\n"
            "http_requests_total{method=\"post\",code=\"200\"} 1028\n"
            "http_requests_total{method=\"post\",code=\"400\"} 3\n");
}

TEST(MetricsTest, UnlabelledFamiliesStartAtZeroAndFamiliesAreSortedByName) {
  MetricsRegistry registry;
  registry.AddGauge("z_temperature_celsius", "Temperature.", {}).Get({}).Set(-3.5);
  registry.AddCounter("a_events_total", "Events.", {});
  registry.AddGauge("m_labelled", "No children yet.", {"x"});
  EXPECT_EQ(registry.Expose(),
            "# HELP a_events_total Events.\n"
            "# TYPE a_events_total counter\n"
            "a_events_total 0\n"
            "# HELP m_labelled No children yet.\n"
            "# TYPE m_labelled gauge\n"
            "# HELP z_temperature_celsius Temperature.\n"
            "# TYPE z_temperature_celsius gauge\n"
            "z_temperature_celsius -3.5\n");
}

TEST(MetricsTest, GaugeSetAndAdd) {
  MetricsRegistry registry;
  Gauge& g = registry.AddGauge("queue_depth", "Queued requests.", {"model"}).Get({"m"});
  g.Set(10);
  g.Add(-2.5);
  g.Add(0.5);
  EXPECT_EQ(g.value(), 8);
  g.Set(kInf);
  EXPECT_EQ(registry.Expose(),
            "# HELP queue_depth Queued requests.\n"
            "# TYPE queue_depth gauge\n"
            "queue_depth{model=\"m\"} +Inf\n");
}

// The escaping example of the text-format spec, plus help escaping.
TEST(MetricsTest, EscapesLabelValuesAndHelp) {
  MetricsRegistry registry;
  registry
      .AddGauge("msdos_file_access_time_seconds",
                "Help with \\ backslash,\nnewline and \"quotes\".", {"path", "error"})
      .Get({"C:\\DIR\\FILE.TXT", "Cannot find file:\n\"FILE.TXT\""})
      .Set(1.458255915e9);
  EXPECT_EQ(registry.Expose(),
            "# HELP msdos_file_access_time_seconds Help with \\\\ backslash,\\nnewline and "
            "\"quotes\".\n"
            "# TYPE msdos_file_access_time_seconds gauge\n"
            "msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find "
            "file:\\n\\\"FILE.TXT\\\"\"} 1458255915\n");
}

// Shaped like the histogram example of the text-format spec.
TEST(MetricsTest, ExposesHistogramWithCumulativeBuckets) {
  MetricsRegistry registry;
  HistogramFamily& family =
      registry.AddHistogram("http_request_duration_seconds", "A histogram of the request duration.",
                            {}, {0.05, 0.1, 0.2, 0.5, 1});
  Histogram& h = family.Get({});
  for (double v : {0.03125, 0.0625, 0.125, 0.25, 0.5, 2.0}) h.Observe(v);  // 0.5: le inclusive
  EXPECT_EQ(registry.Expose(),
            "# HELP http_request_duration_seconds A histogram of the request duration.\n"
            "# TYPE http_request_duration_seconds histogram\n"
            "http_request_duration_seconds_bucket{le=\"0.05\"} 1\n"
            "http_request_duration_seconds_bucket{le=\"0.1\"} 2\n"
            "http_request_duration_seconds_bucket{le=\"0.2\"} 3\n"
            "http_request_duration_seconds_bucket{le=\"0.5\"} 5\n"
            "http_request_duration_seconds_bucket{le=\"1\"} 5\n"
            "http_request_duration_seconds_bucket{le=\"+Inf\"} 6\n"
            "http_request_duration_seconds_sum 2.96875\n"
            "http_request_duration_seconds_count 6\n");

  const HistogramSnapshot s = h.Snapshot();
  EXPECT_EQ(s.bounds, (std::vector<double>{0.05, 0.1, 0.2, 0.5, 1}));
  EXPECT_EQ(s.cumulative_counts, (std::vector<uint64_t>{1, 2, 3, 5, 5, 6}));
  EXPECT_EQ(s.sum, 2.96875);
  EXPECT_EQ(s.count, 6u);
  EXPECT_EQ(h.count(), 6u);
  EXPECT_EQ(h.sum(), 2.96875);
}

TEST(MetricsTest, LabelledHistogramPutsLeLastAndNaNInInfBucket) {
  MetricsRegistry registry;
  HistogramFamily& family =
      registry.AddHistogram("infer_seconds", "Inference latency.", {"model"}, {0.5, kInf});
  EXPECT_EQ(family.bounds(), std::vector<double>{0.5});  // trailing +Inf dropped
  family.Get({"b"}).Observe(0.25);
  family.Get({"a"}).Observe(std::nan(""));
  EXPECT_EQ(registry.Expose(),
            "# HELP infer_seconds Inference latency.\n"
            "# TYPE infer_seconds histogram\n"
            "infer_seconds_bucket{model=\"a\",le=\"0.5\"} 0\n"
            "infer_seconds_bucket{model=\"a\",le=\"+Inf\"} 1\n"
            "infer_seconds_sum{model=\"a\"} NaN\n"
            "infer_seconds_count{model=\"a\"} 1\n"
            "infer_seconds_bucket{model=\"b\",le=\"0.5\"} 1\n"
            "infer_seconds_bucket{model=\"b\",le=\"+Inf\"} 1\n"
            "infer_seconds_sum{model=\"b\"} 0.25\n"
            "infer_seconds_count{model=\"b\"} 1\n");
}

TEST(MetricsTest, RemoveStopsExportingButKeepsReferencesValid) {
  MetricsRegistry registry;
  CounterFamily& family = registry.AddCounter("loads_total", "Model loads.", {"model"});
  Counter& a = family.Get({"a"});
  family.Get({"b"}).Increment(2);
  a.Increment(5);
  family.Remove({"a"});
  family.Remove({"never_added"});  // no-op
  a.Increment();                   // still valid, no longer exported
  EXPECT_EQ(a.value(), 6);
  EXPECT_EQ(registry.Expose(),
            "# HELP loads_total Model loads.\n"
            "# TYPE loads_total counter\n"
            "loads_total{model=\"b\"} 2\n");
  Counter& a2 = family.Get({"a"});
  EXPECT_NE(&a2, &a);
  EXPECT_EQ(a2.value(), 0);
  EXPECT_EQ(registry.Expose(),
            "# HELP loads_total Model loads.\n"
            "# TYPE loads_total counter\n"
            "loads_total{model=\"a\"} 0\n"
            "loads_total{model=\"b\"} 2\n");

  GaugeFamily& gauges = registry.AddGauge("loaded", "Loaded models.", {"model"});
  gauges.Get({"x"}).Set(1);
  gauges.Remove({"x"});
  HistogramFamily& hists = registry.AddHistogram("h_seconds", "H.", {"model"}, {1});
  hists.Get({"x"}).Observe(1);
  hists.Remove({"x"});
  EXPECT_TRUE(gauges.Children().empty());
  EXPECT_TRUE(hists.Children().empty());
}

TEST(MetricsTest, CallbackGaugesAreComputedAtScrapeTime) {
  MetricsRegistry registry;
  int scrapes = 0;
  registry.AddGaugeCallback(
      "model_loaded", "Whether a model is loaded.", {"model", "version"}, [&scrapes] {
        ++scrapes;
        return std::vector<std::pair<LabelValues, double>>{
            {{"resnet", "2"}, 1}, {{"clip", "1"}, static_cast<double>(scrapes)}};
      });
  registry.AddGaugeCallback("uptime_seconds", "Uptime.", {}, [] {
    return std::vector<std::pair<LabelValues, double>>{{{}, 12.5}};
  });
  registry.AddGaugeCallback("nothing", "Empty.", {"x"},
                            [] { return std::vector<std::pair<LabelValues, double>>{}; });
  const std::string expected_prefix =
      "# HELP model_loaded Whether a model is loaded.\n"
      "# TYPE model_loaded gauge\n";
  EXPECT_EQ(registry.Expose(), expected_prefix +
                                   "model_loaded{model=\"clip\",version=\"1\"} 1\n"
                                   "model_loaded{model=\"resnet\",version=\"2\"} 1\n"
                                   "# HELP nothing Empty.\n"
                                   "# TYPE nothing gauge\n"
                                   "# HELP uptime_seconds Uptime.\n"
                                   "# TYPE uptime_seconds gauge\n"
                                   "uptime_seconds 12.5\n");
  EXPECT_EQ(registry.Expose(), expected_prefix +
                                   "model_loaded{model=\"clip\",version=\"1\"} 2\n"
                                   "model_loaded{model=\"resnet\",version=\"2\"} 1\n"
                                   "# HELP nothing Empty.\n"
                                   "# TYPE nothing gauge\n"
                                   "# HELP uptime_seconds Uptime.\n"
                                   "# TYPE uptime_seconds gauge\n"
                                   "uptime_seconds 12.5\n");
}

TEST(MetricsTest, CallbackMayUseTheRegistry) {
  MetricsRegistry registry;
  Counter& c = registry.AddCounter("c_total", "C.", {}).Get({});
  c.Increment(4);
  registry.AddGaugeCallback("d", "Derived.", {}, [&registry] {
    return std::vector<std::pair<LabelValues, double>>{
        {{}, registry.AddCounter("c_total", "C.", {}).Get({}).value() * 2}};
  });
  EXPECT_NE(registry.Expose().find("\nd 8\n"), std::string::npos);
}

TEST(MetricsTest, RegisteringTheSameFamilyTwiceReturnsTheSameObject) {
  MetricsRegistry registry;
  CounterFamily& c1 = registry.AddCounter("x_total", "X.", {"a"});
  CounterFamily& c2 = registry.AddCounter("x_total", "Other help is ignored.", {"a"});
  EXPECT_EQ(&c1, &c2);
  EXPECT_EQ(&c1.Get({"v"}), &c2.Get({"v"}));
  GaugeFamily& g1 = registry.AddGauge("g", "G.", {});
  EXPECT_EQ(&g1, &registry.AddGauge("g", "G.", {}));
  HistogramFamily& h1 = registry.AddHistogram("h", "H.", {}, LatencyBucketsSeconds());
  EXPECT_EQ(&h1, &registry.AddHistogram("h", "H.", {}, LatencyBucketsSeconds()));
  EXPECT_NE(registry.Expose().find("# HELP x_total X.\n"), std::string::npos);
}

TEST(MetricsTest, BucketHelpers) {
  EXPECT_EQ(ExponentialBuckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
  EXPECT_EQ(ExponentialBuckets(0.5, 10, 3), (std::vector<double>{0.5, 5, 50}));
  EXPECT_EQ(LatencyBucketsSeconds(), (std::vector<double>{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                          0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}));
  MetricsRegistry registry;
  registry.AddHistogram("lat_seconds", "L.", {}, LatencyBucketsSeconds());
  const std::string text = registry.Expose();
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"0.0005\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"2.5\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"10\"} 0\n"), std::string::npos);
}

TEST(MetricsTest, ConcurrentUpdatesAreExact) {
  MetricsRegistry registry;
  CounterFamily& counters = registry.AddCounter("ops_total", "Ops.", {"kind"});
  GaugeFamily& gauges = registry.AddGauge("level", "Level.", {"kind"});
  HistogramFamily& hists = registry.AddHistogram("op_seconds", "Op.", {"kind"}, {0.5});
  constexpr int kThreads = 8;
  constexpr int kIters = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIters; ++i) {
        counters.Get({"shared"}).Increment();
        gauges.Get({"shared"}).Add(1);
        hists.Get({"shared"}).Observe(t % 2 == 0 ? 0.25 : 1);
        if (i % 1000 == 0) {
          counters.Get({"t" + std::to_string(t)}).Increment(2);
          (void)registry.Expose();
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(counters.Get({"shared"}).value(), kThreads * kIters);
  EXPECT_EQ(gauges.Get({"shared"}).value(), kThreads * kIters);
  const HistogramSnapshot s = hists.Get({"shared"}).Snapshot();
  EXPECT_EQ(s.count, static_cast<uint64_t>(kThreads * kIters));
  EXPECT_EQ(s.cumulative_counts, (std::vector<uint64_t>{kThreads / 2 * kIters,
                                                        static_cast<uint64_t>(kThreads * kIters)}));
  EXPECT_EQ(s.sum, kThreads / 2 * kIters * 1.25);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(counters.Get({"t" + std::to_string(t)}).value(), 2 * kIters / 1000);
  }
}

TEST_F(MetricsDeathTest, InvalidNamesAbort) {
  MetricsRegistry registry;
  EXPECT_DEATH(registry.AddCounter("1abc", "h", {}), "invalid metric name \"1abc\"");
  EXPECT_DEATH(registry.AddCounter("a-b", "h", {}), "invalid metric name");
  EXPECT_DEATH(registry.AddCounter("", "h", {}), "invalid metric name");
  EXPECT_DEATH(registry.AddGauge("g", "h", {"a:b"}), "invalid label name \"a:b\"");
  EXPECT_DEATH(registry.AddGauge("g", "h", {"__x"}), "reserved");
  EXPECT_DEATH(registry.AddGauge("g", "h", {"a", "a"}), "duplicate label name");
  EXPECT_DEATH(registry.AddHistogram("h", "h", {"le"}, {1}), "label name \"le\" is reserved");
  EXPECT_DEATH(registry.AddHistogram("h", "h", {}, {1, 1}), "strictly increasing");
  EXPECT_DEATH(ExponentialBuckets(0, 2, 3), "ExponentialBuckets");
  // Valid edge cases.
  registry.AddCounter("a:b_c_total", "h", {"_x1"});
  registry.AddGauge("le", "h", {"le"});  // "le" only reserved for histograms
}

TEST_F(MetricsDeathTest, MismatchedReRegistrationAborts) {
  MetricsRegistry registry;
  registry.AddCounter("x_total", "X.", {"a"});
  registry.AddHistogram("h", "H.", {}, {1, 2});
  registry.AddGaugeCallback("cb", "Cb.", {},
                            [] { return std::vector<std::pair<LabelValues, double>>{}; });
  EXPECT_DEATH(registry.AddGauge("x_total", "X.", {"a"}), "already registered as counter");
  EXPECT_DEATH(registry.AddCounter("x_total", "X.", {"b"}), "already registered as counter");
  EXPECT_DEATH(registry.AddHistogram("h", "H.", {}, {1, 3}), "already registered with bounds");
  EXPECT_DEATH(registry.AddGauge("cb", "Cb.", {}), "registered twice");
  EXPECT_DEATH(
      registry.AddGaugeCallback("x_total", "X.", {"a"},
                                [] { return std::vector<std::pair<LabelValues, double>>{}; }),
      "registered twice");
}

TEST_F(MetricsDeathTest, WrongArityAndBadValuesAbort) {
  MetricsRegistry registry;
  CounterFamily& family = registry.AddCounter("x_total", "X.", {"a", "b"});
  EXPECT_DEATH(family.Get({"only_one"}), "has label names");
  EXPECT_DEATH(family.Remove({"1", "2", "3"}), "has label names");
  EXPECT_DEATH(family.Get({"1", "2"}).Increment(-1), "counter increment must be >= 0");
  EXPECT_DEATH(Histogram({2, 1}), "strictly increasing");
  registry.AddGaugeCallback("cb", "Cb.", {"a"}, [] {
    return std::vector<std::pair<LabelValues, double>>{{{"1", "2"}, 1}};
  });
  EXPECT_DEATH(registry.Expose(), "returned label values");
  MetricsRegistry dup;
  dup.AddGaugeCallback("cb", "Cb.", {"a"}, [] {
    return std::vector<std::pair<LabelValues, double>>{{{"1"}, 1}, {{"1"}, 2}};
  });
  EXPECT_DEATH(dup.Expose(), "twice");
}

// Runs the reference linter of the Prometheus project over a registry with every type.
TEST(MetricsTest, PromtoolAcceptsExposition) {
  if (access("/usr/bin/promtool", X_OK) != 0) GTEST_SKIP() << "/usr/bin/promtool not installed";
  MetricsRegistry registry;
  CounterFamily& requests = registry.AddCounter(
      "infera_requests_total", "Requests by \"model\" and code.\nSecond line.", {"model", "code"});
  requests.Get({"resnet", "200"}).Increment(7);
  requests.Get({"we\\ird \"model\"\nname", "500"}).Increment(0.5);
  registry.AddCounter("infera_errors_total", "Errors.", {});
  registry.AddGauge("infera_queue_depth", "Queued requests.", {"model"}).Get({"resnet"}).Set(3);
  registry.AddGauge("infera_temperature_celsius", "Temperature.", {}).Get({}).Set(-kInf);
  HistogramFamily& latency = registry.AddHistogram(
      "infera_request_duration_seconds", "Request latency.", {"model"}, LatencyBucketsSeconds());
  for (double v : {0.0001, 0.003, 0.2, 0.2, 7.0, 100.0}) latency.Get({"resnet"}).Observe(v);
  registry.AddHistogram("infera_image_bytes", "Image sizes.", {}, ExponentialBuckets(1024, 4, 6));
  registry.AddGaugeCallback("infera_model_loaded", "Loaded models.", {"model"}, [] {
    return std::vector<std::pair<LabelValues, double>>{{{"resnet"}, 1}, {{"clip"}, 0}};
  });
  registry.AddGaugeCallback("infera_empty_callback", "Empty callback.", {"model"},
                            [] { return std::vector<std::pair<LabelValues, double>>{}; });
  registry.AddGauge("infera_not_yet_used", "No children.", {"model"});

  const std::string text = registry.Expose();
  const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     ("infera_metrics_" + std::to_string(getpid()) + ".txt");
  {
    std::ofstream f(path, std::ios::binary);
    f << text;
  }
  const std::string command = "/usr/bin/promtool check metrics < '" + path.string() + "' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) output.append(buf, n);
  const int status = pclose(pipe);
  std::filesystem::remove(path);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << output << "\n--- input:\n" << text;
  EXPECT_EQ(output, "") << "--- input:\n" << text;
}

}  // namespace
}  // namespace infera
