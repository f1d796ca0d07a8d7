#include "embed/local/safetensors.h"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ragpdf::embed::local {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = fs::path(::testing::TempDir()) /
            (std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
             ".safetensors");
  }
  void TearDown() override { fs::remove(path_); }

  // Writes the 8-byte length, `header` and `data` as given.
  void Write(const std::string& header, const std::string& data, std::uint64_t length_field) {
    std::ofstream out(path_, std::ios::binary);
    char length[8];
    std::memcpy(length, &length_field, 8);  // little-endian host
    out.write(length, 8);
    out << header << data;
  }
  void Write(const std::string& header, const std::string& data) {
    Write(header, data, header.size());
  }
  std::string OpenError() {
    auto file = SafetensorsFile::Open(path_);
    EXPECT_FALSE(file.has_value());
    return file ? "" : file.error().message;
  }

  fs::path path_;
};

std::string Bytes(const std::vector<std::uint16_t>& halves) {
  return {reinterpret_cast<const char*>(halves.data()), halves.size() * 2};
}

TEST_F(SafetensorsTest, ConvertsF32F16AndBf16) {
  const float f32[] = {1.5f, -2.25f};
  const std::string f32_bytes(reinterpret_cast<const char*>(f32), sizeof(f32));
  // F16: 1.0, -2.0, 65504 (max), 2^-24 (smallest subnormal), -0.0
  const std::string f16_bytes = Bytes({0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x3555});
  // BF16: 1.0, -3.0 (upper halves of the fp32 bit patterns)
  const std::string bf16_bytes = Bytes({0x3f80, 0xc040});
  const std::string header = R"({"__metadata__":{"format":"pt"},)"
                             R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("h":{"dtype":"F16","shape":[2,3],"data_offsets":[8,20]},)"
                             R"("b":{"dtype":"BF16","shape":[1,2],"data_offsets":[20,24]}})";
  Write(header, f32_bytes + f16_bytes + bf16_bytes);
  auto file = SafetensorsFile::Open(path_);
  ASSERT_TRUE(file.has_value()) << file.error().message;
  EXPECT_EQ(file->tensors().size(), 3u);

  const std::int64_t a_shape[] = {2};
  EXPECT_THAT(*file->ReadF32("a", a_shape), ElementsAre(1.5f, -2.25f));
  const std::int64_t h_shape[] = {2, 3};
  auto h = file->ReadF32("h", h_shape);
  ASSERT_TRUE(h.has_value());
  EXPECT_THAT(*h, ElementsAre(1.0f, -2.0f, 65504.0f, 5.9604645e-8f, -0.0f, 0.33325195f));
  EXPECT_TRUE(std::signbit((*h)[4]));
  const std::int64_t b_shape[] = {1, 2};
  EXPECT_THAT(*file->ReadF32("b", b_shape), ElementsAre(1.0f, -3.0f));
}

TEST_F(SafetensorsTest, WrongShapeAndMissingTensorAreNamed) {
  Write(R"({"w":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]}})", std::string(8, '\0'));
  auto file = SafetensorsFile::Open(path_);
  ASSERT_TRUE(file.has_value());
  const std::int64_t wrong[] = {1, 2};
  auto read = file->ReadF32("w", wrong);
  ASSERT_FALSE(read.has_value());
  EXPECT_EQ(read.error().code, common::ErrorCode::kBadRequest);
  EXPECT_THAT(read.error().message, AllOf(HasSubstr(path_.string()), HasSubstr("'w'"),
                                          HasSubstr("[2, 1]"), HasSubstr("[1, 2]")));
  auto missing = file->ReadF32("nope", wrong);
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().message, AllOf(HasSubstr("'nope'"), HasSubstr("missing")));
}

TEST_F(SafetensorsTest, UnsupportedDtypeIsRejectedOnRead) {
  Write(R"({"q":{"dtype":"I8","shape":[4],"data_offsets":[0,4]}})", "abcd");
  auto file = SafetensorsFile::Open(path_);
  ASSERT_TRUE(file.has_value());
  const std::int64_t shape[] = {4};
  auto read = file->ReadF32("q", shape);
  ASSERT_FALSE(read.has_value());
  EXPECT_THAT(read.error().message, AllOf(HasSubstr("'q'"), HasSubstr("dtype I8")));
}

TEST_F(SafetensorsTest, RejectsMalformedFiles) {
  Write("", "", 0);
  fs::resize_file(path_, 5);
  EXPECT_THAT(OpenError(), HasSubstr("too short"));

  Write("{}", "", 1000);
  EXPECT_THAT(OpenError(), HasSubstr("header length 1000 exceeds"));

  Write("{not json", "");
  EXPECT_THAT(OpenError(), HasSubstr("not a JSON object"));

  Write(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", std::string(8, '\0'));
  EXPECT_THAT(OpenError(), AllOf(HasSubstr("'w'"), HasSubstr("outside the data section")));

  Write(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0'));
  EXPECT_THAT(OpenError(), AllOf(HasSubstr("'w'"), HasSubstr("needs 12")));

  Write(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}})", std::string(8, '\0'));
  EXPECT_THAT(OpenError(), HasSubstr("negative"));

  Write(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})",
        std::string(8, '\0'));
  EXPECT_THAT(OpenError(), HasSubstr("larger than the file"));

  Write(R"({"w":{"dtype":"F32","shape":[2]}})", std::string(8, '\0'));
  EXPECT_THAT(OpenError(), HasSubstr("data_offsets"));

  fs::remove(path_);
  EXPECT_THAT(OpenError(), HasSubstr("cannot open"));
}

}  // namespace
}  // namespace ragpdf::embed::local
