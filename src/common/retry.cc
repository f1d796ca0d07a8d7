#include "common/retry.h"

#include <algorithm>
#include <random>

namespace ragpdf::common {

std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int attempt) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const int shift = std::clamp(attempt - 1, 0, 30);
  const auto cap =
      std::min<long long>(policy.max_delay.count(), policy.base_delay.count() * (1LL << shift));
  std::uniform_int_distribution<long long> dist(0, std::max<long long>(cap, 0));
  return std::chrono::milliseconds(dist(rng));
}

}  // namespace ragpdf::common
