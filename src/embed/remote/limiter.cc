#include "embed/remote/limiter.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace ragpdf::embed::remote {

AimdController::AimdController(AimdOptions options)
    : options_(options), limit_(options.min_limit), recovery_level_(options.max_limit) {
  assert(options_.min_limit >= 1 && options_.min_limit <= options_.max_limit);
  assert(options_.decrease_factor > 0 && options_.decrease_factor < 1);
}

void AimdController::OnSuccess(std::chrono::milliseconds latency) {
  if (latency > options_.latency_target || limit_ >= options_.max_limit) return;
  const int window = limit_ < recovery_level_ ? 1 : limit_ * probe_windows_;
  if (++successes_ < window) return;
  ++limit_;
  successes_ = 0;
}

bool AimdController::OnOverload(Clock::time_point started, Clock::time_point now) {
  if (started < last_decrease_) return false;
  last_decrease_ = now;
  successes_ = 0;
  const bool failed_probe = limit_ == recovery_level_ + 1;
  probe_windows_ = failed_probe ? std::min(2 * probe_windows_, kMaxProbeWindows) : 1;
  recovery_level_ = std::max(options_.min_limit, limit_ - 1);
  const int lowered = static_cast<int>(std::floor(limit_ * options_.decrease_factor));
  const int previous = limit_;
  limit_ = std::clamp(lowered, options_.min_limit, options_.max_limit);
  return limit_ != previous;
}

TokenBucket::TokenBucket(double per_minute, double capacity, Clock::time_point now)
    : rate_per_ns_(per_minute / 60e9), capacity_(capacity), level_(capacity), last_(now) {
  assert(per_minute > 0 && capacity > 0);
}

Clock::duration TokenBucket::Reserve(double cost, Clock::time_point now) {
  if (now > last_) {
    const auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_).count();
    level_ = std::min(capacity_, level_ + static_cast<double>(elapsed) * rate_per_ns_);
    last_ = now;
  }
  // A cost above the burst waits only for a full bucket, then overdraws.
  const double needed = std::min(cost, capacity_);
  Clock::duration wait{0};
  if (level_ < needed) {
    wait = std::chrono::nanoseconds(
        static_cast<std::int64_t>(std::ceil((needed - level_) / rate_per_ns_)));
  }
  level_ -= cost;
  return wait;
}

}  // namespace ragpdf::embed::remote
