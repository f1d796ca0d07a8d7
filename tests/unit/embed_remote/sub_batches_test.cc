#include "embed/remote/sub_batches.h"

#include <gtest/gtest.h>

namespace ragpdf::embed::remote {
namespace {

// Every input is covered once, in order, and no batch breaks a limit unless
// it holds a single input.
void ExpectValid(const std::vector<SubBatch>& batches, const std::vector<int>& tokens,
                 std::size_t max_inputs, std::int64_t max_tokens) {
  std::size_t next = 0;
  for (const SubBatch& b : batches) {
    EXPECT_EQ(b.begin, next);
    ASSERT_GT(b.size(), 0u);
    EXPECT_LE(b.size(), max_inputs);
    std::int64_t sum = 0;
    for (std::size_t i = b.begin; i < b.end; ++i) sum += tokens[i];
    EXPECT_EQ(b.tokens, sum);
    if (b.size() > 1) {
      EXPECT_LE(sum, max_tokens);
    }
    next = b.end;
  }
  EXPECT_EQ(next, tokens.size());
}

TEST(SubBatches, ByCount) {
  std::vector<int> tokens(10, 1);
  auto batches = SplitIntoSubBatches(tokens, 4, 1000);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].size(), 4u);
  EXPECT_EQ(batches[1].size(), 4u);
  EXPECT_EQ(batches[2].size(), 2u);
  ExpectValid(batches, tokens, 4, 1000);
}

TEST(SubBatches, ByTokens) {
  std::vector<int> tokens = {40, 40, 30, 50, 10, 100, 1};
  auto batches = SplitIntoSubBatches(tokens, 100, 100);
  // [40 40] [30 50 10] [100] [1]
  ASSERT_EQ(batches.size(), 4u);
  EXPECT_EQ(batches[0].tokens, 80);
  EXPECT_EQ(batches[1].tokens, 90);
  EXPECT_EQ(batches[2].tokens, 100);
  EXPECT_EQ(batches[3].tokens, 1);
  ExpectValid(batches, tokens, 100, 100);
}

TEST(SubBatches, OversizedInputGoesAlone) {
  std::vector<int> tokens = {5, 500, 5};
  auto batches = SplitIntoSubBatches(tokens, 10, 100);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[1].begin, 1u);
  EXPECT_EQ(batches[1].tokens, 500);
  ExpectValid(batches, tokens, 10, 100);
}

TEST(SubBatches, EmptyAndOne) {
  EXPECT_TRUE(SplitIntoSubBatches({}, 10, 10).empty());
  std::vector<int> one = {3};
  auto batches = SplitIntoSubBatches(one, 1, 1);
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].tokens, 3);
}

TEST(SubBatches, PseudoRandomInputsAlwaysValid) {
  std::uint32_t x = 12345;
  for (int round = 0; round < 50; ++round) {
    std::vector<int> tokens(1 + round * 7);
    for (int& t : tokens) {
      x = x * 1103515245u + 12345u;
      t = static_cast<int>(x >> 16) % 300;
    }
    const std::size_t max_inputs = 1 + round % 9;
    const std::int64_t max_tokens = 50 + round * 13;
    ExpectValid(SplitIntoSubBatches(tokens, max_inputs, max_tokens), tokens, max_inputs,
                max_tokens);
  }
}

}  // namespace
}  // namespace ragpdf::embed::remote
