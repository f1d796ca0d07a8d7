#include "embed/local/wordpiece_tokenizer.h"

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_vocab.h"

namespace ragpdf::embed::local {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace test_vocab;  // NOLINT: the test vocabulary's ids

std::unique_ptr<WordPieceTokenizer> Make(WordPieceOptions options = {}) {
  auto tokenizer = WordPieceTokenizer::FromVocab(kTestVocab, std::move(options));
  EXPECT_TRUE(tokenizer.has_value()) << tokenizer.error().message;
  return std::move(*tokenizer);
}

using Ids = std::vector<std::int32_t>;

TEST(WordPieceTokenizerTest, SpecialTokenIds) {
  auto tokenizer = Make();
  EXPECT_EQ(tokenizer->pad_id(), kPad);
  EXPECT_EQ(tokenizer->unk_id(), kUnk);
  EXPECT_EQ(tokenizer->cls_id(), kCls);
  EXPECT_EQ(tokenizer->sep_id(), kSep);
  EXPECT_EQ(tokenizer->vocab_size(), kTestVocab.size());
}

TEST(WordPieceTokenizerTest, SplitsWhitespaceAndPunctuation) {
  auto tokenizer = Make();
  EXPECT_THAT(tokenizer->Encode("hello,world!"), ElementsAre(kHello, kComma, kWorld, kBang));
  EXPECT_THAT(tokenizer->Encode("  hello   world  "), ElementsAre(kHello, kWorld));
  // Every punctuation character is a word of its own.
  EXPECT_THAT(tokenizer->Encode("hello?!."), ElementsAre(kHello, kQuestion, kBang, kPeriod));
  // ASCII symbols count as punctuation, as in BERT.
  EXPECT_THAT(tokenizer->Encode("a$a"), ElementsAre(kA, kDollar, kA));
}

TEST(WordPieceTokenizerTest, SplitsUnicodePunctuation) {
  auto tokenizer = Make();
  EXPECT_THAT(tokenizer->Encode("\u00bfque?"), ElementsAre(kInvertedQuestion, kQue, kQuestion));
  EXPECT_THAT(tokenizer->Encode("hello\u2014world"), ElementsAre(kHello, kEmDash, kWorld));
}

TEST(WordPieceTokenizerTest, GreedyWordPieceWithContinuations) {
  auto tokenizer = Make();
  EXPECT_THAT(tokenizer->Encode("unaffable"), ElementsAre(kUn, kAffSuffix, kAbleSuffix));
  EXPECT_THAT(tokenizer->Encode("wanted running"),
              ElementsAre(kWant, kEdSuffix, kRunn, kIngSuffix));
  // "##" pieces never start a word.
  EXPECT_THAT(tokenizer->Encode("aff"), ElementsAre(kUnk));
}

TEST(WordPieceTokenizerTest, PrefersLongestMatch) {
  auto tokenizer = WordPieceTokenizer::FromVocab(
      {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "ab", "abc", "##c", "##bc", "##d", "##bcd"}, {});
  ASSERT_TRUE(tokenizer.has_value()) << tokenizer.error().message;
  EXPECT_THAT((*tokenizer)->Encode("abcd"), ElementsAre(6, 9));     // abc ##d
  EXPECT_THAT((*tokenizer)->Encode("abd"), ElementsAre(5, 9));      // ab ##d
  EXPECT_THAT((*tokenizer)->Encode("abcbcd"), ElementsAre(6, 10));  // abc ##bcd
  EXPECT_THAT((*tokenizer)->Encode("acbc"), ElementsAre(4, 7, 8));  // a ##c ##bc
}

TEST(WordPieceTokenizerTest, UnmatchedWordIsOneUnknown) {
  auto tokenizer = Make();
  // "un" matches but "##xyz" does not: the whole word is [UNK], not un + [UNK].
  EXPECT_THAT(tokenizer->Encode("hello unxyz world"), ElementsAre(kHello, kUnk, kWorld));
  EXPECT_THAT(tokenizer->Encode("zzz"), ElementsAre(kUnk));
}

TEST(WordPieceTokenizerTest, LowerCasesAndStripsAccentsByDefault) {
  auto tokenizer = Make();
  EXPECT_THAT(tokenizer->Encode("H\u00e9llo WORLD"), ElementsAre(kHello, kWorld));
  EXPECT_THAT(tokenizer->Encode("CAF\u00c9"), ElementsAre(kCafe));
  // A decomposed accent (e + U+0301) is stripped the same way.
  EXPECT_THAT(tokenizer->Encode("cafe\u0301"), ElementsAre(kCafe));
  // Dotted capital I: NFD gives I + U+0307, the mark goes, I lower-cases to i.
  EXPECT_THAT(tokenizer->Encode("\u0130"), ElementsAre(kI));
}

TEST(WordPieceTokenizerTest, KeepsAccentsWhenNotStripping) {
  WordPieceOptions options;
  options.strip_accents = false;
  auto tokenizer = Make(options);
  EXPECT_THAT(tokenizer->Encode("CAF\u00c9"), ElementsAre(kCafeAccented));
  EXPECT_THAT(tokenizer->Encode("H\u00e9llo"), ElementsAre(kUnk));
  // No normalization: a decomposed é does not match the precomposed entry.
  EXPECT_THAT(tokenizer->Encode("cafe\u0301"), ElementsAre(kUnk));
  // Full lower-case mapping of U+0130 is "i" + U+0307.
  EXPECT_THAT(tokenizer->Encode("\u0130"), ElementsAre(kI, kDotAboveSuffix));
}

TEST(WordPieceTokenizerTest, CasedModelKeepsCase) {
  WordPieceOptions options;
  options.lower_case = false;  // strip_accents follows: off
  auto tokenizer = Make(options);
  EXPECT_THAT(tokenizer->Encode("Hello hello"), ElementsAre(kUnk, kHello));
  EXPECT_THAT(tokenizer->Encode("caf\u00e9"), ElementsAre(kCafeAccented));
}

TEST(WordPieceTokenizerTest, StripsAccentsWithoutLowerCasing) {
  WordPieceOptions options;
  options.lower_case = false;
  options.strip_accents = true;
  auto tokenizer = Make(options);
  EXPECT_THAT(tokenizer->Encode("caf\u00e9 Caf\u00e9"), ElementsAre(kCafe, kUnk));
}

TEST(WordPieceTokenizerTest, StripAccentsDropsEveryNonspacingMark) {
  auto tokenizer = Make();
  // U+034F (combining grapheme joiner) and U+0941 are Mn with combining class 0.
  EXPECT_THAT(tokenizer->Encode("hel\u034flo wor\u0941ld"), ElementsAre(kHello, kWorld));
}

TEST(WordPieceTokenizerTest, StripAccentsReordersSurvivingMarksCanonically) {
  // U+1D165 (Mc, class 216) and U+16FF0 (Mc, class 6) survive stripping; NFD
  // puts the lower class first, unless a starter (even a dropped one) is between.
  const std::string token = "x\U00016ff0\U0001d165";
  auto tokenizer = WordPieceTokenizer::FromVocab({"[PAD]", "[UNK]", "[CLS]", "[SEP]", token}, {});
  ASSERT_TRUE(tokenizer.has_value());
  EXPECT_THAT((*tokenizer)->Encode(token), ElementsAre(4));
  EXPECT_THAT((*tokenizer)->Encode("x\U0001d165\U00016ff0"), ElementsAre(4));
  EXPECT_THAT((*tokenizer)->Encode("x\U0001d165\u0301\U00016ff0"), ElementsAre(4));
  EXPECT_THAT((*tokenizer)->Encode("x\U0001d165\u034f\U00016ff0"), ElementsAre(1));

  WordPieceOptions options;
  options.strip_accents = false;
  tokenizer = WordPieceTokenizer::FromVocab({"[PAD]", "[UNK]", "[CLS]", "[SEP]", token}, options);
  ASSERT_TRUE(tokenizer.has_value());
  EXPECT_THAT((*tokenizer)->Encode("x\U0001d165\U00016ff0"), ElementsAre(1));
}

TEST(WordPieceTokenizerTest, StripAccentsDecomposesHangul) {
  // NFD turns the syllable 한 into the jamo ᄒ ᅡ ᆫ, as Hugging Face does.
  auto tokenizer = Make();
  EXPECT_THAT(tokenizer->Encode("\ud55c"), ElementsAre(kHieuh, kASuffixJamo, kNieunSuffixJamo));
}

TEST(WordPieceTokenizerTest, SplitsCjkIdeographsButNotKana) {
  auto tokenizer = Make();
  EXPECT_THAT(tokenizer->Encode("\u4e2d\u56fd\u4eba"), ElementsAre(kZhong, kGuo, kRen));
  EXPECT_THAT(tokenizer->Encode("hello\u4e2d\u56fdworld"),
              ElementsAre(kHello, kZhong, kGuo, kWorld));
  EXPECT_THAT(tokenizer->Encode("\u3053\u3093\u306b\u3061\u306f"), ElementsAre(kKonnichiwa));
  // Kana glued to an ideograph stay one word apart from it.
  EXPECT_THAT(tokenizer->Encode("\u4e2d\u3053\u3093\u306b\u3061\u306f"),
              ElementsAre(kZhong, kKonnichiwa));
}

TEST(WordPieceTokenizerTest, CjkRangesAreHuggingFaces) {
  auto tokenizer = Make();
  // The first and an assigned last code point of each range: split off.
  for (const char* ideograph : {"\u4e00", "\u9fff", "\u3400", "\u4dbf", "\U00020000", "\U0002a6df",
                                "\U0002a700", "\U0002b740", "\U0002b820", "\uf900", "\U0002f800"}) {
    EXPECT_THAT(tokenizer->Encode(std::string("a") + ideograph + "a"), ElementsAre(kA, kUnk, kA))
        << ideograph;
  }
  // Just outside: a symbol, a hexagram, a Yi syllable stay in the word.
  for (const char* other : {"\u33ff", "\u4dc0", "\ua000"}) {
    EXPECT_THAT(tokenizer->Encode(std::string("a") + other + "a"), ElementsAre(kUnk)) << other;
  }
}

TEST(WordPieceTokenizerTest, CjkSplittingCanBeDisabled) {
  WordPieceOptions options;
  options.tokenize_chinese_chars = false;
  auto tokenizer = Make(options);
  EXPECT_THAT(tokenizer->Encode("\u4e2d\u56fd"), ElementsAre(kZhongGuo));
  EXPECT_THAT(tokenizer->Encode("\u4e2d\u56fd\u4eba"), ElementsAre(kUnk));  // 中国 + no ##人
}

TEST(WordPieceTokenizerTest, RemovesControlCharacters) {
  auto tokenizer = Make();
  // NUL, a C0 control, DEL, U+FFFD, zero-width space (Cf), soft hyphen (Cf)
  // and a private-use character (Co) all disappear without splitting words.
  EXPECT_THAT(tokenizer->Encode(std::string("hel\0lo", 6)), ElementsAre(kHello));
  EXPECT_THAT(tokenizer->Encode("h\x01"
                                "e\x7fl\ufffdl\u200bo w\u00adorld\ue000"),
              ElementsAre(kHello, kWorld));
  // Invalid UTF-8 is read as U+FFFD, which is removed.
  EXPECT_THAT(tokenizer->Encode("hel\xff\xfelo"), ElementsAre(kHello));
}

TEST(WordPieceTokenizerTest, ControlCharactersStayWithoutCleaning) {
  WordPieceOptions options;
  options.clean_text = false;
  auto tokenizer = Make(options);
  EXPECT_THAT(tokenizer->Encode("hel\x01lo world"), ElementsAre(kUnk, kWorld));
  // The pre-tokenizer still splits on every kind of whitespace.
  EXPECT_THAT(tokenizer->Encode("hello\u00a0world\vhello"), ElementsAre(kHello, kWorld, kHello));
}

TEST(WordPieceTokenizerTest, TreatsUnicodeWhitespaceAsSpace) {
  auto tokenizer = Make();
  EXPECT_THAT(tokenizer->Encode("hello\tworld\nhello\r\nworld"),
              ElementsAre(kHello, kWorld, kHello, kWorld));
  // No-break space, ideographic space, line separator.
  EXPECT_THAT(tokenizer->Encode("hello\u00a0world\u3000hello\u2028world"),
              ElementsAre(kHello, kWorld, kHello, kWorld));
}

TEST(WordPieceTokenizerTest, EmptyAndBlankInputGiveNoIds) {
  auto tokenizer = Make();
  EXPECT_THAT(tokenizer->Encode(""), IsEmpty());
  EXPECT_THAT(tokenizer->Encode(" \t\n\r \u00a0 "), IsEmpty());
  EXPECT_THAT(tokenizer->Encode("\u200b\x01"), IsEmpty());
  EXPECT_EQ(tokenizer->CountTokens(""), 0);
}

TEST(WordPieceTokenizerTest, WordsOverMaxCharsAreUnknown) {
  auto tokenizer = Make();
  Ids hundred = {kA};
  hundred.insert(hundred.end(), 99, kASuffix);
  EXPECT_EQ(tokenizer->Encode(std::string(100, 'a')), hundred);
  EXPECT_THAT(tokenizer->Encode(std::string(101, 'a')), ElementsAre(kUnk));
  EXPECT_THAT(tokenizer->Encode(std::string(5000, 'a') + " hello"), ElementsAre(kUnk, kHello));
}

TEST(WordPieceTokenizerTest, MaxCharsCountsCodePointsNotBytes) {
  WordPieceOptions options;
  options.strip_accents = false;
  auto tokenizer = Make(options);
  std::string word;
  for (int i = 0; i < 100; ++i) word += "\u00fc";  // 200 bytes, 100 characters
  Ids expected = {kUUmlaut};
  expected.insert(expected.end(), 99, kUUmlautSuffix);
  EXPECT_EQ(tokenizer->Encode(word), expected);
  EXPECT_THAT(tokenizer->Encode(word + "\u00fc"), ElementsAre(kUnk));
}

TEST(WordPieceTokenizerTest, MaxCharsIsConfigurable) {
  WordPieceOptions options;
  options.max_input_chars_per_word = 5;
  auto tokenizer = Make(options);
  EXPECT_THAT(tokenizer->Encode("hello wanted"), ElementsAre(kHello, kUnk));
}

TEST(WordPieceTokenizerTest, EncodeForModelAddsSpecialTokensAndTruncates) {
  auto tokenizer = Make();
  EXPECT_THAT(tokenizer->EncodeForModel("hello world", 16),
              ElementsAre(kCls, kHello, kWorld, kSep));
  EXPECT_THAT(tokenizer->EncodeForModel("hello world", 3), ElementsAre(kCls, kHello, kSep));
  EXPECT_THAT(tokenizer->EncodeForModel("hello world", 2), ElementsAre(kCls, kSep));
  EXPECT_THAT(tokenizer->EncodeForModel("", 8), ElementsAre(kCls, kSep));
  // Truncation may cut a word's pieces.
  EXPECT_THAT(tokenizer->EncodeForModel("unaffable hello", 4),
              ElementsAre(kCls, kUn, kAffSuffix, kSep));
  EXPECT_THAT(tokenizer->EncodeForModel("unaffable hello", 5),
              ElementsAre(kCls, kUn, kAffSuffix, kAbleSuffix, kSep));
}

TEST(WordPieceTokenizerTest, SpecialTokensInTextAreOrdinaryText) {
  auto tokenizer = Make();
  // "[", "sep" and "]" are three unknown words, not the [SEP] token.
  EXPECT_THAT(tokenizer->Encode("[SEP]"), ElementsAre(kUnk, kUnk, kUnk));
}

TEST(WordPieceTokenizerTest, CountTokensExcludesSpecialTokens) {
  auto tokenizer = Make();
  EXPECT_EQ(tokenizer->CountTokens("unaffable hello, world"), 6);
  EXPECT_EQ(tokenizer->CountTokens("zzz"), 1);
}

TEST(WordPieceTokenizerTest, LaterDuplicateTokenWins) {
  auto tokenizer =
      WordPieceTokenizer::FromVocab({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "x", "y", "x"}, {});
  ASSERT_TRUE(tokenizer.has_value());
  EXPECT_THAT((*tokenizer)->Encode("x y"), ElementsAre(6, 5));
}

TEST(WordPieceTokenizerTest, CustomPrefixAndSpecialTokens) {
  WordPieceOptions options;
  options.continuing_prefix = "@@";
  options.unk_token = "<unk>";
  options.cls_token = "<s>";
  options.sep_token = "</s>";
  options.pad_token = "<pad>";
  auto tokenizer = WordPieceTokenizer::FromVocab(
      {"<pad>", "<unk>", "<s>", "</s>", "run", "@@ning", "##ning"}, options);
  ASSERT_TRUE(tokenizer.has_value()) << tokenizer.error().message;
  EXPECT_THAT((*tokenizer)->EncodeForModel("running runxyz", 8), ElementsAre(2, 4, 5, 1, 3));
}

TEST(WordPieceTokenizerTest, MissingSpecialTokenIsAnError) {
  auto tokenizer = WordPieceTokenizer::FromVocab({"[PAD]", "[CLS]", "[SEP]", "hello"}, {});
  ASSERT_FALSE(tokenizer.has_value());
  EXPECT_EQ(tokenizer.error().code, common::ErrorCode::kBadRequest);
  EXPECT_THAT(tokenizer.error().message, ::testing::HasSubstr("[UNK]"));

  WordPieceOptions options;
  options.cls_token = "<s>";
  tokenizer = WordPieceTokenizer::FromVocab(kTestVocab, options);
  ASSERT_FALSE(tokenizer.has_value());
  EXPECT_THAT(tokenizer.error().message, ::testing::HasSubstr("<s>"));
}

TEST(WordPieceTokenizerTest, LargeInputMatchesItsParts) {
  auto tokenizer = Make();
  const std::string sentence =
      "Hello, WORLD! unaffable caf\u00e9 \u4e2d\u56fd\u4eba wanted running \u00bfque? zzz\n";
  const Ids sentence_ids = tokenizer->Encode(sentence);
  ASSERT_EQ(sentence_ids, (Ids{kHello, kComma, kWorld, kBang, kUn, kAffSuffix, kAbleSuffix, kCafe,
                               kZhong, kGuo, kRen, kWant, kEdSuffix, kRunn, kIngSuffix,
                               kInvertedQuestion, kQue, kQuestion, kUnk}));
  std::string text;
  Ids expected;
  while (text.size() < (1u << 20)) {
    text += sentence;
    expected.insert(expected.end(), sentence_ids.begin(), sentence_ids.end());
  }
  EXPECT_EQ(tokenizer->Encode(text), expected);
  EXPECT_EQ(tokenizer->CountTokens(text), static_cast<int>(expected.size()));
}

TEST(WordPieceTokenizerTest, ConcurrentEncodesAgree) {
  auto tokenizer = Make();
  const std::string text = "H\u00e9llo, world! unaffable \u4e2d\u56fd wanted running";
  const Ids expected = tokenizer->Encode(text);
  std::vector<Ids> results(4);
  std::vector<std::thread> threads;
  for (auto& result : results) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) result = tokenizer->Encode(text);
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& result : results) EXPECT_EQ(result, expected);
}

}  // namespace
}  // namespace ragpdf::embed::local
