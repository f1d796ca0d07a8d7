#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <boost/json.hpp>

#include "embed/local/wordpiece_tokenizer.h"
#include "test_vocab.h"

namespace ragpdf::embed::local {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace test_vocab;  // NOLINT: the test vocabulary's ids
using Ids = std::vector<std::int32_t>;

const fs::path kVocabDir = fs::path(RAGPDF_TEST_DATA_DIR) / "embed_local/tokenizer/bert_vocab";

const std::vector<std::string> kSampleTexts = {
    "Hello, World!",
    "H\u00e9llo unaffable",
    "\u4e2d\u56fd\u4eba \u3053\u3093\u306b\u3061\u306f",
    "\u00bfque? hello\u2014world",
    "wanted running zzz",
    "",
    std::string(101, 'a'),
    "CAF\u00c9 \u0130 \ud55c\tthe\x01 cafe",
};

void WriteFile(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  ASSERT_TRUE(out.good()) << path;
}

std::string VocabTxt(const std::vector<std::string>& vocab, const char* newline = "\n") {
  std::string text;
  for (const auto& token : vocab) text += token + newline;
  return text;
}

json::object Special(const char* kind, const char* id) {
  json::object fields;
  fields["id"] = id;
  fields["type_id"] = 0;
  json::object piece;
  piece[kind] = std::move(fields);
  return piece;
}

// A tokenizer.json as the `tokenizers` library writes it for bert-base-uncased.
json::object TokenizerJson(const std::vector<std::string>& vocab) {
  json::object vocab_map;
  for (std::size_t i = 0; i < vocab.size(); ++i) vocab_map[vocab[i]] = i;
  json::object model;
  model["type"] = "WordPiece";
  model["unk_token"] = "[UNK]";
  model["continuing_subword_prefix"] = "##";
  model["max_input_chars_per_word"] = 100;
  model["vocab"] = std::move(vocab_map);
  json::object normalizer;
  normalizer["type"] = "BertNormalizer";
  normalizer["clean_text"] = true;
  normalizer["handle_chinese_chars"] = true;
  normalizer["strip_accents"] = nullptr;
  normalizer["lowercase"] = true;
  json::object post_processor;
  post_processor["type"] = "TemplateProcessing";
  post_processor["single"] = json::array{Special("SpecialToken", "[CLS]"), Special("Sequence", "A"),
                                         Special("SpecialToken", "[SEP]")};
  json::object root;
  root["version"] = "1.0";
  root["truncation"] = nullptr;
  root["padding"] = nullptr;
  root["added_tokens"] = json::array();
  root["normalizer"] = std::move(normalizer);
  root["pre_tokenizer"] = json::object{{"type", "BertPreTokenizer"}};
  root["post_processor"] = std::move(post_processor);
  root["decoder"] = json::object{{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}};
  root["model"] = std::move(model);
  return root;
}

class WordPieceLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("ragpdf_wordpiece_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void WriteJson(const char* name, const json::object& object) {
    WriteFile(dir_ / name, json::serialize(object));
  }

  std::unique_ptr<WordPieceTokenizer> Load(const fs::path& dir) {
    auto tokenizer = WordPieceTokenizer::LoadFromDirectory(dir);
    EXPECT_TRUE(tokenizer.has_value()) << tokenizer.error().message;
    return tokenizer ? std::move(*tokenizer) : nullptr;
  }

  // The error message of a load that must fail with kBadRequest.
  std::string LoadError() {
    auto tokenizer = WordPieceTokenizer::LoadFromDirectory(dir_);
    if (tokenizer.has_value()) {
      ADD_FAILURE() << "loading " << dir_ << " succeeded";
      return "";
    }
    EXPECT_EQ(tokenizer.error().code, common::ErrorCode::kBadRequest);
    return tokenizer.error().message;
  }

  fs::path dir_;
};

TEST_F(WordPieceLoaderTest, LoadsVocabTxtWithTokenizerConfig) {
  auto tokenizer = Load(kVocabDir);
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->vocab_size(), kTestVocab.size());
  EXPECT_EQ(tokenizer->unk_id(), kUnk);
  EXPECT_EQ(tokenizer->pad_id(), kPad);
  EXPECT_THAT(tokenizer->EncodeForModel("H\u00e9llo, world! unaffable", 16),
              ElementsAre(kCls, kHello, kComma, kWorld, kBang, kUn, kAffSuffix, kAbleSuffix, kSep));
  EXPECT_THAT(tokenizer->Encode("\u4e2d\u56fd\u4eba"), ElementsAre(kZhong, kGuo, kRen));
  // The data file holds the same vocabulary as the in-memory tests.
  auto reference = WordPieceTokenizer::FromVocab(kTestVocab, {});
  ASSERT_TRUE(reference.has_value());
  for (const auto& text : kSampleTexts) {
    EXPECT_EQ(tokenizer->Encode(text), (*reference)->Encode(text)) << text;
  }
}

TEST_F(WordPieceLoaderTest, TokenizerJsonGivesTheSameIdsAsVocabTxt) {
  WriteJson("tokenizer.json", TokenizerJson(kTestVocab));
  auto from_json = Load(dir_);
  auto from_txt = Load(kVocabDir);
  ASSERT_NE(from_json, nullptr);
  ASSERT_NE(from_txt, nullptr);
  EXPECT_EQ(from_json->vocab_size(), kTestVocab.size());
  EXPECT_THAT(from_json->EncodeForModel("H\u00e9llo \u00bfque?", 8),
              ElementsAre(kCls, kHello, kInvertedQuestion, kQue, kQuestion, kSep));
  for (const auto& text : kSampleTexts) {
    EXPECT_EQ(from_json->Encode(text), from_txt->Encode(text)) << text;
    EXPECT_EQ(from_json->EncodeForModel(text, 6), from_txt->EncodeForModel(text, 6)) << text;
  }
}

TEST_F(WordPieceLoaderTest, TokenizerJsonIdsComeFromTheVocabMap) {
  json::object root = TokenizerJson({"[UNK]", "[SEP]", "[PAD]", "[CLS]", "world", "hello"});
  root["model"].as_object()["vocab"].as_object()["hello"] = 40;
  WriteJson("tokenizer.json", root);
  auto tokenizer = Load(dir_);
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_THAT(tokenizer->EncodeForModel("hello world", 8), ElementsAre(3, 40, 4, 1));
  EXPECT_EQ(tokenizer->vocab_size(), 41u);
}

TEST_F(WordPieceLoaderTest, TokenizerJsonSettingsApply) {
  json::object root = TokenizerJson(kTestVocab);
  json::object& normalizer = root["normalizer"].as_object();
  normalizer["lowercase"] = false;
  normalizer["handle_chinese_chars"] = false;
  root["model"].as_object()["max_input_chars_per_word"] = 5;
  root["post_processor"] = json::object{{"type", "BertProcessing"},
                                        {"sep", json::array{"[SEP]", 3}},
                                        {"cls", json::array{"[MASK]", 4}}};
  WriteJson("tokenizer.json", root);
  auto tokenizer = Load(dir_);
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_THAT(tokenizer->EncodeForModel("Hello hello \u4e2d\u56fd wanted", 16),
              ElementsAre(4, kUnk, kHello, kZhongGuo, kUnk, kSep));
}

TEST_F(WordPieceLoaderTest, TokenizerJsonIsPreferredOverVocabTxt) {
  WriteFile(dir_ / "vocab.txt", VocabTxt({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello"}));
  WriteJson("tokenizer.json", TokenizerJson({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "x", "hello"}));
  auto tokenizer = Load(dir_);
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_THAT(tokenizer->Encode("hello"), ElementsAre(5));
}

TEST_F(WordPieceLoaderTest, TokenizerConfigOverridesSettings) {
  WriteFile(dir_ / "vocab.txt", VocabTxt(kTestVocab, "\r\n"));  // CRLF is fine too
  WriteFile(dir_ / "tokenizer_config.json",
            R"({"do_lower_case": false, "tokenize_chinese_chars": false,
                "cls_token": {"__type": "AddedToken", "content": "[MASK]"}})");
  auto tokenizer = Load(dir_);
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->cls_id(), 4);
  EXPECT_THAT(tokenizer->Encode("Hello hello \u4e2d\u56fd caf\u00e9"),
              ElementsAre(kUnk, kHello, kZhongGuo, kCafeAccented));
}

TEST_F(WordPieceLoaderTest, VocabTxtAcceptsEveryLineEnding) {
  WriteFile(dir_ / "vocab.txt", "[PAD]\r[UNK]\r\n[CLS]\n[SEP]\rhello\r\n\nworld");
  auto tokenizer = Load(dir_);
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->vocab_size(), 7u);  // the empty line 5 is a token too
  EXPECT_THAT(tokenizer->EncodeForModel("hello world", 8), ElementsAre(2, 4, 6, 3));
}

TEST_F(WordPieceLoaderTest, TokenizerConfigOverridesTokenizerJsonNormalizer) {
  WriteJson("tokenizer.json", TokenizerJson(kTestVocab));
  WriteFile(dir_ / "tokenizer_config.json", R"({"do_lower_case": true, "strip_accents": false})");
  auto tokenizer = Load(dir_);
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_THAT(tokenizer->Encode("CAF\u00c9"), ElementsAre(kCafeAccented));
}

TEST_F(WordPieceLoaderTest, MissingFilesAreReported) {
  EXPECT_THAT(LoadError(), HasSubstr("no tokenizer.json or vocab.txt"));
  EXPECT_THAT(LoadError(), HasSubstr(dir_.string()));
  auto missing = WordPieceTokenizer::LoadFromDirectory(dir_ / "nonexistent");
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().message, HasSubstr("nonexistent"));
}

TEST_F(WordPieceLoaderTest, MissingUnknownTokenIsReported) {
  WriteFile(dir_ / "vocab.txt", VocabTxt({"[PAD]", "[CLS]", "[SEP]", "hello"}));
  const std::string message = LoadError();
  EXPECT_THAT(message, HasSubstr("vocab.txt"));
  EXPECT_THAT(message, HasSubstr("no unk token \"[UNK]\""));
}

TEST_F(WordPieceLoaderTest, MissingUnknownTokenInTokenizerJsonIsReported) {
  json::object root = TokenizerJson(kTestVocab);
  root["model"].as_object()["unk_token"] = "<unk>";
  WriteJson("tokenizer.json", root);
  const std::string message = LoadError();
  EXPECT_THAT(message, HasSubstr("tokenizer.json"));
  EXPECT_THAT(message, HasSubstr("\"<unk>\""));
}

TEST_F(WordPieceLoaderTest, EmptyVocabTxtIsReported) {
  WriteFile(dir_ / "vocab.txt", "");
  EXPECT_THAT(LoadError(), HasSubstr("vocab.txt: the vocabulary is empty"));
}

TEST_F(WordPieceLoaderTest, BadJsonIsReported) {
  WriteFile(dir_ / "tokenizer.json", "{\"model\": {\"vocab\": ");
  const std::string message = LoadError();
  EXPECT_THAT(message, HasSubstr("tokenizer.json"));
  EXPECT_THAT(message, HasSubstr("invalid JSON"));

  WriteFile(dir_ / "tokenizer.json", "[1, 2]");
  EXPECT_THAT(LoadError(), HasSubstr("not a JSON object"));
}

TEST_F(WordPieceLoaderTest, BadTokenizerConfigIsReported) {
  WriteFile(dir_ / "vocab.txt", VocabTxt(kTestVocab));
  WriteFile(dir_ / "tokenizer_config.json", "{oops");
  EXPECT_THAT(LoadError(), HasSubstr("tokenizer_config.json: invalid JSON"));
  WriteFile(dir_ / "tokenizer_config.json", R"({"do_lower_case": "yes"})");
  EXPECT_THAT(LoadError(), HasSubstr("\"do_lower_case\" is not a boolean"));
}

TEST_F(WordPieceLoaderTest, NonWordPieceModelIsRejected) {
  json::object root = TokenizerJson(kTestVocab);
  root["model"].as_object()["type"] = "BPE";
  WriteJson("tokenizer.json", root);
  EXPECT_THAT(LoadError(), HasSubstr("model type \"BPE\" is not supported (only WordPiece)"));

  root["model"] = json::object{{"type", "Unigram"}, {"vocab", json::array{}}};
  WriteJson("tokenizer.json", root);
  EXPECT_THAT(LoadError(), HasSubstr("\"Unigram\""));
}

TEST_F(WordPieceLoaderTest, UnsupportedPipelinePartsAreRejected) {
  json::object root = TokenizerJson(kTestVocab);
  root["normalizer"] = json::object{{"type", "Sequence"}, {"normalizers", json::array{}}};
  WriteJson("tokenizer.json", root);
  EXPECT_THAT(LoadError(), HasSubstr("normalizer \"Sequence\" is not supported"));

  root = TokenizerJson(kTestVocab);
  root["pre_tokenizer"] = json::object{{"type", "Whitespace"}};
  WriteJson("tokenizer.json", root);
  EXPECT_THAT(LoadError(), HasSubstr("pre_tokenizer \"Whitespace\" is not supported"));

  root = TokenizerJson(kTestVocab);
  root["post_processor"].as_object()["single"] = json::array{Special("Sequence", "A")};
  WriteJson("tokenizer.json", root);
  EXPECT_THAT(LoadError(), HasSubstr("[CLS] $A [SEP]"));
}

TEST_F(WordPieceLoaderTest, InvalidVocabIdIsRejected) {
  json::object root = TokenizerJson(kTestVocab);
  root["model"].as_object()["vocab"].as_object()["hello"] = -3;
  WriteJson("tokenizer.json", root);
  EXPECT_THAT(LoadError(), HasSubstr("\"hello\" has an invalid id"));
}

}  // namespace
}  // namespace ragpdf::embed::local
