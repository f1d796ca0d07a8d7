#include <gtest/gtest.h>
#include <boost/asio/thread_pool.hpp>

#include "embed/embedder.h"
#include "embed/hashing_embedder.h"

namespace ragpdf::embed {
namespace {

std::shared_ptr<Embedder> Make(boost::asio::thread_pool& pool, std::string name) {
  HashingEmbedderOptions options;
  options.name = std::move(name);
  return std::make_shared<HashingEmbedder>(options, pool.get_executor());
}

TEST(EmbedderRegistryTest, FirstAddedIsDefault) {
  boost::asio::thread_pool pool(1);
  EmbedderRegistry registry;
  auto first = Make(pool, "first");
  auto second = Make(pool, "second");
  registry.Add(first);
  registry.Add(second);
  EXPECT_EQ(registry.Default(), first);
  ASSERT_EQ(registry.All().size(), 2u);
  EXPECT_EQ(registry.All()[1], second);

  auto resolved = registry.Resolve("");
  ASSERT_TRUE(resolved.has_value());
  EXPECT_EQ(*resolved, first);
  resolved = registry.Resolve("second");
  ASSERT_TRUE(resolved.has_value());
  EXPECT_EQ(*resolved, second);
  EXPECT_EQ(registry.Find("first"), first);
}

TEST(EmbedderRegistryTest, UnknownNameIsNotFound) {
  boost::asio::thread_pool pool(1);
  EmbedderRegistry registry;
  registry.Add(Make(pool, "only"));
  EXPECT_EQ(registry.Find("other"), nullptr);
  auto resolved = registry.Resolve("other");
  ASSERT_FALSE(resolved.has_value());
  EXPECT_EQ(resolved.error().code, common::ErrorCode::kNotFound);
  EXPECT_NE(resolved.error().message.find("other"), std::string::npos);
}

TEST(EmbedderRegistryTest, EmptyRegistryResolvesNothing) {
  EmbedderRegistry registry;
  auto resolved = registry.Resolve("");
  ASSERT_FALSE(resolved.has_value());
  EXPECT_EQ(resolved.error().code, common::ErrorCode::kNotFound);
  EXPECT_EQ(registry.Find("x"), nullptr);
}

}  // namespace
}  // namespace ragpdf::embed
