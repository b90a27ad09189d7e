#include "tracing/span.h"

#include <gtest/gtest.h>

#include "tracing/span_queue.h"

namespace infera {
namespace {

SpanContext SampledContext() {
  SpanContext c;
  c.trace_id = NewTraceId();
  c.span_id = NewSpanId();
  c.flags = kTraceFlagSampled;
  return c;
}

std::vector<SpanData> Drain(SpanQueue& queue) {
  std::vector<SpanData> out;
  queue.PopBatch(1000, std::chrono::steady_clock::now(), &out);
  return out;
}

TEST(TraceSpanTest, RecordsAttributesEventsStatusOnce) {
  auto queue = std::make_shared<SpanQueue>(10);
  auto span =
      std::make_shared<TraceSpan>(SampledContext(), SpanId{}, "op", SpanKind::kServer, queue, 1000);
  EXPECT_TRUE(span->recording());
  span->SetAttribute("a", int64_t{1});
  span->SetAttribute("a", int64_t{2});  // replaces
  span->SetAttribute("b", std::string("x"));
  span->AddEvent("something", {{"k", true}});
  span->SetStatus(SpanStatusCode::kError, "broke");
  span->SetName("renamed");
  span->EndAt(5000);
  span->SetAttribute("late", 1.5);  // after End: ignored
  span->End();                      // a second End: ignored
  std::vector<SpanData> spans = Drain(*queue);
  ASSERT_EQ(spans.size(), 1u);
  const SpanData& d = spans[0];
  EXPECT_EQ(d.name, "renamed");
  EXPECT_EQ(d.kind, SpanKind::kServer);
  EXPECT_EQ(d.start_unix_nano, 1000);
  EXPECT_EQ(d.end_unix_nano, 5000);
  ASSERT_EQ(d.attributes.size(), 2u);
  EXPECT_EQ(std::get<int64_t>(d.attributes[0].value), 2);
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].name, "something");
  EXPECT_EQ(d.status, SpanStatusCode::kError);
  EXPECT_EQ(d.status_message, "broke");
}

TEST(TraceSpanTest, DestroyedUnendedSpanIsEnded) {
  auto queue = std::make_shared<SpanQueue>(10);
  {
    TraceSpan span(SampledContext(), SpanId{}, "forgotten", SpanKind::kInternal, queue,
                   NowUnixNano());
  }
  EXPECT_EQ(Drain(*queue).size(), 1u);
}

TEST(TraceSpanTest, NonRecordingSpanKeepsIdsButRecordsNothing) {
  SpanContext c = SampledContext();
  c.flags = 0;
  auto span = std::make_shared<TraceSpan>(c, SpanId{}, "op", SpanKind::kServer, nullptr, 0);
  EXPECT_FALSE(span->recording());
  EXPECT_EQ(span->traceparent(), FormatTraceparent(c));
  span->SetAttribute("a", int64_t{1});
  span->End();
  EXPECT_EQ(StartChildSpan(span, "child"), nullptr);
  EXPECT_EQ(StartChildSpan(std::shared_ptr<TraceSpan>(), "child"), nullptr);
  EXPECT_EQ(StartLinkedSpan({span.get(), nullptr}, "batch"), nullptr);
}

TEST(TraceSpanTest, ChildSharesTheTraceAndNamesItsParent) {
  auto queue = std::make_shared<SpanQueue>(10);
  auto parent = std::make_shared<TraceSpan>(SampledContext(), SpanId{}, "parent", SpanKind::kServer,
                                            queue, NowUnixNano());
  std::shared_ptr<TraceSpan> child = StartChildSpan(parent, "child", 42);
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->context().trace_id, parent->context().trace_id);
  EXPECT_NE(child->context().span_id, parent->context().span_id);
  child->EndAt(43);
  std::vector<SpanData> spans = Drain(*queue);
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].parent_span_id, parent->context().span_id);
  EXPECT_EQ(spans[0].start_unix_nano, 42);
}

TEST(TraceSpanTest, LinkedSpanStartsATraceLinkedToEveryServedSpan) {
  auto queue = std::make_shared<SpanQueue>(10);
  auto a = std::make_shared<TraceSpan>(SampledContext(), SpanId{}, "a", SpanKind::kServer, queue,
                                       NowUnixNano());
  SpanContext unsampled = SampledContext();
  unsampled.flags = 0;
  auto b = std::make_shared<TraceSpan>(unsampled, SpanId{}, "b", SpanKind::kServer, nullptr, 0);
  std::shared_ptr<TraceSpan> batch = StartLinkedSpan({a.get(), b.get()}, "batch");
  ASSERT_NE(batch, nullptr);
  EXPECT_NE(batch->context().trace_id, a->context().trace_id);
  batch->End();
  std::vector<SpanData> spans = Drain(*queue);
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_TRUE(IsZero(spans[0].parent_span_id));
  ASSERT_EQ(spans[0].links.size(), 2u);
  EXPECT_EQ(spans[0].links[0].context.span_id, a->context().span_id);
  EXPECT_EQ(spans[0].links[1].context.span_id, b->context().span_id);
}

TEST(TraceSpanTest, UnixNanoFromSteadyIsInThePast) {
  const auto earlier = std::chrono::steady_clock::now() - std::chrono::seconds(2);
  const int64_t now = NowUnixNano();
  const int64_t then = UnixNanoFromSteady(earlier);
  EXPECT_LE(then, now - 2'000'000'000LL + 1'000'000'000LL);  // at least ~1 s back
  EXPECT_GT(then, now - 60'000'000'000LL);
}

}  // namespace
}  // namespace infera
