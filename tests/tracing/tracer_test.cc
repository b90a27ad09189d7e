#include "tracing/tracer.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <thread>

#include "metrics/metrics.h"
#include "support/otlp_receiver.h"
#include "support/status_matchers.h"

namespace infera {
namespace {

using testing::OtlpReceiver;
using testing::ReceivedSpan;

TracerOptions Options(const std::string& endpoint, double rate) {
  TracerOptions o;
  o.endpoint = endpoint;
  o.rate = rate;
  o.service_name = "tracer-test";
  o.export_interval = std::chrono::milliseconds(50);
  return o;
}

TEST(OtlpEndpointTest, Parses) {
  ASSERT_OK_AND_ASSIGN(OtlpEndpoint e, ParseOtlpEndpoint("http://collector:4318"));
  EXPECT_EQ(e.host, "collector");
  EXPECT_EQ(e.port, 4318);
  EXPECT_EQ(e.path, "/v1/traces");
  ASSERT_OK_AND_ASSIGN(e, ParseOtlpEndpoint("http://127.0.0.1:9/custom/traces"));
  EXPECT_EQ(e.port, 9);
  EXPECT_EQ(e.path, "/custom/traces");
  ASSERT_OK_AND_ASSIGN(e, ParseOtlpEndpoint("http://[::1]:4318/"));
  EXPECT_EQ(e.host, "::1");
  EXPECT_EQ(e.path, "/v1/traces");
  ASSERT_OK_AND_ASSIGN(e, ParseOtlpEndpoint("http://otel"));
  EXPECT_EQ(e.port, 4318);
  for (const char* bad : {"", "collector:4318", "https://c:4318", "http://:4318", "http://c:0",
                          "http://c:70000", "http://c:x", "http://u@c:1", "http://c:1/a?b"}) {
    EXPECT_FALSE(ParseOtlpEndpoint(bad).ok()) << bad;
  }
}

TEST(TracerTest, RejectsBadOptions) {
  EXPECT_FALSE(Tracer::Create(Options("ftp://x", 1), nullptr).ok());
  EXPECT_FALSE(Tracer::Create(Options("http://x:1", 1.5), nullptr).ok());
  EXPECT_FALSE(Tracer::Create(Options("http://x:1", -0.1), nullptr).ok());
}

TEST(TracerTest, ContinuesAnIncomingTraceparent) {
  ASSERT_OK_AND_ASSIGN(auto tracer, Tracer::Create(Options("http://127.0.0.1:9", 0.0), nullptr));
  const std::string incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  std::shared_ptr<TraceSpan> span = tracer->StartRequestSpan(incoming, "GET /x", "k=v");
  EXPECT_TRUE(span->recording());  // sampled parent: traced although the rate is 0
  EXPECT_EQ(ToHex(span->context().trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_NE(ToHex(span->context().span_id), "00f067aa0ba902b7");
  EXPECT_EQ(span->context().tracestate, "k=v");
  EXPECT_TRUE(span->traceparent().starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
  EXPECT_TRUE(span->traceparent().ends_with("-01"));
  // Unsampled parent: same trace, not recorded, flag 00 passed on.
  span = tracer->StartRequestSpan("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "x");
  EXPECT_FALSE(span->recording());
  EXPECT_TRUE(span->traceparent().ends_with("-00"));
  // Invalid header: a new trace, sampled by the rate (0 here).
  span = tracer->StartRequestSpan("garbage", "x");
  EXPECT_FALSE(span->recording());
  EXPECT_NE(ToHex(span->context().trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_FALSE(tracer->StartRootSpan("job")->recording());
}

TEST(TracerTest, ExportsToAReceiver) {
  OtlpReceiver receiver;
  MetricsRegistry metrics;
  ASSERT_OK_AND_ASSIGN(auto tracer, Tracer::Create(Options(receiver.endpoint(), 1.0), &metrics));
  std::shared_ptr<TraceSpan> root = tracer->StartRequestSpan(std::nullopt, "request");
  ASSERT_TRUE(root->recording());
  root->SetAttribute("http.route", std::string("/x"));
  std::shared_ptr<TraceSpan> child = StartChildSpan(root, "child");
  child->End();
  root->End();
  std::vector<ReceivedSpan> spans = receiver.WaitFor([](const auto& s) { return s.size() >= 2; });
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].service_name, "tracer-test");
  EXPECT_EQ(spans[0].name(), "child");
  EXPECT_EQ(spans[0].parent_span_id(), spans[1].span_id());
  EXPECT_EQ(spans[1].string_attribute("http.route"), "/x");
  EXPECT_EQ(spans[1].parent_span_id(), "");
  // The counter follows (the exporter counts after the answer it got).
  for (int i = 0; i < 500 && tracer->exported() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(tracer->exported(), 2u);
  EXPECT_NE(metrics.Expose().find("infera_tracing_spans_exported_total 2"), std::string::npos);
}

TEST(TracerTest, RefusedExportsAreCountedAsFailed) {
  OtlpReceiver receiver;
  receiver.set_status(503);
  MetricsRegistry metrics;
  ASSERT_OK_AND_ASSIGN(auto tracer, Tracer::Create(Options(receiver.endpoint(), 1.0), &metrics));
  tracer->StartRootSpan("job")->End();
  for (int i = 0; i < 500 && tracer->failed() < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(tracer->failed(), 1u);
  EXPECT_EQ(tracer->exported(), 0u);
  EXPECT_NE(metrics.Expose().find("infera_tracing_spans_failed_total 1"), std::string::npos);
}

TEST(TracerTest, AFullQueueDropsInsteadOfBlocking) {
  // A collector that accepts connections and never answers: the exporter's first batch
  // waits for its timeout while the spans keep coming.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor blackhole(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  TracerOptions options =
      Options("http://127.0.0.1:" + std::to_string(blackhole.local_endpoint().port()), 1.0);
  options.max_queue_spans = 4;
  options.max_export_batch = 4;
  options.export_timeout = std::chrono::milliseconds(500);
  MetricsRegistry metrics;
  ASSERT_OK_AND_ASSIGN(auto tracer, Tracer::Create(options, &metrics));
  for (int i = 0; i < 4; ++i) tracer->StartRootSpan("s")->End();
  // The exporter took the full batch of 4 and is now stuck; the queue takes 4 more.
  for (int i = 0; i < 500 && tracer->dropped() == 0; ++i) {
    tracer->StartRootSpan("s")->End();
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  EXPECT_GT(tracer->dropped(), 0u);
  EXPECT_NE(metrics.Expose().find("infera_tracing_spans_dropped_total"), std::string::npos);
}

}  // namespace
}  // namespace infera
