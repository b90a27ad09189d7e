#include "tracing/span_log_scope.h"

#include <gtest/gtest.h>

#include <thread>

namespace infera {
namespace {

TEST(SpanLogScopeTest, LinesCarryTheSpansIds) {
  SpanContext c;
  c.trace_id = NewTraceId();
  c.span_id = NewSpanId();
  auto span = std::make_shared<TraceSpan>(c, SpanId{}, "op", SpanKind::kServer, nullptr, 0);
  const std::string want = " trace_id=" + ToHex(c.trace_id) + " span_id=" + ToHex(c.span_id);
  EXPECT_EQ(FormatLogLine(LogLevel::kError, "e", {{"k", "v"}}).find("trace_id="),
            std::string::npos);
  {
    SpanLogScope scope(span);
    const std::string line = FormatLogLine(LogLevel::kError, "e", {{"k", "v"}});
    EXPECT_TRUE(line.ends_with("k=v" + want)) << line;
    // Another thread's lines are not this scope's.
    std::string other;
    std::thread([&other] { other = FormatLogLine(LogLevel::kInfo, "x", {}); }).join();
    EXPECT_EQ(other.find("trace_id="), std::string::npos);
    // A field the call names itself wins.
    const std::string own = FormatLogLine(LogLevel::kInfo, "e", {{"trace_id", "mine"}});
    EXPECT_NE(own.find("trace_id=mine"), std::string::npos);
    EXPECT_EQ(own.find("trace_id=" + ToHex(c.trace_id)), std::string::npos);
    {
      SpanLogScope none(std::shared_ptr<TraceSpan>{});  // null: nothing changes
      EXPECT_TRUE(FormatLogLine(LogLevel::kError, "e", {}).ends_with(want));
    }
  }
  EXPECT_EQ(FormatLogLine(LogLevel::kError, "e", {}).find("trace_id="), std::string::npos);
}

}  // namespace
}  // namespace infera
