#include "tracing/sampler.h"

#include <gtest/gtest.h>

namespace infera {
namespace {

TEST(SamplerTest, RateZeroAndOne) {
  Sampler never(0.0);
  Sampler always(1.0);
  for (int i = 0; i < 200; ++i) {
    const TraceId id = NewTraceId();
    EXPECT_FALSE(never.ShouldSample(nullptr, id));
    EXPECT_TRUE(always.ShouldSample(nullptr, id));
  }
}

TEST(SamplerTest, ParentDecides) {
  SpanContext sampled;
  sampled.trace_id = NewTraceId();
  sampled.span_id = NewSpanId();
  sampled.flags = kTraceFlagSampled;
  SpanContext unsampled = sampled;
  unsampled.flags = 0;
  // A propagated sampled parent is traced even at rate 0; an unsampled one never.
  EXPECT_TRUE(Sampler(0.0).ShouldSample(&sampled, sampled.trace_id));
  EXPECT_FALSE(Sampler(1.0).ShouldSample(&unsampled, unsampled.trace_id));
}

TEST(SamplerTest, RatioFollowsTheTraceId) {
  Sampler tenth(0.1);
  TraceId low{};
  low[15] = 1;  // low 64 bits: 1, below any positive threshold
  TraceId high{};
  for (size_t i = 8; i < 16; ++i) high[i] = 0xff;
  EXPECT_TRUE(tenth.ShouldSample(nullptr, low));
  EXPECT_FALSE(tenth.ShouldSample(nullptr, high));
  int sampled = 0;
  for (int i = 0; i < 20000; ++i) sampled += tenth.ShouldSample(nullptr, NewTraceId()) ? 1 : 0;
  // 2000 expected; a binomial's 6 sigma is ~250.
  EXPECT_GT(sampled, 1700);
  EXPECT_LT(sampled, 2300);
  // The same id gets the same answer.
  const TraceId id = NewTraceId();
  EXPECT_EQ(tenth.ShouldSample(nullptr, id), tenth.ShouldSample(nullptr, id));
}

TEST(SamplerTest, ClampsTheRate) {
  EXPECT_EQ(Sampler(-1).rate(), 0.0);
  EXPECT_EQ(Sampler(7).rate(), 1.0);
}

}  // namespace
}  // namespace infera
