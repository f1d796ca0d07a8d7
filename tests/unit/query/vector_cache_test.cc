#include "query/vector_cache.h"

#include <gtest/gtest.h>

namespace ragpdf::query {
namespace {

std::shared_ptr<const store::VectorSet> MakeSet(const std::string& id, std::size_t floats) {
  auto s = std::make_shared<store::VectorSet>();
  s->file_id = id;
  s->model = "m";
  s->dimension = 4;
  s->data.assign(floats, 1.0f);
  return s;
}

TEST(VectorCacheTest, EvictsLeastRecentlyUsedWithinBudget) {
  VectorCache cache(3 * 400 * sizeof(float));
  cache.Put(MakeSet("a", 400));
  cache.Put(MakeSet("b", 400));
  cache.Put(MakeSet("c", 400));
  ASSERT_NE(cache.Get("a", "m"), nullptr);  // a is now most recent
  cache.Put(MakeSet("d", 400));             // evicts b
  EXPECT_EQ(cache.Get("b", "m"), nullptr);
  EXPECT_NE(cache.Get("a", "m"), nullptr);
  EXPECT_NE(cache.Get("c", "m"), nullptr);
  EXPECT_NE(cache.Get("d", "m"), nullptr);
  EXPECT_EQ(cache.bytes(), 3 * 400 * sizeof(float));
}

TEST(VectorCacheTest, EraseAndReplace) {
  VectorCache cache(1 << 20);
  cache.Put(MakeSet("a", 8));
  cache.Put(MakeSet("a", 16));
  EXPECT_EQ(cache.bytes(), 16 * sizeof(float));
  EXPECT_EQ(cache.Get("a", "m")->data.size(), 16u);
  cache.Erase("a");
  EXPECT_EQ(cache.Get("a", "m"), nullptr);
  EXPECT_EQ(cache.bytes(), 0u);
}

TEST(VectorCacheTest, KeepsOneOversizedEntry) {
  VectorCache cache(16);
  cache.Put(MakeSet("big", 100));
  EXPECT_NE(cache.Get("big", "m"), nullptr);
}

}  // namespace
}  // namespace ragpdf::query
