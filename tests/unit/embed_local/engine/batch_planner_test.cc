#include "embed/local/batch_planner.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace ragpdf::embed::local {
namespace {

struct Drained {
  std::vector<PlannedBatch> batches;
  std::size_t padded = 0;
  std::size_t real = 0;
};

Drained Drain(BatchPlanner& planner) {
  Drained d;
  while (!planner.empty()) {
    PlannedBatch b = planner.Next();
    EXPECT_FALSE(b.items.empty());
    d.padded += b.padded_tokens();
    d.real += b.real_tokens;
    d.batches.push_back(std::move(b));
  }
  return d;
}

// Deterministic mixed lengths: mostly short chunks with long ones mixed in,
// as a mix of page-sized chunks and short table rows gives.
int MixedLength(std::uint32_t& x) {
  x = x * 1103515245u + 12345u;
  const std::uint32_t r = (x >> 8) % 100;
  if (r < 50) return 8 + static_cast<int>(r % 24);         // 8..31
  if (r < 80) return 64 + static_cast<int>((r * 7) % 64);  // 64..127
  return 200 + static_cast<int>((r * 13) % 57);            // 200..256
}

TEST(BatchPlannerTest, BatchesRespectTokenBudgetAndMaxRows) {
  BatchPlanner planner({.max_batch_tokens = 256, .max_batch_rows = 8});
  std::map<std::uint64_t, int> lengths;
  std::uint32_t x = 7;
  for (std::uint64_t id = 0; id < 300; ++id) {
    const int len = MixedLength(x) / 2;
    lengths[id] = len;
    planner.Push(id % 3 == 0 ? "a" : "b", id, len);
  }
  EXPECT_EQ(planner.size(), 300u);
  std::set<std::uint64_t> seen;
  const Drained d = Drain(planner);
  for (const auto& b : d.batches) {
    EXPECT_LE(b.items.size(), 8u);
    EXPECT_LE(b.padded_tokens(), 256u);
    int longest = 0;
    std::size_t real = 0;
    for (auto id : b.items) {
      EXPECT_TRUE(seen.insert(id).second) << "item " << id << " planned twice";
      longest = std::max(longest, lengths[id]);
      real += static_cast<std::size_t>(lengths[id]);
    }
    EXPECT_EQ(b.seq_len, longest);
    EXPECT_EQ(b.real_tokens, real);
  }
  EXPECT_EQ(seen.size(), 300u);
  EXPECT_EQ(planner.lanes(), 0u);
}

TEST(BatchPlannerTest, FullBatchesWhenLengthsAreEqual) {
  BatchPlanner planner({.max_batch_tokens = 1000, .max_batch_rows = 16});
  for (std::uint64_t id = 0; id < 64; ++id) planner.Push("a", id, 100);
  const Drained d = Drain(planner);
  ASSERT_EQ(d.batches.size(), 7u);  // 10 rows of 100 fill the budget
  for (std::size_t i = 0; i + 1 < d.batches.size(); ++i) EXPECT_EQ(d.batches[i].items.size(), 10u);
  EXPECT_EQ(d.padded, d.real);
}

TEST(BatchPlannerTest, ItemLongerThanBudgetGoesAlone) {
  BatchPlanner planner({.max_batch_tokens = 64, .max_batch_rows = 8});
  planner.Push("a", 1, 500);
  planner.Push("a", 2, 10);
  PlannedBatch first = planner.Next();
  ASSERT_EQ(first.items, std::vector<std::uint64_t>{1});
  EXPECT_EQ(first.seq_len, 500);
  EXPECT_EQ(planner.Next().items, std::vector<std::uint64_t>{2});
  EXPECT_TRUE(planner.Next().items.empty());
}

TEST(BatchPlannerTest, LengthGroupingPadsLessThanFifo) {
  auto fill = [](BatchPlanner& p) {
    std::uint32_t x = 12345;
    for (std::uint64_t id = 0; id < 2000; ++id) {
      p.Push("file" + std::to_string(id % 5), id, MixedLength(x));
    }
  };
  BatchPlanner grouped({.max_batch_tokens = 4096, .max_batch_rows = 32});
  BatchPlanner fifo({.max_batch_tokens = 4096, .max_batch_rows = 32, .group_by_length = false});
  fill(grouped);
  fill(fifo);
  const Drained g = Drain(grouped);
  const Drained f = Drain(fifo);
  EXPECT_EQ(g.real, f.real);
  EXPECT_LT(g.padded, f.padded);
  // Not a marginal gain: FIFO wastes far more than grouping on this mix.
  const double g_waste = 1.0 - static_cast<double>(g.real) / static_cast<double>(g.padded);
  const double f_waste = 1.0 - static_cast<double>(f.real) / static_cast<double>(f.padded);
  EXPECT_LT(g_waste, 0.2);
  EXPECT_GT(f_waste, 2 * g_waste);
}

TEST(BatchPlannerTest, FifoModeTakesItemsInQueueOrder) {
  BatchPlanner planner({.max_batch_tokens = 300, .max_batch_rows = 8, .group_by_length = false});
  const int lengths[] = {10, 100, 10, 100, 10};
  for (std::uint64_t id = 0; id < 5; ++id) planner.Push("a", id, lengths[id]);
  // 3 rows x 100 = 300 fits; a fourth row would not.
  EXPECT_EQ(planner.Next().items, (std::vector<std::uint64_t>{0, 1, 2}));
  EXPECT_EQ(planner.Next().items, (std::vector<std::uint64_t>{3, 4}));
}

TEST(BatchPlannerTest, SmallFileIsServedWithinTwoBatchesOfABigOne) {
  BatchPlanner planner({.max_batch_tokens = 2048, .max_batch_rows = 16});
  for (std::uint64_t id = 0; id < 1000; ++id) planner.Push("big", id, 100);
  planner.Push("small", 5000, 300);  // a different length: grouping alone would not pick it
  int served_at = -1;
  for (int batch = 0; !planner.empty(); ++batch) {
    const PlannedBatch b = planner.Next();
    if (std::find(b.items.begin(), b.items.end(), 5000u) != b.items.end()) {
      served_at = batch;
      break;
    }
  }
  EXPECT_EQ(served_at, 1);  // the big lane anchored batch 0, the small one batch 1
}

TEST(BatchPlannerTest, LanesTakeTurnsAsAnchor) {
  BatchPlanner planner({.max_batch_tokens = 100, .max_batch_rows = 1});
  for (std::uint64_t i = 0; i < 3; ++i) {
    planner.Push("a", 10 + i, 5);
    planner.Push("b", 20 + i, 5);
    planner.Push("c", 30 + i, 5);
  }
  std::vector<std::uint64_t> order;
  while (!planner.empty()) order.push_back(planner.Next().items.at(0));
  EXPECT_EQ(order, (std::vector<std::uint64_t>{10, 20, 30, 11, 21, 31, 12, 22, 32}));
}

TEST(BatchPlannerTest, LongItemIsNotStarvedByShortOnes) {
  BatchPlanner planner({.max_batch_tokens = 4096, .max_batch_rows = 8});
  planner.Push("a", 1, 400);  // at the head of its lane: anchors the first batch
  for (std::uint64_t id = 2; id < 200; ++id) planner.Push("a", id, 10);
  const PlannedBatch first = planner.Next();
  EXPECT_NE(std::find(first.items.begin(), first.items.end(), 1u), first.items.end());
}

TEST(BatchPlannerTest, PriorityLaneGoesFirstAndAlone) {
  BatchPlanner planner({.max_batch_tokens = 4096, .max_batch_rows = 64});
  for (std::uint64_t id = 0; id < 50; ++id) planner.Push("doc", id, 20);
  planner.Push("", 100, 20, /*priority=*/true);
  planner.Push("", 101, 12, /*priority=*/true);
  PlannedBatch first = planner.Next();
  std::sort(first.items.begin(), first.items.end());
  EXPECT_EQ(first.items, (std::vector<std::uint64_t>{100, 101}));
  const PlannedBatch second = planner.Next();
  EXPECT_EQ(second.items.size(), 50u);
  EXPECT_TRUE(planner.empty());
}

TEST(BatchPlannerTest, WindowDrawsFromEveryLane) {
  // With equal lengths, a batch mixes rows of all files in flight.
  BatchPlanner planner({.max_batch_tokens = 1 << 20, .max_batch_rows = 8, .window = 16});
  for (std::uint64_t id = 0; id < 40; ++id) planner.Push("a", id, 50);
  for (std::uint64_t id = 100; id < 140; ++id) planner.Push("b", id, 50);
  const PlannedBatch b = planner.Next();
  ASSERT_EQ(b.items.size(), 8u);
  const auto from_b =
      std::count_if(b.items.begin(), b.items.end(), [](auto id) { return id >= 100; });
  EXPECT_EQ(from_b, 4);
}

}  // namespace
}  // namespace ragpdf::embed::local
