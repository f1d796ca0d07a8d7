#include "embed/remote/retry_hints.h"

#include <gtest/gtest.h>

namespace ragpdf::embed::remote {
namespace {

using std::chrono::milliseconds;
using SysClock = std::chrono::system_clock;

// Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example date).
SysClock::time_point Example() { return SysClock::from_time_t(784111777); }

TEST(RetryAfter, DeltaSeconds) {
  EXPECT_EQ(ParseRetryAfter("2", Example()), milliseconds(2000));
  EXPECT_EQ(ParseRetryAfter(" 0 ", Example()), milliseconds(0));
  EXPECT_EQ(ParseRetryAfter("1.5", Example()), milliseconds(1500));
  EXPECT_EQ(ParseRetryAfter("120", Example()), milliseconds(120000));
}

TEST(RetryAfter, HttpDateInAllThreeFormats) {
  const auto now = Example() - std::chrono::seconds(30);
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now), milliseconds(30000));
  EXPECT_EQ(ParseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", now), milliseconds(30000));
  EXPECT_EQ(ParseRetryAfter("Sun Nov  6 08:49:37 1994", now), milliseconds(30000));
}

TEST(RetryAfter, DateInThePastIsZero) {
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", Example() + std::chrono::hours(1)),
            milliseconds(0));
}

TEST(RetryAfter, GarbageIsIgnored) {
  for (const char* v : {"", "soon", "-1", "1s", "Sun, 06 Nov 1994", "2 seconds", "0x10"}) {
    EXPECT_FALSE(ParseRetryAfter(v, Example())) << v;
  }
}

TEST(ResetDuration, GoDurations) {
  EXPECT_EQ(ParseResetDuration("1s"), milliseconds(1000));
  EXPECT_EQ(ParseResetDuration("6m0s"), milliseconds(360000));
  EXPECT_EQ(ParseResetDuration("20ms"), milliseconds(20));
  EXPECT_EQ(ParseResetDuration("1.5s"), milliseconds(1500));
  EXPECT_EQ(ParseResetDuration("1h2m3s"), milliseconds(3723000));
  EXPECT_EQ(ParseResetDuration("17.28s"), milliseconds(17280));
  EXPECT_EQ(ParseResetDuration("500us"), milliseconds(1));  // rounded up
  EXPECT_EQ(ParseResetDuration("0s"), milliseconds(0));
  EXPECT_EQ(ParseResetDuration("3"), milliseconds(3000));  // bare number: seconds
}

TEST(ResetDuration, GarbageIsIgnored) {
  for (const char* v : {"", "s", "1x", "1s2", "m1s", "-1s", "1 s"}) {
    EXPECT_FALSE(ParseResetDuration(v)) << v;
  }
}

TEST(ServerRetryDelay, TakesTheLongestHint) {
  HeaderMap h{{"retry-after", "1"}, {"retry-after-ms", "2500"}};
  EXPECT_EQ(ServerRetryDelay(h, 10, Example()), milliseconds(2500));
  h["x-ratelimit-reset-requests"] = "6s";
  EXPECT_EQ(ServerRetryDelay(h, 10, Example()), milliseconds(6000));
}

TEST(ServerRetryDelay, NoHints) {
  EXPECT_FALSE(ServerRetryDelay({}, 10, Example()));
  EXPECT_FALSE(ServerRetryDelay({{"retry-after", "later"}}, 10, Example()));
}

TEST(ServerRetryDelay, ResetHeadersCountOnlyWhenTheBudgetIsUsedUp) {
  HeaderMap h{{"x-ratelimit-reset-requests", "2s"},
              {"x-ratelimit-remaining-requests", "5"},
              {"x-ratelimit-reset-tokens", "3s"},
              {"x-ratelimit-remaining-tokens", "1000"}};
  EXPECT_FALSE(ServerRetryDelay(h, 500, Example()));                    // room for both
  EXPECT_EQ(ServerRetryDelay(h, 5000, Example()), milliseconds(3000));  // too few tokens
  h["x-ratelimit-remaining-requests"] = "0";
  EXPECT_EQ(ServerRetryDelay(h, 500, Example()), milliseconds(2000));
  h.erase("x-ratelimit-remaining-tokens");  // unknown remainder: assume used up
  EXPECT_EQ(ServerRetryDelay(h, 500, Example()), milliseconds(3000));
}

}  // namespace
}  // namespace ragpdf::embed::remote
