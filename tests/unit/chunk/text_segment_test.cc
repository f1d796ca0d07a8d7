#include "chunk/text_segment.h"

#include <gtest/gtest.h>

namespace ragpdf::chunk {
namespace {

using Strings = std::vector<std::string>;
using Views = std::vector<std::string_view>;

TEST(NormalizeParagraphsTest, CollapsesWhitespaceAndJoinsLines) {
  EXPECT_EQ(NormalizeParagraphs("  Line   one\nline\ttwo  \n\n\n  Second\r\nparagraph \r\n"),
            (Strings{"Line one line two", "Second paragraph"}));
  EXPECT_EQ(NormalizeParagraphs("a\n \t \nb\rc\fd"), (Strings{"a", "b c", "d"}));
  EXPECT_EQ(NormalizeParagraphs("non\xC2\xA0"
                                "breaking\xE2\x80\x83space"),
            (Strings{"non breaking space"}));
  EXPECT_TRUE(NormalizeParagraphs("").empty());
  EXPECT_TRUE(NormalizeParagraphs(" \n\t\r\n\f \xEF\xBB\xBF").empty());
}

TEST(NormalizeParagraphsTest, JoinsHyphenatedLineBreaks) {
  EXPECT_EQ(NormalizeParagraphs("an exam-\nple of hyph-\n  enation"),
            (Strings{"an example of hyphenation"}));
  // Soft hyphens vanish; at a line end they join the word.
  EXPECT_EQ(NormalizeParagraphs("soft\xC2\xAD\nhyphen in\xC2\xAD"
                                "side"),
            (Strings{"softhyphen inside"}));
  // Before a capital or digit the hyphen is part of the word; a lone dash is not.
  EXPECT_EQ(NormalizeParagraphs("pages 10-\n12 and Anglo-\nSaxon -\nthen"),
            (Strings{"pages 10-12 and Anglo-Saxon - then"}));
}

TEST(NormalizeParagraphsTest, BulletLinesStartParagraphs) {
  EXPECT_EQ(NormalizeParagraphs("Items:\n- one\n- two\ncontinued\n* three\n\xE2\x80\xA2 four"),
            (Strings{"Items:", "- one", "- two continued", "* three", "\xE2\x80\xA2 four"}));
}

TEST(NormalizeParagraphsTest, InvalidUtf8AndControlsAreSafe) {
  EXPECT_EQ(NormalizeParagraphs("bad\xFFtext\x01here"), (Strings{"bad\xEF\xBF\xBDtext here"}));
  EXPECT_EQ(NormalizeInline("a\n\nb\nc"), "a b c");
}

TEST(SplitSentencesTest, SplitsAfterTerminalPunctuation) {
  EXPECT_EQ(SplitSentences("Hello world. This is it! Really? Yes."),
            (Views{"Hello world.", "This is it!", "Really?", "Yes."}));
  // Closing quotes stay with their sentence; lower case does not start one.
  EXPECT_EQ(SplitSentences("He said \"Stop.\" Then (finally.) e.g. this one... Done"),
            (Views{"He said \"Stop.\"", "Then (finally.) e.g. this one...", "Done"}));
  EXPECT_EQ(SplitSentences("3.14 is pi. 2.71 is e."), (Views{"3.14 is pi.", "2.71 is e."}));
  EXPECT_EQ(SplitSentences("今日は晴れ。明日は雨！ Fine."),
            (Views{"今日は晴れ。", "明日は雨！", "Fine."}));
  EXPECT_EQ(SplitSentences("no terminal"), (Views{"no terminal"}));
  // A leading number is an enumerator, not a sentence.
  EXPECT_EQ(SplitSentences("2. Methods"), (Views{"2. Methods"}));
  EXPECT_EQ(SplitSentences("3.1. Data sources. In 2020. Then"),
            (Views{"3.1. Data sources.", "In 2020.", "Then"}));
  EXPECT_TRUE(SplitSentences("").empty());
}

TEST(SplitWordsTest, SplitsAtSpaces) {
  EXPECT_EQ(SplitWords("a bb  ccc"), (Views{"a", "bb", "ccc"}));
  EXPECT_TRUE(SplitWords("").empty());
}

TEST(EndsSentenceTest, LooksThroughClosers) {
  EXPECT_TRUE(EndsSentence("It ended."));
  EXPECT_TRUE(EndsSentence("\"It ended!\")"));
  EXPECT_FALSE(EndsSentence("It goes on"));
  EXPECT_FALSE(EndsSentence(""));
}

TEST(GraphemeBoundariesTest, KeepsCombiningMarksTogether) {
  using Offsets = std::vector<std::size_t>;
  EXPECT_EQ(GraphemeBoundaries("e\xCC\x81"
                               "a"),
            (Offsets{0, 3, 4}));  // e + acute, a
  EXPECT_EQ(GraphemeBoundaries("ab"), (Offsets{0, 1, 2}));
  EXPECT_EQ(GraphemeBoundaries(""), (Offsets{0}));
}

}  // namespace
}  // namespace ragpdf::chunk
