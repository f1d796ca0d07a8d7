#include "ingest/job_scheduler.h"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

namespace ragpdf::ingest {
namespace {

namespace asio = boost::asio;

TEST(JobSchedulerTest, BoundsRunningJobsAndServesInArrivalOrder) {
  asio::io_context io;
  LocalJobScheduler scheduler(2);
  std::vector<int> started;
  int running = 0, peak = 0;
  for (int i = 0; i < 6; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          JobTicket ticket{.file_id = std::to_string(i), .model = "m"};
          auto slot = co_await scheduler.Acquire(std::move(ticket));
          started.push_back(i);
          peak = std::max(peak, ++running);
          co_await common::SleepFor(std::chrono::milliseconds(2));
          --running;
        },
        asio::detached);
  }
  io.run();
  EXPECT_EQ(peak, 2);
  EXPECT_EQ(started, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(scheduler.running(), 0u);
  EXPECT_EQ(scheduler.queued(), 0u);
}

}  // namespace
}  // namespace ragpdf::ingest
