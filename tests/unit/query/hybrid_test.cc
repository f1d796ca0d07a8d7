#include "query/hybrid.h"

#include <gtest/gtest.h>

namespace ragpdf::query {
namespace {

TEST(HybridTest, FusesByReciprocalRank) {
  std::vector<RankedKey> vector_list = {{"a", 0, 0.9}, {"a", 1, 0.8}, {"b", 0, 0.7}};
  std::vector<RankedKey> keyword_list = {{"b", 0, 12.0}, {"a", 0, 3.0}};
  auto fused = ReciprocalRankFusion({vector_list, keyword_list}, 60.0);
  ASSERT_EQ(fused.size(), 3u);
  // a#0: 1/61 + 1/62; b#0: 1/63 + 1/61; a#1: 1/62.
  EXPECT_EQ(fused[0].file_id, "a");
  EXPECT_EQ(fused[0].chunk_index, 0);
  EXPECT_NEAR(fused[0].score, 1.0 / 61 + 1.0 / 62, 1e-12);
  EXPECT_EQ(fused[1].file_id, "b");
  EXPECT_NEAR(fused[1].score, 1.0 / 63 + 1.0 / 61, 1e-12);
  EXPECT_EQ(fused[2].chunk_index, 1);
}

TEST(HybridTest, EmptyListsAndSingleList) {
  EXPECT_TRUE(ReciprocalRankFusion({{}, {}}).empty());
  auto fused = ReciprocalRankFusion({{{"x", 3, 1.0}, {"x", 1, 0.5}}});
  ASSERT_EQ(fused.size(), 2u);
  EXPECT_EQ(fused[0].chunk_index, 3);
  EXPECT_GT(fused[0].score, fused[1].score);
}

}  // namespace
}  // namespace ragpdf::query
