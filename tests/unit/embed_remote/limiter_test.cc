#include "embed/remote/limiter.h"

#include <gtest/gtest.h>

namespace ragpdf::embed::remote {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kFast{10};
constexpr milliseconds kSlow{10000};

AimdController Make(int min, int max) {
  return AimdController(
      AimdOptions{.min_limit = min, .max_limit = max, .latency_target = milliseconds(1000)});
}

void Succeed(AimdController& c, int n, milliseconds latency = kFast) {
  for (int i = 0; i < n; ++i) c.OnSuccess(latency);
}

TEST(Aimd, SlowStartGrowsByOnePerSuccessUpToMax) {
  auto c = Make(1, 10);
  EXPECT_EQ(c.limit(), 1);
  Succeed(c, 3);
  EXPECT_EQ(c.limit(), 4);
  Succeed(c, 100);
  EXPECT_EQ(c.limit(), 10);
}

TEST(Aimd, SlowSuccessesDoNotRaise) {
  auto c = Make(2, 10);
  Succeed(c, 50, kSlow);
  EXPECT_EQ(c.limit(), 2);
}

TEST(Aimd, OverloadHalvesThenRecoversFastThenProbesAdditively) {
  auto c = Make(1, 64);
  Succeed(c, 15);
  ASSERT_EQ(c.limit(), 16);
  const auto t0 = Clock::now();
  EXPECT_TRUE(c.OnOverload(t0, t0));
  EXPECT_EQ(c.limit(), 8);
  // Fast recovery to just below the level that overloaded (15).
  Succeed(c, 7);
  EXPECT_EQ(c.limit(), 15);
  // Then additive: one more per window of `limit` successes.
  Succeed(c, 14);
  EXPECT_EQ(c.limit(), 15);
  Succeed(c, 1);
  EXPECT_EQ(c.limit(), 16);
  Succeed(c, 16);
  EXPECT_EQ(c.limit(), 17);
}

TEST(Aimd, FailedProbesAtTheSameLevelBackOff) {
  auto c = Make(1, 64);
  Succeed(c, 15);
  auto t = Clock::now();
  auto overload = [&] {
    t += milliseconds(10);
    EXPECT_TRUE(c.OnOverload(t, t));
  };
  overload();  // at 16: level 15 holds
  Succeed(c, 7);
  ASSERT_EQ(c.limit(), 15);
  Succeed(c, 15);
  ASSERT_EQ(c.limit(), 16);  // probe after one window
  overload();                // fails: probe again only after two windows
  Succeed(c, 7);
  Succeed(c, 29);
  EXPECT_EQ(c.limit(), 15);
  Succeed(c, 1);
  ASSERT_EQ(c.limit(), 16);
  overload();  // four windows
  Succeed(c, 7 + 59);
  EXPECT_EQ(c.limit(), 15);
  Succeed(c, 1);
  ASSERT_EQ(c.limit(), 16);
  // Capacity dropped: an overload below the probing level resets the wait.
  overload();
  Succeed(c, 2);
  ASSERT_EQ(c.limit(), 10);
  overload();  // at 10: level 9, one window
  EXPECT_EQ(c.limit(), 5);
  Succeed(c, 4);
  ASSERT_EQ(c.limit(), 9);
  Succeed(c, 9);
  EXPECT_EQ(c.limit(), 10);
}

TEST(Aimd, OneDecreasePerRound) {
  auto c = Make(1, 64);
  Succeed(c, 31);
  ASSERT_EQ(c.limit(), 32);
  const auto t0 = Clock::now();
  const auto t1 = t0 + milliseconds(5);
  EXPECT_TRUE(c.OnOverload(t0, t1));
  EXPECT_EQ(c.limit(), 16);
  // Requests sent before the decrease report overload too: ignored.
  EXPECT_FALSE(c.OnOverload(t0, t1 + milliseconds(1)));
  EXPECT_FALSE(c.OnOverload(t0 + milliseconds(4), t1 + milliseconds(2)));
  EXPECT_EQ(c.limit(), 16);
  // One sent after it counts.
  EXPECT_TRUE(c.OnOverload(t1 + milliseconds(3), t1 + milliseconds(9)));
  EXPECT_EQ(c.limit(), 8);
}

TEST(Aimd, NeverBelowMin) {
  auto c = Make(3, 20);
  auto t = Clock::now();
  for (int i = 0; i < 10; ++i) {
    c.OnOverload(t, t);
    t += milliseconds(1);
  }
  EXPECT_EQ(c.limit(), 3);
}

TEST(Aimd, FixedWhenMinEqualsMax) {
  auto c = Make(4, 4);
  Succeed(c, 100);
  EXPECT_EQ(c.limit(), 4);
  const auto t = Clock::now();
  EXPECT_FALSE(c.OnOverload(t, t));
  EXPECT_EQ(c.limit(), 4);
}

// Event-driven simulation of a server that completes requests in 50 ms and
// answers 429 at once (1 ms) to any request beyond `kCapacity` in flight.
struct Simulation {
  static constexpr int kCapacity = 16;
  struct Pending {
    int done_at;
    int started;
    bool refused;
  };
  int ok = 0;
  int refused = 0;
  double busy_sum = 0;  // server-side requests in flight, summed per ms
  int busy_ms = 0;
};

Simulation Simulate(AimdController& c, int total_ms) {
  Simulation sim;
  std::vector<Simulation::Pending> pending;
  const auto t0 = Clock::now();
  for (int t = 0; t < total_ms; ++t) {
    for (auto it = pending.begin(); it != pending.end();) {
      if (it->done_at > t) {
        ++it;
        continue;
      }
      if (it->refused) {
        c.OnOverload(t0 + milliseconds(it->started), t0 + milliseconds(t));
      } else {
        c.OnSuccess(milliseconds(t - it->started));
      }
      it = pending.erase(it);
    }
    int serving = 0;
    for (const auto& p : pending) serving += p.refused ? 0 : 1;
    while (static_cast<int>(pending.size()) < c.limit()) {
      const bool refuse = serving >= Simulation::kCapacity;
      pending.push_back({t + (refuse ? 1 : 50), t, refuse});
      serving += refuse ? 0 : 1;
      (refuse ? sim.refused : sim.ok) += 1;
    }
    if (t >= total_ms / 2) {
      sim.busy_sum += serving;
      ++sim.busy_ms;
    }
  }
  return sim;
}

TEST(Aimd, SettlesJustUnderACapacityWithFew429s) {
  auto adaptive = Make(1, 64);
  const Simulation a = Simulate(adaptive, 20000);
  const double utilization = a.busy_sum / a.busy_ms / Simulation::kCapacity;
  EXPECT_GE(utilization, 0.85);
  EXPECT_LE(adaptive.limit(), 2 * Simulation::kCapacity);
  // A fixed limit of 64 keeps the server full too, but floods it with 429s.
  auto fixed = Make(64, 64);
  const Simulation f = Simulate(fixed, 20000);
  EXPECT_GT(f.refused, 0);
  EXPECT_LE(a.refused * 10, f.refused) << "adaptive " << a.refused << " fixed " << f.refused;
  EXPECT_LE(a.refused * 10, a.ok);
}

TEST(TokenBucket, BurstThenPaced) {
  const auto t0 = Clock::now();
  TokenBucket bucket(/*per_minute=*/600, /*capacity=*/3, t0);  // 10 per second
  for (int i = 0; i < 3; ++i) EXPECT_EQ(bucket.Reserve(1, t0), Clock::duration::zero());
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(bucket.Reserve(1, t0)), milliseconds(100));
  // Reservations queue: the next one waits behind the previous.
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(bucket.Reserve(1, t0)), milliseconds(200));
  // After 1 s the debt (2) is repaid and the level is back to the burst cap.
  const auto t1 = t0 + std::chrono::seconds(1);
  EXPECT_EQ(bucket.Reserve(1, t1), Clock::duration::zero());
}

TEST(TokenBucket, CostAboveCapacityWaitsForAFullBucketThenOverdraws) {
  const auto t0 = Clock::now();
  TokenBucket bucket(/*per_minute=*/6000, /*capacity=*/100, t0);  // 100 per second
  EXPECT_EQ(bucket.Reserve(250, t0), Clock::duration::zero());    // full: goes, level -150
  // The next needs 100 units on top of the debt of 150: 2.5 s of refill.
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(bucket.Reserve(100, t0)), milliseconds(2500));
}

TEST(TokenBucket, LongRunRate) {
  auto t = Clock::now();
  TokenBucket bucket(/*per_minute=*/1200, /*capacity=*/1, t);  // 20 per second
  auto last_due = t;
  for (int i = 0; i < 100; ++i) last_due = t + bucket.Reserve(1, t);
  // 100 reservations at 20/s: the last is due after ~4.95 s.
  const auto span = std::chrono::duration_cast<milliseconds>(last_due - t).count();
  EXPECT_NEAR(span, 4950, 5);
}

}  // namespace
}  // namespace ragpdf::embed::remote
