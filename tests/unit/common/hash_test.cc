#include "common/hash.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace ragpdf::common {
namespace {

TEST(HashTest, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(HashTest, StreamingEqualsOneShot) {
  Sha256 h;
  h.Update("a");
  h.Update("bc");
  EXPECT_EQ(h.HexDigest(), Sha256Hex("abc"));
}

TEST(HashTest, FileHash) {
  auto path = std::filesystem::temp_directory_path() / "ragpdf_hash_test.bin";
  { std::ofstream(path, std::ios::binary) << "abc"; }
  auto r = Sha256File(path);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, Sha256Hex("abc"));
  std::filesystem::remove(path);
  EXPECT_FALSE(Sha256File(path).has_value());
}

TEST(HashTest, IsFileId) {
  EXPECT_TRUE(IsFileId(Sha256Hex("x")));
  EXPECT_FALSE(IsFileId("abc"));
  EXPECT_FALSE(IsFileId(std::string(64, 'G')));
  EXPECT_FALSE(IsFileId(std::string(64, 'A')));
}

}  // namespace
}  // namespace ragpdf::common
