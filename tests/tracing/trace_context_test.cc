#include "tracing/trace_context.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace infera {
namespace {

constexpr char kGood[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceparentTest, ParsesTheSpecExample) {
  std::optional<SpanContext> c = ParseTraceparent(kGood);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(ToHex(c->trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(ToHex(c->span_id), "00f067aa0ba902b7");
  EXPECT_TRUE(c->sampled());
  EXPECT_EQ(FormatTraceparent(*c), kGood);
}

TEST(TraceparentTest, UnsampledFlag) {
  std::optional<SpanContext> c =
      ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(c.has_value());
  EXPECT_FALSE(c->sampled());
  // Other bits keep the sampled bit's meaning.
  c = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03");
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->sampled());
}

TEST(TraceparentTest, RejectsInvalidHeaders) {
  const char* bad[] = {
      "",
      "00",
      // lengths
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",  // 00 has no extra fields
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ",
      // upper case and non-hex
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
      "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01",
      // separators
      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
      // all-zero ids
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
      // version ff is invalid
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      // a future version's extra data must follow a '-'
      "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
  };
  for (const char* header : bad) {
    EXPECT_FALSE(ParseTraceparent(header).has_value()) << "'" << header << "'";
  }
}

TEST(TraceparentTest, FutureVersionsParseTheirFirstFields) {
  std::optional<SpanContext> c =
      ParseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-what-ever");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(ToHex(c->span_id), "00f067aa0ba902b7");
  EXPECT_EQ(c->flags, kTraceFlagSampled);  // unknown bits of a later version cleared
  EXPECT_TRUE(ParseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
}

TEST(TracestateTest, ValidListsAreKept) {
  std::optional<SpanContext> c =
      ParseTraceparent(kGood, "rojo=00f067aa0ba902b7, congo=t61rcWkgMzE");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->tracestate, "rojo=00f067aa0ba902b7, congo=t61rcWkgMzE");
  EXPECT_TRUE(IsValidTracestate(""));
  EXPECT_TRUE(IsValidTracestate("a=1"));
  EXPECT_TRUE(IsValidTracestate("tenant@vendor=x,b=2"));
  EXPECT_TRUE(IsValidTracestate("a=1,,b=2"));  // empty members are allowed
  EXPECT_TRUE(IsValidTracestate("a=with space inside"));
  EXPECT_TRUE(IsValidTracestate(" a=1 ,\tb=2 "));  // spaces and tabs around members
}

TEST(TracestateTest, InvalidListsAreDropped) {
  EXPECT_FALSE(IsValidTracestate("novalue"));
  EXPECT_FALSE(IsValidTracestate("A=1"));          // upper-case key
  EXPECT_FALSE(IsValidTracestate("1a=1"));         // simple key starts with a letter
  EXPECT_FALSE(IsValidTracestate("a="));           // empty value
  EXPECT_FALSE(IsValidTracestate("a=x=y"));        // '=' in value
  EXPECT_FALSE(IsValidTracestate("a=\x01"));       // not printable
  EXPECT_FALSE(IsValidTracestate("a=tab\there"));  // a tab inside a value
  EXPECT_FALSE(IsValidTracestate("t@=1"));         // empty system id
  EXPECT_FALSE(IsValidTracestate("t@toolongsystemid=1"));
  EXPECT_FALSE(IsValidTracestate(std::string("a=") + std::string(257, 'x')));
  std::string many;
  for (int i = 0; i < 33; ++i) many += "k" + std::to_string(i) + "=v,";
  EXPECT_FALSE(IsValidTracestate(many));
  std::optional<SpanContext> c = ParseTraceparent(kGood, "BAD=1");
  ASSERT_TRUE(c.has_value());  // the traceparent still counts
  EXPECT_EQ(c->tracestate, "");
}

TEST(TraceIdsTest, FreshIdsAreNonZeroAndDistinct) {
  std::set<std::string> traces;
  std::set<std::string> spans;
  for (int i = 0; i < 1000; ++i) {
    const TraceId t = NewTraceId();
    const SpanId s = NewSpanId();
    EXPECT_FALSE(IsZero(t));
    EXPECT_FALSE(IsZero(s));
    traces.insert(ToHex(t));
    spans.insert(ToHex(s));
  }
  EXPECT_EQ(traces.size(), 1000u);
  EXPECT_EQ(spans.size(), 1000u);
  const std::string hex = ToHex(NewTraceId());
  EXPECT_EQ(hex.size(), 32u);
  EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos);
}

}  // namespace
}  // namespace infera
