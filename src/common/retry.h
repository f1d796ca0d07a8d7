// Retry with exponential backoff and full jitter for transient errors
// (IsTransient): a busy database, a failed blob write.
// Thread-safety: stateless; the jitter source is thread-local.
#pragma once

#include <chrono>
#include <thread>

#include "common/async.h"
#include "common/error.h"

namespace ragpdf::common {

struct RetryPolicy {
  int max_attempts = 6;
  std::chrono::milliseconds base_delay{20};
  std::chrono::milliseconds max_delay{2000};
};

// Delay before attempt `attempt` (1-based retry count): uniform in
// [0, min(max_delay, base_delay * 2^(attempt-1))].
std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int attempt);

// Calls `fn()` (returning Result<T>) until it succeeds, fails with a
// non-transient error, or attempts run out. Blocks the calling thread between
// attempts: use only on worker pools, never on the I/O executor.
template <typename F>
auto RetryBlocking(const RetryPolicy& policy, F&& fn) -> decltype(fn()) {
  for (int attempt = 1;; ++attempt) {
    auto result = fn();
    if (result || !IsTransient(result.error().code) || attempt >= policy.max_attempts) {
      return result;
    }
    std::this_thread::sleep_for(BackoffDelay(policy, attempt));
  }
}

// Coroutine version: `fn()` returns awaitable<Result<T>>; waits on a timer.
template <typename F>
auto RetryAsync(RetryPolicy policy, F fn) -> decltype(fn()) {
  for (int attempt = 1;; ++attempt) {
    auto result = co_await fn();
    if (result || !IsTransient(result.error().code) || attempt >= policy.max_attempts) {
      co_return result;
    }
    co_await SleepFor(BackoffDelay(policy, attempt));
  }
}

}  // namespace ragpdf::common
