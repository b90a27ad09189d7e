#include "tracing/otlp_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace infera {
namespace {

TEST(OtlpJsonTest, FollowsTheOtlpJsonMapping) {
  SpanData s;
  s.context.trace_id = NewTraceId();
  s.context.span_id = NewSpanId();
  s.context.flags = kTraceFlagSampled;
  s.context.tracestate = "a=1";
  s.parent_span_id = NewSpanId();
  s.name = "POST /predict/{model}";
  s.kind = SpanKind::kServer;
  s.start_unix_nano = 1700000000123456789;
  s.end_unix_nano = 1700000000223456789;
  s.attributes = {{"http.response.status_code", int64_t{200}},
                  {"url.path", std::string("/predict/m")},
                  {"ratio", 0.5},
                  {"ok", true}};
  s.events = {SpanEvent{"e", 1700000000133456789, {}}};
  SpanLink link;
  link.context.trace_id = NewTraceId();
  link.context.span_id = NewSpanId();
  s.links = {link};
  s.status = SpanStatusCode::kError;
  s.status_message = "boom";
  SpanData root;
  root.context.trace_id = NewTraceId();
  root.context.span_id = NewSpanId();
  root.name = "root";

  const nlohmann::json j =
      nlohmann::json::parse(SpansToOtlpJson(OtlpResource{"svc", "1.2.3"}, {s, root}));
  ASSERT_EQ(j["resourceSpans"].size(), 1u);
  const auto& rs = j["resourceSpans"][0];
  bool service = false;
  for (const auto& a : rs["resource"]["attributes"]) {
    if (a["key"] == "service.name") service = a["value"]["stringValue"] == "svc";
  }
  EXPECT_TRUE(service);
  ASSERT_EQ(rs["scopeSpans"].size(), 1u);
  EXPECT_EQ(rs["scopeSpans"][0]["scope"]["name"], "infera");
  const auto& spans = rs["scopeSpans"][0]["spans"];
  ASSERT_EQ(spans.size(), 2u);
  const auto& o = spans[0];
  EXPECT_EQ(o["traceId"], ToHex(s.context.trace_id));  // hex, not base64
  EXPECT_EQ(o["spanId"], ToHex(s.context.span_id));
  EXPECT_EQ(o["parentSpanId"], ToHex(s.parent_span_id));
  EXPECT_EQ(o["traceState"], "a=1");
  EXPECT_EQ(o["kind"], 2);
  EXPECT_EQ(o["startTimeUnixNano"], "1700000000123456789");  // 64-bit ints as strings
  EXPECT_EQ(o["endTimeUnixNano"], "1700000000223456789");
  EXPECT_EQ(o["attributes"][0]["key"], "http.response.status_code");
  EXPECT_EQ(o["attributes"][0]["value"]["intValue"], "200");
  EXPECT_EQ(o["attributes"][1]["value"]["stringValue"], "/predict/m");
  EXPECT_EQ(o["attributes"][2]["value"]["doubleValue"], 0.5);
  EXPECT_EQ(o["attributes"][3]["value"]["boolValue"], true);
  EXPECT_EQ(o["events"][0]["timeUnixNano"], "1700000000133456789");
  EXPECT_EQ(o["links"][0]["traceId"], ToHex(link.context.trace_id));
  EXPECT_EQ(o["links"][0]["spanId"], ToHex(link.context.span_id));
  EXPECT_EQ(o["status"]["code"], 2);
  EXPECT_EQ(o["status"]["message"], "boom");
  // A root has no parentSpanId; an unset status and empty lists are left out.
  const auto& r = spans[1];
  EXPECT_FALSE(r.contains("parentSpanId"));
  EXPECT_FALSE(r.contains("status"));
  EXPECT_FALSE(r.contains("links"));
  EXPECT_FALSE(r.contains("traceState"));
}

TEST(OtlpJsonTest, InvalidUtf8IsReplaced) {
  SpanData s;
  s.context.trace_id = NewTraceId();
  s.context.span_id = NewSpanId();
  s.name = "bad \xff name";
  const std::string text = SpansToOtlpJson(OtlpResource{"svc", ""}, {s});
  EXPECT_FALSE(nlohmann::json::parse(text, nullptr, false).is_discarded());
}

}  // namespace
}  // namespace infera
