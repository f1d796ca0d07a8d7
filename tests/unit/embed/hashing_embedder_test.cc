#include "embed/hashing_embedder.h"

#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "embed/vector_ops.h"

namespace ragpdf::embed {
namespace {

namespace asio = boost::asio;

class HashingEmbedderTest : public ::testing::Test {
 protected:
  std::vector<float> Vec(const HashingEmbedder& e, std::string_view text) {
    std::vector<float> v(e.info().dimension);
    e.EmbedOne(text, v);
    return v;
  }
  std::vector<float> Vec(std::string_view text) { return Vec(embedder_, text); }
  float Cosine(std::string_view a, std::string_view b) {
    const auto va = Vec(a), vb = Vec(b);
    return Dot(va.data(), vb.data(), va.size());
  }

  asio::thread_pool pool_{2};
  HashingEmbedder embedder_{HashingEmbedderOptions{}, pool_.get_executor()};
};

// Expected values computed independently (Python) from the documented
// algorithm; FNV-1a("a") = 0xaf63dc4c8601ec8c is the published test vector.
TEST(FeatureHashTest, FixedValuesOnEveryPlatform) {
  EXPECT_EQ(FeatureHash(""), 0xefd01f60ba992926ULL);
  EXPECT_EQ(FeatureHash("hello"), 0xe9c562c0fdb23244ULL);
  EXPECT_EQ(FeatureHash("world"), 0x85c3d80583b75d95ULL);
  EXPECT_EQ(FeatureHash("hello world"), 0x7c6d8c019b6ee5d5ULL);
  EXPECT_EQ(FeatureHash("\xE6\x97\xA5\xE6\x9C\xAC"), 0x1230c55089fe4e43ULL);  // 日本
}

TEST_F(HashingEmbedderTest, InfoDescribesBuiltinModel) {
  EXPECT_EQ(embedder_.info().name, "lexical-hash-384");
  EXPECT_EQ(embedder_.info().provider, "builtin");
  EXPECT_EQ(embedder_.info().dimension, 384);
  EXPECT_EQ(embedder_.info().max_tokens, 512);
  EXPECT_NE(embedder_.info().description.find("lexical"), std::string::npos);
}

// "Hello, World!" -> words hello, world and the pair "hello world".
// hello: bucket 324, negative; world: bucket 277, negative; pair: bucket 85,
// positive, weight 0.5. Norm = sqrt(1 + 1 + 0.25) = 1.5.
TEST_F(HashingEmbedderTest, VectorLayoutFollowsDocumentedAlgorithm) {
  const auto v = Vec("Hello, World!");
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i == 324 || i == 277) {
      EXPECT_FLOAT_EQ(v[i], -1.0f / 1.5f);
    } else if (i == 85) {
      EXPECT_FLOAT_EQ(v[i], 0.5f / 1.5f);
    } else {
      EXPECT_EQ(v[i], 0.0f) << i;
    }
  }
}

TEST_F(HashingEmbedderTest, RepeatedWordsWeighSublinearly) {
  // hello x3: unigram weight 1 + ln 3; pair "hello hello" x2: 0.5 * (1 + ln 2).
  const auto v = Vec("hello hello hello");
  const auto pair = FeatureHash("hello hello");
  const double uni = 1.0 + std::log(3.0);
  const double bi = 0.5 * (1.0 + std::log(2.0));
  const double norm = std::sqrt(uni * uni + bi * bi);
  ASSERT_NE(pair % 384, 324u);
  EXPECT_NEAR(v[324], -uni / norm, 1e-6);
  EXPECT_NEAR(v[pair % 384], ((pair >> 63) ? -bi : bi) / norm, 1e-6);
}

TEST_F(HashingEmbedderTest, Deterministic) {
  const std::string text = "Retrieval-augmented generation over PDF files, 2024 edition.";
  HashingEmbedder other(HashingEmbedderOptions{}, pool_.get_executor());
  const auto a = Vec(text);
  EXPECT_EQ(a, Vec(text));
  EXPECT_EQ(a, Vec(other, text));
}

TEST_F(HashingEmbedderTest, UnitNormOrZero) {
  for (const char* text :
       {"a", "the quick brown fox", "Ünïcödé text ✓ 123", "x y z x y z x y z w"}) {
    const auto v = Vec(text);
    double norm = 0;
    for (float x : v) norm += static_cast<double>(x) * x;
    EXPECT_NEAR(std::sqrt(norm), 1.0, 1e-5) << text;
  }
  for (const char* text : {"", "   ", "!!! ... ---", "\xff\xfe"}) {
    for (float x : Vec(text)) ASSERT_EQ(x, 0.0f) << text;
  }
}

TEST_F(HashingEmbedderTest, LexicalSimilaritySanity) {
  const char* sentence = "The quick brown fox jumps over the lazy dog";
  const char* paraphrase = "A quick brown fox leaped over a lazy dog";
  const char* unrelated = "Quarterly revenue grew by eight percent in Europe";
  const float close = Cosine(sentence, paraphrase);
  const float far = Cosine(sentence, unrelated);
  EXPECT_GT(close, 0.4f);
  EXPECT_LT(std::abs(far), 0.2f);
  EXPECT_GT(close, far);
  EXPECT_NEAR(Cosine(sentence, sentence), 1.0f, 1e-5);
}

TEST_F(HashingEmbedderTest, UnicodeFoldsCaseAccentsAndCompatibilityForms) {
  EXPECT_EQ(Vec("Café"), Vec("cafe"));
  EXPECT_EQ(Vec("ÉCOLE Ñandú"), Vec("ecole nandu"));
  EXPECT_EQ(Vec("Cafe\xCC\x81"), Vec("café"));                         // decomposed accent
  EXPECT_EQ(Vec("\xEF\xAC\x81le"), Vec("file"));                       // "ﬁ" ligature (NFKC)
  EXPECT_EQ(Vec("\xEF\xBC\xA1\xEF\xBC\xA2\xEF\xBC\xA3"), Vec("abc"));  // fullwidth ＡＢＣ
  EXPECT_EQ(Vec("Straße"), Vec("STRASSE"));                            // full case folding
  EXPECT_NE(Vec("cafe"), Vec("cafes"));
}

TEST(HashingTokenizerTest, WordsAreNormalizedLetterDigitRuns) {
  HashingTokenizer tok;
  using W = std::vector<std::string>;
  EXPECT_EQ(tok.Words("Hello, World! It's 2024-05-01."),
            (W{"hello", "world", "it", "s", "2024", "05", "01"}));
  EXPECT_EQ(tok.Words("Ça va? Très bien."), (W{"ca", "va", "tres", "bien"}));
  EXPECT_EQ(tok.Words("東京 タワー"), (W{"東京", "タワー"}));
  EXPECT_EQ(tok.Words("abc\xff"
                      "def ghi"),
            (W{"abc", "def", "ghi"}));  // invalid byte splits
  EXPECT_TRUE(tok.Words("").empty());
  EXPECT_EQ(tok.CountTokens("Hello, World! It's 2024-05-01."), 7);
  EXPECT_EQ(tok.CountTokens("Ça va? Très bien."), 4);
  EXPECT_EQ(tok.CountTokens("  ...  "), 0);
}

TEST(HashingEmbedderOptionsTest, InputIsCutAtMaxTokens) {
  asio::thread_pool pool(1);
  HashingEmbedderOptions options;
  options.max_tokens = 4;
  HashingEmbedder embedder(options, pool.get_executor());
  std::vector<float> cut(384), first_four(384), all(384);
  embedder.EmbedOne("one two three four five six", cut);
  embedder.EmbedOne("one two three four", first_four);
  HashingEmbedder(HashingEmbedderOptions{}, pool.get_executor())
      .EmbedOne("one two three four five six", all);
  EXPECT_EQ(cut, first_four);
  EXPECT_NE(cut, all);
}

TEST_F(HashingEmbedderTest, EmbedRunsBatchesOnPoolAndKeepsOrder) {
  HashingEmbedderOptions options;
  options.batch_size = 7;  // 30 texts -> 5 batches
  options.dimension = 64;
  HashingEmbedder embedder(options, pool_.get_executor());
  std::vector<std::string> texts;
  for (int i = 0; i < 30; ++i) texts.push_back("document number " + std::to_string(i) + " text");
  texts.push_back("");  // a row of zeros

  asio::io_context io;
  const auto io_thread = std::this_thread::get_id();
  std::thread::id resumed_on;
  common::Result<Embeddings> result = common::Fail(common::ErrorCode::kInternal, "not run");
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        // A named request: GCC 12 miscompiles a braced temporary passed
        // directly inside a co_await expression (double free).
        EmbedRequest request{texts, Purpose::kDocument, "file"};
        result = co_await embedder.Embed(std::move(request));
        resumed_on = std::this_thread::get_id();
      },
      asio::detached);
  io.run();
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_EQ(resumed_on, io_thread);
  EXPECT_EQ(result->dimension, 64);
  ASSERT_EQ(result->rows(), texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const auto row = result->Row(i);
    EXPECT_EQ(std::vector<float>(row.begin(), row.end()), Vec(embedder, texts[i])) << i;
  }
}

TEST_F(HashingEmbedderTest, EmbedEmptyRequest) {
  asio::io_context io;
  common::Result<Embeddings> result = common::Fail(common::ErrorCode::kInternal, "not run");
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        EmbedRequest request;
        result = co_await embedder_.Embed(std::move(request));
      },
      asio::detached);
  io.run();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->rows(), 0u);
}

}  // namespace
}  // namespace ragpdf::embed
