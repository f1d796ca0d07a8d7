// Flow control for one remote provider: how many requests may be in flight
// (AimdController, adaptive) and how fast they may start (TokenBucket, for
// requests_per_minute and tokens_per_minute quotas). Both are pure arithmetic
// over an injected clock; OpenAiEmbedder drives them with an AsyncSemaphore
// and timers.
//
// AIMD rule (TCP congestion control adapted to an API with a concurrency or
// rate cap):
// - the limit starts at min_limit and, until the first overload, grows by
//   one per success (slow start: it doubles per round trip);
// - an overload (HTTP 429 or a timeout) multiplies the limit by
//   decrease_factor (0.5), at most once per round: signals from requests
//   started before the last decrease are ignored, they were sent under the
//   old limit;
// - after a decrease the limit regains, by one per success, the level just
//   below the one that overloaded (fast recovery), then probes above it
//   additively: +1 per window of `limit` successes;
// - a probe that fails again just above that level doubles the windows to
//   wait before the next probe (up to kMaxProbeWindows), so against a steady
//   capacity 429s become rare instead of arriving every other round trip;
//   an overload at any other level resets it to one window;
// - a success slower than latency_target never raises the limit;
// - the limit stays within [min_limit, max_limit]; min == max is a fixed
//   concurrency.
//
// Thread-safety: not synchronized; the owner holds a mutex. Errors: none.
#pragma once

#include <chrono>
#include <cstdint>

namespace ragpdf::embed::remote {

using Clock = std::chrono::steady_clock;

inline constexpr int kMaxProbeWindows = 16;

struct AimdOptions {
  int min_limit = 1;
  int max_limit = 64;
  std::chrono::milliseconds latency_target{5000};
  double decrease_factor = 0.5;
};

class AimdController {
 public:
  explicit AimdController(AimdOptions options);

  int limit() const { return limit_; }
  // A request succeeded after `latency`.
  void OnSuccess(std::chrono::milliseconds latency);
  // A request that started at `started` was refused (429) or timed out at
  // `now`. Returns whether the limit was lowered.
  bool OnOverload(Clock::time_point started, Clock::time_point now);

 private:
  AimdOptions options_;
  int limit_;
  // Below this level the limit grows by one per success.
  int recovery_level_;
  int probe_windows_ = 1;  // windows of successes per +1 above recovery_level_
  int successes_ = 0;      // fast enough, since the limit last changed
  Clock::time_point last_decrease_ = Clock::time_point::min();
};

// Reservations against a quota of `per_minute` units per minute, refilled
// continuously, holding at most `capacity` units (the burst). A reservation
// larger than what is available is granted with a wait; the level can go
// negative so later reservations queue behind it, and the long-run rate
// stays at per_minute.
class TokenBucket {
 public:
  TokenBucket(double per_minute, double capacity, Clock::time_point now);

  // Takes `cost` units now and returns how long the caller must wait before
  // using them (zero when they were available).
  Clock::duration Reserve(double cost, Clock::time_point now);

 private:
  double rate_per_ns_;
  double capacity_;
  double level_;
  Clock::time_point last_;
};

}  // namespace ragpdf::embed::remote
