#include "common/async.h"

#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

namespace ragpdf::common {
namespace {

TEST(AsyncTest, OffloadRunsOnPoolAndResumesOnCaller) {
  asio::io_context io;
  asio::thread_pool pool(2);
  const auto io_thread = std::this_thread::get_id();
  std::thread::id pool_thread, resumed_thread;
  int value = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        value = co_await Offload(pool.get_executor(), [&] {
          pool_thread = std::this_thread::get_id();
          return 7;
        });
        resumed_thread = std::this_thread::get_id();
      },
      asio::detached);
  io.run();
  pool.join();
  EXPECT_EQ(value, 7);
  EXPECT_NE(pool_thread, io_thread);
  EXPECT_EQ(resumed_thread, io_thread);
}

TEST(AsyncTest, SemaphoreBoundsConcurrency) {
  asio::io_context io;
  asio::thread_pool pool(4);
  AsyncSemaphore sem(2);
  std::atomic<int> running{0}, peak{0}, done{0};
  for (int i = 0; i < 10; ++i) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          auto permit = co_await AcquirePermit(sem);
          int now = ++running;
          int prev = peak.load();
          while (now > prev && !peak.compare_exchange_weak(prev, now)) {
          }
          co_await Offload(pool.get_executor(), [] {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            return 0;
          });
          --running;
          ++done;
        },
        asio::detached);
  }
  io.run();
  pool.join();
  EXPECT_EQ(done.load(), 10);
  EXPECT_EQ(peak.load(), 2);
  EXPECT_EQ(sem.in_use(), 0u);
}

TEST(AsyncTest, SemaphoreLimitCanGrow) {
  AsyncSemaphore sem(1);
  EXPECT_TRUE(sem.TryAcquire());
  EXPECT_FALSE(sem.TryAcquire());
  sem.SetLimit(2);
  EXPECT_TRUE(sem.TryAcquire());
  EXPECT_EQ(sem.in_use(), 2u);
}

TEST(AsyncTest, TaskGroupJoinWaitsForAll) {
  asio::io_context io;
  TaskGroup group(io.get_executor());
  int finished = 0;
  bool joined_after_all = false;
  for (int i = 0; i < 3; ++i) {
    group.Spawn([&, i]() -> asio::awaitable<void> {
      co_await SleepFor(std::chrono::milliseconds(5 * (i + 1)));
      ++finished;
    });
  }
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await group.Join();
        joined_after_all = finished == 3;
      },
      asio::detached);
  io.run();
  EXPECT_TRUE(joined_after_all);
  EXPECT_EQ(group.active(), 0u);
}

}  // namespace
}  // namespace ragpdf::common

namespace ragpdf::common {
namespace {

TEST(AsyncTest, WhenAllRunsConcurrentlyAndKeepsOrder) {
  asio::io_context io;
  std::vector<int> out;
  int running = 0, peak = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        std::vector<asio::awaitable<int>> tasks;
        for (int i = 0; i < 5; ++i) {
          tasks.push_back([](int v, int& running, int& peak) -> asio::awaitable<int> {
            peak = std::max(peak, ++running);
            co_await SleepFor(std::chrono::milliseconds(50 - v * 10));
            --running;
            co_return v* v;
          }(i, running, peak));
        }
        out = co_await WhenAll(std::move(tasks));
      },
      asio::detached);
  io.run();
  EXPECT_EQ(out, (std::vector<int>{0, 1, 4, 9, 16}));
  EXPECT_EQ(peak, 5);  // all five were waiting at once, not one after another
}

TEST(AsyncTest, WhenAllEmpty) {
  asio::io_context io;
  bool ran = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto r = co_await WhenAll(std::vector<asio::awaitable<int>>{});
        ran = r.empty();
      },
      asio::detached);
  io.run();
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace ragpdf::common
