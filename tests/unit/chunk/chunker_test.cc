#include "chunk/chunker.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <utf8proc.h>

#include "chunk/text_segment.h"
#include "embed/hashing_embedder.h"
#include "test_tokenizers.h"

namespace ragpdf::chunk {
namespace {

using testing::ByteTokenizer;
using testing::SubwordTokenizer;
using testing::WhitespaceTokenizer;

std::vector<std::string> Words(std::string_view text) {
  std::vector<std::string> words;
  std::istringstream in{std::string(text)};
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

bool IsValidUtf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    utf8proc_int32_t cp;
    const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data()) + i,
                                    static_cast<utf8proc_ssize_t>(s.size() - i), &cp);
    if (n <= 0) return false;
    i += static_cast<std::size_t>(n);
  }
  return true;
}

std::vector<Chunk> Chunks(const std::vector<common::PageText>& pages, int chunk_tokens,
                          int overlap_tokens, const common::Tokenizer& tokenizer) {
  return ChunkPages(pages, tokenizer, ChunkOptions{chunk_tokens, overlap_tokens});
}

std::vector<Chunk> Chunks(std::string text, int chunk_tokens, int overlap_tokens = 0) {
  static const WhitespaceTokenizer tokenizer;
  return Chunks({common::PageText{1, std::move(text)}}, chunk_tokens, overlap_tokens, tokenizer);
}

// A document of unique words ("W00001"...) in sentences and paragraphs of
// random lengths, spread over pages; remembers each word's page.
struct Document {
  std::vector<common::PageText> pages;
  std::vector<std::string> words;
  std::map<std::string, int> page_of;
};

Document MakeDocument(unsigned seed, int page_count) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> sentence_len(1, 40), sentences(1, 6), paragraphs(0, 4);
  Document doc;
  int next = 0;
  for (int page = 1; page <= page_count; ++page) {
    std::string text;
    for (int p = paragraphs(rng); p > 0; --p) {
      for (int s = sentences(rng); s > 0; --s) {
        for (int w = sentence_len(rng); w > 0; --w) {
          char word[16];
          std::snprintf(word, sizeof word, "W%05d%s", ++next, w == 1 ? "." : "");
          doc.words.push_back(word);
          doc.page_of[word] = page;
          text += word;
          text += (next % 7 == 0) ? "\n" : " ";  // single newlines inside paragraphs
        }
      }
      text += "\n\n";
    }
    doc.pages.push_back({page, text});
  }
  return doc;
}

// Strips the overlap (a suffix of the previous chunk repeated as a prefix)
// and checks the chunks rebuild the input exactly. Words are unique, so the
// overlap is where the previous chunk contains the next chunk's first word.
void ExpectRebuildsInput(const std::vector<Chunk>& chunks, const std::vector<std::string>& input,
                         int overlap_tokens, int* pairs_with_overlap = nullptr) {
  std::vector<std::string> rebuilt;
  std::vector<std::string> previous;
  for (const Chunk& chunk : chunks) {
    std::vector<std::string> words = Words(chunk.text);
    ASSERT_FALSE(words.empty());
    const auto it = std::find(previous.begin(), previous.end(), words.front());
    const auto overlap = static_cast<std::size_t>(previous.end() - it);
    ASSERT_LE(overlap, static_cast<std::size_t>(overlap_tokens)) << chunk.text;
    ASSERT_LT(overlap, words.size()) << "a chunk without new text: " << chunk.text;
    for (std::size_t i = 0; i < overlap; ++i) ASSERT_EQ(words[i], *(it + i));
    if (pairs_with_overlap && overlap > 0) ++*pairs_with_overlap;
    rebuilt.insert(rebuilt.end(), words.begin() + overlap, words.end());
    previous = std::move(words);
  }
  EXPECT_EQ(rebuilt, input);
}

TEST(ChunkOptionsTest, DefaultsFollowModel) {
  EXPECT_EQ(DefaultChunkOptions(512).chunk_tokens, 256);
  EXPECT_EQ(DefaultChunkOptions(512).overlap_tokens, 32);
  EXPECT_EQ(DefaultChunkOptions(128).chunk_tokens, 128);
  EXPECT_EQ(DefaultChunkOptions(128).overlap_tokens, 16);
}

TEST(ChunkOptionsTest, ResolveValidatesOverrides) {
  auto ok = ResolveChunkOptions(std::nullopt, std::nullopt, 512);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->chunk_tokens, 256);
  EXPECT_EQ(ok->overlap_tokens, 32);

  ok = ResolveChunkOptions(100, std::nullopt, 512);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->chunk_tokens, 100);
  EXPECT_EQ(ok->overlap_tokens, 12);

  ok = ResolveChunkOptions(512, 0, 512);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->chunk_tokens, 512);
  EXPECT_EQ(ok->overlap_tokens, 0);

  ok = ResolveChunkOptions(std::nullopt, 255, 512);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->overlap_tokens, 255);

  for (auto [chunk, overlap] :
       std::vector<std::pair<std::optional<int>, std::optional<int>>>{{0, std::nullopt},
                                                                      {-5, std::nullopt},
                                                                      {513, std::nullopt},
                                                                      {std::nullopt, -1},
                                                                      {std::nullopt, 256},
                                                                      {64, 64},
                                                                      {64, 100}}) {
    auto bad = ResolveChunkOptions(chunk, overlap, 512);
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().code, common::ErrorCode::kBadRequest);
  }
}

TEST(ChunkPagesTest, EmptyInputGivesNoChunks) {
  WhitespaceTokenizer tokenizer;
  EXPECT_TRUE(Chunks({}, 64, 8, tokenizer).empty());
  EXPECT_TRUE(Chunks({{1, ""}, {2, "  \n\n\t "}, {3, "\f"}}, 64, 8, tokenizer).empty());
}

TEST(ChunkPagesTest, WithinBudgetAndLosesNothingForManySizes) {
  const Document doc = MakeDocument(1, 12);
  WhitespaceTokenizer tokenizer;
  for (int budget : {1, 2, 8, 17, 64, 256}) {
    for (int overlap : {0, 1, budget / 8, budget / 2, budget - 1}) {
      if (overlap >= budget) continue;  // invalid options
      SCOPED_TRACE("budget " + std::to_string(budget) + " overlap " + std::to_string(overlap));
      const auto chunks = Chunks(doc.pages, budget, overlap, tokenizer);
      ASSERT_FALSE(chunks.empty());
      int pairs_with_overlap = 0;
      for (const Chunk& chunk : chunks) {
        EXPECT_LE(chunk.token_count, budget);
        EXPECT_EQ(chunk.token_count, tokenizer.CountTokens(chunk.text));
        // Pages: exactly the range of the words the chunk holds.
        int lo = 1 << 30, hi = 0;
        for (const auto& w : Words(chunk.text)) {
          lo = std::min(lo, doc.page_of.at(w));
          hi = std::max(hi, doc.page_of.at(w));
        }
        EXPECT_EQ(chunk.page_start, lo);
        EXPECT_EQ(chunk.page_end, hi);
      }
      ExpectRebuildsInput(chunks, doc.words, overlap, &pairs_with_overlap);
      if (overlap > 0) {
        EXPECT_GT(pairs_with_overlap, 0);
      }
    }
  }
}

TEST(ChunkPagesTest, GuaranteeHoldsForNonAdditiveTokenizer) {
  const Document doc = MakeDocument(2, 3);
  ByteTokenizer tokenizer;
  for (int budget : {12, 40, 200}) {
    const auto chunks = Chunks(doc.pages, budget, budget / 8, tokenizer);
    for (const Chunk& chunk : chunks) {
      EXPECT_LE(chunk.token_count, budget) << chunk.text;
      EXPECT_EQ(chunk.token_count, tokenizer.CountTokens(chunk.text));
    }
    ExpectRebuildsInput(chunks, doc.words, budget);
  }
}

TEST(ChunkPagesTest, GuaranteeHoldsForSubwordTokenizer) {
  const Document doc = MakeDocument(4, 4);
  SubwordTokenizer tokenizer;
  for (int budget : {4, 33, 128}) {
    const auto chunks = Chunks(doc.pages, budget, budget / 4, tokenizer);
    for (const Chunk& chunk : chunks) {
      EXPECT_LE(chunk.token_count, budget) << chunk.text;
      EXPECT_EQ(chunk.token_count, tokenizer.CountTokens(chunk.text));
    }
    ExpectRebuildsInput(chunks, doc.words, budget / 4);
  }
}

TEST(ChunkPagesTest, ArbitraryBytesNeverBreakTheGuarantees) {
  std::mt19937 rng(17);
  const std::string alphabet[] = {"a",
                                  "B",
                                  " ",
                                  "\n",
                                  "\n\n",
                                  ".",
                                  "! ",
                                  "\xC3\xA9",
                                  "\xCC\x81",
                                  "\xE3\x80\x82",
                                  "\xFF",
                                  "\x01",
                                  "\f",
                                  "-\n",
                                  "\xC2\xAD",
                                  "\xF0\x9F\x91\x8D",
                                  "\t",
                                  "\r\n",
                                  "\xE2\x80\xA9",
                                  "7"};
  std::uniform_int_distribution<int> pick(0, std::size(alphabet) - 1), length(0, 3000);
  WhitespaceTokenizer whitespace;
  SubwordTokenizer subword;
  ByteTokenizer bytes;
  embed::HashingTokenizer hashing;
  const common::Tokenizer* tokenizers[] = {&whitespace, &subword, &bytes, &hashing};
  int total_chunks = 0;
  for (int round = 0; round < 40; ++round) {
    std::vector<common::PageText> pages;
    for (int page = 1; page <= 3; ++page) {
      std::string text;
      for (int n = length(rng); n > 0; --n) text += alphabet[pick(rng)];
      pages.push_back({page, text});
    }
    const common::Tokenizer& tokenizer = *tokenizers[round % 4];
    const int budget = 1 + round % 9;
    for (const Chunk& chunk : Chunks(pages, budget, budget / 3, tokenizer)) {
      ++total_chunks;
      EXPECT_FALSE(chunk.text.empty());
      EXPECT_TRUE(IsValidUtf8(chunk.text));
      EXPECT_EQ(chunk.token_count, tokenizer.CountTokens(chunk.text));
      // The one documented exception: a single grapheme costing more.
      if (GraphemeBoundaries(chunk.text).size() > 2) {
        EXPECT_LE(chunk.token_count, budget) << "round " << round;
      }
    }
  }
  EXPECT_GT(total_chunks, 1000);
}

TEST(ChunkPagesTest, GuaranteeHoldsWithHashingTokenizer) {
  const Document doc = MakeDocument(3, 5);
  embed::HashingTokenizer tokenizer;
  const auto chunks = Chunks(doc.pages, 50, 6, tokenizer);
  ASSERT_GT(chunks.size(), 3u);
  for (const Chunk& chunk : chunks) {
    EXPECT_LE(chunk.token_count, 50);
    EXPECT_EQ(chunk.token_count, tokenizer.CountTokens(chunk.text));
  }
  ExpectRebuildsInput(chunks, doc.words, 6);
}

TEST(ChunkPagesTest, ConsecutiveChunksOverlap) {
  // Short sentences: the overlap always fits, so every pair shares words.
  std::string text;
  for (int i = 0; i < 60; ++i) text += "Alpha" + std::to_string(i) + " beta gamma delta. ";
  const auto chunks = Chunks(text, 20, 6);
  ASSERT_GT(chunks.size(), 5u);
  for (std::size_t i = 1; i < chunks.size(); ++i) {
    const auto prev = Words(chunks[i - 1].text), next = Words(chunks[i].text);
    // The next chunk starts with the last k words of the previous one.
    bool found = false;
    for (std::size_t k = 1; k <= 6 && k < next.size() && k <= prev.size(); ++k) {
      found = found || std::equal(prev.end() - k, prev.end(), next.begin());
    }
    EXPECT_TRUE(found) << chunks[i - 1].text << " || " << chunks[i].text;
  }
}

TEST(ChunkPagesTest, PrefersParagraphOverSentenceBoundary) {
  // Greedy sentence packing would put "Gamma..." into the first chunk.
  const std::string p1 = "Alpha one two three four five. Beta one two three four five.";
  const auto chunks = Chunks(p1 + "\n\nGamma one two three four. Delta one two three four five six "
                                  "seven eight nine ten.",
                             20);
  ASSERT_GE(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].text, p1);
  EXPECT_EQ(Words(chunks[1].text).front(), "Gamma");
}

TEST(ChunkPagesTest, PrefersSentenceOverWordBoundary) {
  const std::string s1 = "Alpha one two three four five six seven eight nine ten eleven.";
  const std::string s2 = "Beta one two three four five six seven eight nine ten eleven.";
  const auto chunks = Chunks(s1 + " " + s2, 20);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].text, s1);
  EXPECT_EQ(chunks[1].text, s2);
}

TEST(ChunkPagesTest, SplitsSentenceWhenChunkWouldStayUnderHalfFull) {
  // 4 + 18 words: ending after "Short..." would leave a 4-token chunk.
  std::string long_sentence = "Long";
  for (int i = 1; i < 18; ++i) long_sentence += " w" + std::to_string(i);
  const auto chunks = Chunks("Short one two three. " + long_sentence + ".", 20);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].token_count, 20);
  EXPECT_EQ(chunks[1].token_count, 2);
}

TEST(ChunkPagesTest, HeadingStaysWithTheTextThatFollows) {
  const std::string p1 = "First paragraph has exactly eight words here now.";
  const auto chunks =
      Chunks(p1 + "\n\nSection Two\n\nThe second paragraph has eight words too ok.", 12);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].text, p1);
  EXPECT_EQ(chunks[1].text, "Section Two\n\nThe second paragraph has eight words too ok.");
}

TEST(ChunkPagesTest, CjkSentencesKeepNoSpace) {
  const auto chunks = Chunks("日本語です。これは文です。\n\n次の段落。", 50);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].text, "日本語です。これは文です。\n\n次の段落。");
}

TEST(ChunkPagesTest, PageBreakAfterHeadingOrMidSentence) {
  WhitespaceTokenizer tokenizer;
  auto chunks = Chunks({{1, "Intro ends here.\n\nChapter Two"}, {2, "The chapter begins."}}, 50, 0,
                       tokenizer);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].text, "Intro ends here.\n\nChapter Two\n\nThe chapter begins.");
  chunks = Chunks({{1, "A short line that"}, {2, "continues in lower case."}}, 50, 0, tokenizer);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].text, "A short line that continues in lower case.");
}

TEST(ChunkPagesTest, JoinsParagraphsWithBlankLineAndCollapsesWhitespace) {
  const auto chunks = Chunks("First   para\nstill first.\n\n\n  Second\t para.", 50);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].text, "First para still first.\n\nSecond para.");
}

TEST(ChunkPagesTest, PageRangesAcrossThreePages) {
  WhitespaceTokenizer tokenizer;
  const std::vector<common::PageText> pages = {{1, "Page one has five words."},
                                               {2, "Page two has five words."},
                                               {3, ""},
                                               {4, "Page four continues the"},
                                               {5, "sentence on page five."}};
  auto chunks = Chunks(pages, 100, 0, tokenizer);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].page_start, 1);
  EXPECT_EQ(chunks[0].page_end, 5);
  // A page that ends mid-sentence continues with a space, not a paragraph break.
  EXPECT_NE(chunks[0].text.find("continues the sentence on"), std::string::npos);
  EXPECT_NE(chunks[0].text.find("words.\n\nPage two"), std::string::npos);

  chunks = Chunks(pages, 8, 0, tokenizer);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].page_start, 1);
  EXPECT_EQ(chunks[0].page_end, 1);
  EXPECT_EQ(chunks[1].page_start, 2);
  EXPECT_EQ(chunks[1].page_end, 2);
  EXPECT_EQ(chunks[2].text, "Page four continues the sentence on page five.");
  EXPECT_EQ(chunks[2].page_start, 4);
  EXPECT_EQ(chunks[2].page_end, 5);
}

TEST(ChunkPagesTest, HugeSingleWordIsSplitOnCharacterBoundaries) {
  SubwordTokenizer tokenizer;  // 10,000 bytes -> 2,500 tokens
  std::string ascii(10000, 'x');
  std::string accented;
  for (int i = 0; i < 5000; ++i) accented += (i % 2 ? "\xC3\xA9" : "e\xCC\x81");  // é, e+◌́
  for (const std::string& word : {ascii, accented}) {
    const auto chunks = Chunks({{1, word}}, 64, 8, tokenizer);
    ASSERT_GE(chunks.size(), 39u);
    std::string rebuilt;
    for (const Chunk& chunk : chunks) {
      EXPECT_LE(chunk.token_count, 64);
      EXPECT_TRUE(IsValidUtf8(chunk.text));
      EXPECT_NE(chunk.text.rfind("\xCC\x81", 0), 0u) << "starts with a bare combining mark";
      rebuilt += chunk.text;
    }
    // Fragments cost more than the overlap, so none is repeated.
    EXPECT_EQ(rebuilt, word);
  }
}

TEST(ChunkPagesTest, ThousandPagesChunkQuickly) {
  std::vector<common::PageText> pages;
  std::mt19937 rng(9);
  const char* vocabulary[] = {"the",    "retrieval", "of",       "documents", "is",
                              "based",  "on",        "vectors",  "and",       "keywords",
                              "Résumé", "naïve",     "analysis", "results",   "Table"};
  std::uniform_int_distribution<int> pick(0, 14), sentence_len(5, 30);
  for (int page = 1; page <= 1000; ++page) {
    std::string text;
    while (text.size() < 3000) {
      for (int w = sentence_len(rng); w > 0; --w) {
        text += vocabulary[pick(rng)];
        text += w % 11 == 0 ? "\n" : " ";
      }
      text += pick(rng) < 3 ? ".\n\n" : ". ";
    }
    pages.push_back({page, std::move(text)});
  }
  embed::HashingTokenizer tokenizer;
  const auto start = std::chrono::steady_clock::now();
  const auto chunks = ChunkPages(pages, tokenizer, DefaultChunkOptions(512));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(1));
  ASSERT_GT(chunks.size(), 1000u);
  EXPECT_EQ(chunks.front().page_start, 1);
  EXPECT_EQ(chunks.back().page_end, 1000);
  for (const Chunk& chunk : chunks) ASSERT_LE(chunk.token_count, 256);
}

}  // namespace
}  // namespace ragpdf::chunk
