#include "common/retry.h"

#include <gtest/gtest.h>

namespace ragpdf::common {
namespace {

TEST(RetryTest, BackoffIsBoundedAndGrows) {
  RetryPolicy p{.max_attempts = 5,
                .base_delay = std::chrono::milliseconds(10),
                .max_delay = std::chrono::milliseconds(50)};
  for (int i = 0; i < 200; ++i) {
    EXPECT_LE(BackoffDelay(p, 1).count(), 10);
    EXPECT_LE(BackoffDelay(p, 10).count(), 50);
    EXPECT_GE(BackoffDelay(p, 3).count(), 0);
  }
}

TEST(RetryTest, RetriesTransientThenSucceeds) {
  RetryPolicy p{.max_attempts = 5,
                .base_delay = std::chrono::milliseconds(1),
                .max_delay = std::chrono::milliseconds(2)};
  int calls = 0;
  auto r = RetryBlocking(p, [&]() -> Result<int> {
    if (++calls < 3) return Fail(ErrorCode::kStorageBusy, "busy");
    return 42;
  });
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(calls, 3);
}

TEST(RetryTest, StopsOnPermanentError) {
  RetryPolicy p{.max_attempts = 5, .base_delay = std::chrono::milliseconds(1)};
  int calls = 0;
  auto r = RetryBlocking(p, [&]() -> Result<int> {
    ++calls;
    return Fail(ErrorCode::kInvalidPdf, "bad");
  });
  EXPECT_FALSE(r.has_value());
  EXPECT_EQ(calls, 1);
}

TEST(RetryTest, GivesUpAfterMaxAttempts) {
  RetryPolicy p{.max_attempts = 4,
                .base_delay = std::chrono::milliseconds(1),
                .max_delay = std::chrono::milliseconds(1)};
  int calls = 0;
  auto r = RetryBlocking(p, [&]() -> Result<int> {
    ++calls;
    return Fail(ErrorCode::kBlobError, "disk");
  });
  EXPECT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kBlobError);
  EXPECT_EQ(calls, 4);
}

}  // namespace
}  // namespace ragpdf::common
