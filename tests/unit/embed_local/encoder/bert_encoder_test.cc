#include "embed/local/bert_encoder.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "embed/local/gemm.h"
#include "reference_models.h"

namespace ragpdf::embed::local {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::ReferenceCase;
using testing::ReferenceCaseNamed;
using testing::ReferenceCases;

constexpr float kTolerance = 1e-4f;

std::unique_ptr<BertEncoder> LoadOrDie(const fs::path& dir, EncoderOptions options) {
  auto encoder = BertEncoder::Load(dir, options);
  EXPECT_TRUE(encoder.has_value()) << (encoder ? "" : encoder.error().message);
  return encoder ? std::move(*encoder) : nullptr;
}

std::vector<float> Encode(BertEncoder& encoder, const TokenBatch& batch) {
  std::vector<float> out(batch.rows() * encoder.config().hidden_size);
  auto ok = encoder.Forward(batch, out);
  EXPECT_TRUE(ok.has_value()) << (ok ? "" : ok.error().message);
  return out;
}

// Per component: |got - want| <= tolerance, scaled by the row's largest
// reference value for un-normalized outputs (a relative tolerance).
void ExpectClose(const std::vector<float>& got, const std::vector<float>& want, int hidden,
                 bool normalized, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t row = 0; row * hidden < want.size(); ++row) {
    const auto begin = want.begin() + static_cast<std::ptrdiff_t>(row * hidden);
    float scale = 1.0f;
    if (!normalized) {
      for (auto it = begin; it != begin + hidden; ++it) scale = std::max(scale, std::fabs(*it));
    }
    float worst = 0;
    for (int j = 0; j < hidden; ++j) {
      worst = std::max(worst, std::fabs(got[row * hidden + j] - want[row * hidden + j]));
    }
    EXPECT_LE(worst, kTolerance * scale) << what << " row " << row;
  }
}

struct Variant {
  const char* name;
  EncoderOptions options;
};

std::vector<Variant> Variants() {
  std::vector<Variant> variants;
  if (CpuHasAvx512()) {
    variants.push_back({"avx512, 2 threads", {.threads = 2, .allow_avx512 = true}});
    variants.push_back({"avx512, 1 thread", {.threads = 1, .allow_avx512 = true}});
  }
  variants.push_back({"openblas", {.threads = 2, .allow_avx512 = false}});
  return variants;
}

TEST(BertEncoderTest, MatchesPyTorchOnEveryShape) {
  const auto& cases = ReferenceCases();
  ASSERT_FALSE(cases.empty());
  int compared = 0;
  for (const ReferenceCase& c : cases) {
    if (c.batches.empty()) continue;
    for (const Variant& variant : Variants()) {
      auto encoder = LoadOrDie(c.dir, variant.options);
      ASSERT_NE(encoder, nullptr) << c.name;
      for (std::size_t b = 0; b < c.batches.size(); ++b) {
        const auto& ref = c.batches[b];
        ExpectClose(Encode(*encoder, ref.batch), ref.expected, encoder->config().hidden_size,
                    c.normalized,
                    c.name + " batch " + std::to_string(b) + " (" + variant.name + ")");
        ++compared;
      }
    }
  }
  EXPECT_GE(compared, 10);
}

// The references differ between rows and are not tiny, so the comparison
// above can fail.
TEST(BertEncoderTest, ReferencesAreNotDegenerate) {
  const ReferenceCase& c = ReferenceCaseNamed("mean_f32_h60");
  ASSERT_FALSE(c.batches.empty());
  const auto& expected = c.batches[0].expected;
  const int hidden = 60;
  float row_difference = 0;
  for (int j = 0; j < hidden; ++j) {
    row_difference = std::max(row_difference, std::fabs(expected[j] - expected[hidden + j]));
  }
  EXPECT_GT(row_difference, 0.05f);
}

TEST(BertEncoderTest, ReadsPoolingAndActivationFromTheModelFiles) {
  auto mean = LoadOrDie(ReferenceCaseNamed("mean_f32_h60").dir, {});
  ASSERT_NE(mean, nullptr);
  EXPECT_EQ(mean->config().pooling, Pooling::kMean);
  EXPECT_TRUE(mean->config().normalize);
  EXPECT_EQ(mean->config().hidden_size, 60);
  EXPECT_EQ(mean->config().num_attention_heads, 5);
  EXPECT_EQ(mean->config().intermediate_size, 100);
  EXPECT_EQ(mean->config().num_hidden_layers, 2);
  EXPECT_EQ(mean->config().max_position_embeddings, 160);
  EXPECT_EQ(mean->config().vocab_size, 120);

  auto cls = LoadOrDie(ReferenceCaseNamed("cls_tanh_h96").dir, {});
  ASSERT_NE(cls, nullptr);
  EXPECT_EQ(cls->config().pooling, Pooling::kCls);
  EXPECT_EQ(cls->config().hidden_act, "gelu_new");
  EXPECT_FLOAT_EQ(cls->config().layer_norm_eps, 1e-5f);

  auto raw = LoadOrDie(ReferenceCaseNamed("cls_f16_h36_raw").dir, {});
  ASSERT_NE(raw, nullptr);
  EXPECT_FALSE(raw->config().normalize);
}

// Tokens only see their own row, and work is split by rows and heads only:
// a row's embedding is bit-for-bit the same alone, in any batch, with any
// thread count.
TEST(BertEncoderTest, RowsAreIndependentOfBatchAndThreads) {
  const ReferenceCase& c = ReferenceCaseNamed("mean_bf16_h64_3layers");
  ASSERT_FALSE(c.batches.empty());
  const TokenBatch& batch = c.batches[0].batch;
  const int hidden = 64;
  for (const Variant& variant : Variants()) {
    if (!variant.options.allow_avx512) continue;  // OpenBLAS may block by shape
    auto encoder = LoadOrDie(c.dir, variant.options);
    ASSERT_NE(encoder, nullptr);
    const std::vector<float> together = Encode(*encoder, batch);
    for (std::size_t r = 0; r < batch.rows(); ++r) {
      TokenBatch alone;
      alone.seq_len = batch.lengths[r];
      alone.lengths = {batch.lengths[r]};
      alone.ids.assign(
          batch.ids.begin() + static_cast<std::ptrdiff_t>(r * batch.seq_len),
          batch.ids.begin() + static_cast<std::ptrdiff_t>(r * batch.seq_len) + alone.seq_len);
      const std::vector<float> single = Encode(*encoder, alone);
      EXPECT_TRUE(std::equal(single.begin(), single.end(), together.begin() + r * hidden))
          << "row " << r << " (" << variant.name << ")";
    }
  }
}

TEST(BertEncoderTest, EmptyBatchIsANoOp) {
  auto encoder = LoadOrDie(ReferenceCaseNamed("base").dir, {});
  ASSERT_NE(encoder, nullptr);
  TokenBatch empty;
  EXPECT_TRUE(encoder->Forward(empty, {}).has_value());
}

TEST(BertEncoderTest, ForwardRejectsMalformedBatches) {
  auto encoder = LoadOrDie(ReferenceCaseNamed("base").dir, {});
  ASSERT_NE(encoder, nullptr);
  const int hidden = encoder->config().hidden_size;
  auto fails = [&](const TokenBatch& batch, std::size_t out_size, const std::string& message) {
    std::vector<float> out(out_size);
    auto result = encoder->Forward(batch, out);
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code, common::ErrorCode::kInternal);
    EXPECT_THAT(result.error().message, HasSubstr(message));
  };
  TokenBatch good{.seq_len = 3, .ids = {1, 2, 3, 4, 5, 6}, .lengths = {3, 2}};
  fails(good, hidden, "output has");
  TokenBatch zero = good;
  zero.lengths = {3, 0};
  fails(zero, 2 * hidden, "length 0");
  TokenBatch too_long = good;
  too_long.lengths = {4, 1};
  fails(too_long, 2 * hidden, "length 4");
  TokenBatch bad_id = good;
  bad_id.ids[1] = 50;  // vocab is 50
  fails(bad_id, 2 * hidden, "token id 50");
  TokenBatch short_ids = good;
  short_ids.ids.pop_back();
  fails(short_ids, 2 * hidden, "rows x seq_len");
  TokenBatch past_positions{
      .seq_len = 65, .ids = std::vector<std::int32_t>(65, 1), .lengths = {65}};
  fails(past_positions, hidden, "seq_len 65");
  // A padding id past the vocabulary is fine: padding is never read.
  TokenBatch padded{.seq_len = 3, .ids = {1, 2, 999}, .lengths = {2}};
  std::vector<float> out(hidden);
  EXPECT_TRUE(encoder->Forward(padded, out).has_value());
}

// --- loading errors -----------------------------------------------------------

class BrokenModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path base = ReferenceCaseNamed("base").dir;
    ASSERT_TRUE(fs::exists(base / "config.json"));
    dir_ = fs::path(::testing::TempDir()) /
           ("broken_bert_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::copy(base, dir_, fs::copy_options::recursive);
  }
  void TearDown() override { fs::remove_all(dir_); }

  json::value ReadJson(const fs::path& path) {
    std::ifstream in(path);
    return json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
  }
  void WriteJson(const fs::path& path, const json::value& value) {
    std::ofstream(path) << json::serialize(value);
  }
  void EditConfig(const std::function<void(json::object&)>& edit) {
    json::value config = ReadJson(dir_ / "config.json");
    edit(config.as_object());
    WriteJson(dir_ / "config.json", config);
  }
  std::string LoadError() {
    auto encoder = BertEncoder::Load(dir_);
    EXPECT_FALSE(encoder.has_value());
    if (encoder) return "";
    EXPECT_EQ(encoder.error().code, common::ErrorCode::kBadRequest);
    return encoder.error().message;
  }

  fs::path dir_;
};

TEST_F(BrokenModelTest, TheIntactCopyLoads) { EXPECT_TRUE(BertEncoder::Load(dir_).has_value()); }

TEST_F(BrokenModelTest, MissingDirectory) {
  fs::remove_all(dir_);
  EXPECT_THAT(LoadError(), AllOf(HasSubstr(dir_.string()), HasSubstr("does not exist")));
}

TEST_F(BrokenModelTest, MissingWeights) {
  fs::remove(dir_ / "model.safetensors");
  EXPECT_THAT(LoadError(), AllOf(HasSubstr("model.safetensors"), HasSubstr("missing")));
}

TEST_F(BrokenModelTest, MissingConfig) {
  fs::remove(dir_ / "config.json");
  EXPECT_THAT(LoadError(), AllOf(HasSubstr("config.json"), HasSubstr("missing")));
}

TEST_F(BrokenModelTest, MissingModulesOrPoolingConfig) {
  fs::remove(dir_ / "1_Pooling" / "config.json");
  EXPECT_THAT(LoadError(), AllOf(HasSubstr("1_Pooling"), HasSubstr("missing")));
  fs::remove(dir_ / "modules.json");
  EXPECT_THAT(LoadError(), AllOf(HasSubstr("modules.json"), HasSubstr("missing")));
}

TEST_F(BrokenModelTest, UnsupportedArchitecture) {
  EditConfig([](json::object& c) {
    c["model_type"] = "gpt2";
    c["architectures"] = json::array{"GPT2Model"};
  });
  EXPECT_THAT(LoadError(),
              AllOf(HasSubstr("config.json"), HasSubstr("gpt2"), HasSubstr("not supported")));
  EditConfig([](json::object& c) {
    c["model_type"] = "bert";
    c["architectures"] = json::array{"RobertaModel"};
  });
  EXPECT_THAT(LoadError(), HasSubstr("RobertaModel"));
}

TEST_F(BrokenModelTest, UnsupportedActivation) {
  EditConfig([](json::object& c) { c["hidden_act"] = "relu"; });
  EXPECT_THAT(LoadError(), AllOf(HasSubstr("config.json"), HasSubstr("relu")));
}

TEST_F(BrokenModelTest, BadConfigValues) {
  EditConfig([](json::object& c) { c["num_attention_heads"] = 5; });  // 24 % 5 != 0
  EXPECT_THAT(LoadError(), HasSubstr("not a multiple of num_attention_heads"));
  EditConfig([](json::object& c) { c.erase("hidden_size"); });
  EXPECT_THAT(LoadError(), HasSubstr("hidden_size is missing"));
  EditConfig([](json::object& c) {
    c["hidden_size"] = 24;
    c["num_attention_heads"] = 2;
    c["vocab_size"] = -3;
  });
  EXPECT_THAT(LoadError(), HasSubstr("vocab_size must be an integer"));
}

TEST_F(BrokenModelTest, ShapeMismatchNamesTensorAndBothShapes) {
  EditConfig([](json::object& c) { c["intermediate_size"] = 48; });
  EXPECT_THAT(LoadError(), AllOf(HasSubstr("model.safetensors"),
                                 HasSubstr("encoder.layer.0.intermediate.dense.weight"),
                                 HasSubstr("[40, 24]"), HasSubstr("[48, 24]")));
}

TEST_F(BrokenModelTest, UnsupportedDtypeNamesTensor) {
  fs::remove_all(dir_);
  fs::copy(ReferenceCaseNamed("int8_key").dir, dir_, fs::copy_options::recursive);
  EXPECT_THAT(LoadError(),
              AllOf(HasSubstr("encoder.layer.0.attention.self.key.weight"), HasSubstr("dtype I8")));
}

TEST_F(BrokenModelTest, UnsupportedPoolingOrModule) {
  const fs::path pooling = dir_ / "1_Pooling" / "config.json";
  json::value config = ReadJson(pooling);
  config.as_object()["pooling_mode_max_tokens"] = true;
  WriteJson(pooling, config);
  EXPECT_THAT(LoadError(), AllOf(HasSubstr("1_Pooling"), HasSubstr("pooling_mode_max_tokens")));

  json::value modules = ReadJson(dir_ / "modules.json");
  modules.as_array().push_back(json::object{
      {"idx", 3}, {"path", "2_Dense"}, {"type", "sentence_transformers.models.Dense"}});
  WriteJson(dir_ / "modules.json", modules);
  EXPECT_THAT(LoadError(), AllOf(HasSubstr("modules.json"), HasSubstr("Dense")));
}

TEST_F(BrokenModelTest, PoolingPathMayNotLeaveTheModel) {
  json::value modules = ReadJson(dir_ / "modules.json");
  for (auto& m : modules.as_array()) {
    if (m.as_object()["type"] == "sentence_transformers.models.Pooling") {
      m.as_object()["path"] = "../elsewhere";
    }
  }
  WriteJson(dir_ / "modules.json", modules);
  EXPECT_THAT(LoadError(), HasSubstr("relative path inside the model directory"));
}

TEST_F(BrokenModelTest, TruncatedWeights) {
  const fs::path weights = dir_ / "model.safetensors";
  fs::resize_file(weights, fs::file_size(weights) - 100);
  EXPECT_THAT(LoadError(), AllOf(HasSubstr("model.safetensors"), HasSubstr("data_offsets")));
}

}  // namespace
}  // namespace ragpdf::embed::local
