#include "ingest/staging.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "ingest/blob_keys.h"

namespace ragpdf::ingest {
namespace {

namespace fs = std::filesystem;

TEST(StagingTest, StageFindRemove) {
  const fs::path root = fs::temp_directory_path() / ("ragpdf_staging_" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  const fs::path temp = root / "upload.tmp";
  std::ofstream(temp) << "bytes";
  Staging staging(root / "staging");
  auto staged = staging.Stage(temp, "abc", "holder-1");
  ASSERT_TRUE(staged) << staged.error().message;
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_EQ(staging.Find("abc"), *staged);
  EXPECT_FALSE(staging.Find("zzz").has_value());
  staging.Remove(*staged);
  EXPECT_FALSE(fs::exists(root / "staging" / "abc"));
  fs::remove_all(root);
}

TEST(BlobKeysTest, Layout) {
  EXPECT_EQ(RawKey("ab"), "raw/ab");
  EXPECT_EQ(EmbeddingsPrefix("ab"), "embeddings/ab/");
  EXPECT_EQ(EmbeddingsKey("ab", "org/model:v1"), "embeddings/ab/org_model_v1.f32");
}

}  // namespace
}  // namespace ragpdf::ingest
