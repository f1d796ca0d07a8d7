#include <string>

#include <gtest/gtest.h>

#include "parse/parser.h"
#include "test_files.h"

namespace ragpdf::parse {
namespace {

using common::ErrorCode;
using common::FileFormat;

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

class TextTest : public ::testing::Test {
 protected:
  common::Result<common::ParsedFile> Parse(std::string_view bytes,
                                           FileFormat format = FileFormat::kText) {
    return ParseText(dir_.Write("file.txt", bytes), format, options_);
  }

  testing::ScratchDir dir_;
  ParseOptions options_;
};

TEST_F(TextTest, WholeFileIsPageOne) {
  auto parsed = Parse("# Title\n\nSome *markdown* text.\n", FileFormat::kMarkdown);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->format, FileFormat::kMarkdown);
  EXPECT_EQ(parsed->page_count, 1);
  ASSERT_EQ(parsed->pages.size(), 1u);
  EXPECT_EQ(parsed->pages[0].page, 1);
  EXPECT_EQ(parsed->pages[0].text, "# Title\n\nSome *markdown* text.\n");
  EXPECT_FALSE(parsed->table.has_value());
}

TEST_F(TextTest, StripsUtf8BomAndNormalizesLineEndings) {
  auto parsed = Parse("\xEF\xBB\xBFline one\r\nline two\rline three\n");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->pages[0].text, "line one\nline two\nline three\n");
}

TEST_F(TextTest, KeepsValidMultibyteText) {
  const std::string text = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xE4\xB8\xAD\xE6\x96\x87";
  auto parsed = Parse(text);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->pages[0].text, text);
}

TEST_F(TextTest, RepairsAFewInvalidBytes) {
  // Stray Latin-1 byte, overlong encoding, UTF-16 surrogate, truncated
  // sequence, each byte replaced: 8 invalid bytes in ~1000 (< 1%).
  const std::string filler(1000, 'a');
  auto parsed = Parse(filler + "\xFF" + "b\xC0\xAF" + "c\xED\xA0\x80" + "d\xE2\x82");
  ASSERT_TRUE(parsed) << parsed.error().message;
  const std::string& text = parsed->pages[0].text;
  const std::string r(kReplacement);
  EXPECT_EQ(text, filler + r + "b" + r + r + "c" + r + r + r + "d" + r + r);
}

TEST_F(TextTest, MostlyInvalidBytesAreInvalidEncoding) {
  std::string latin1;
  for (int i = 0; i < 200; ++i) latin1 += "caf\xE9 ";  // Latin-1, not UTF-8
  auto parsed = Parse(latin1);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidEncoding);
}

TEST_F(TextTest, NulBytesMeanBinary) {
  auto parsed = Parse(std::string("plain text\0with a NUL", 21));
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidEncoding);
}

TEST_F(TextTest, EmptyAndWhitespaceOnlyAreEmptyFile) {
  for (std::string_view bytes : {std::string_view(""), std::string_view(" \n\t\r\n  "),
                                 std::string_view("\xEF\xBB\xBF\n")}) {
    auto parsed = Parse(bytes);
    ASSERT_FALSE(parsed) << "input size " << bytes.size();
    EXPECT_EQ(parsed.error().code, ErrorCode::kEmptyFile);
  }
}

TEST_F(TextTest, ConvertsUtf16LittleEndian) {
  // "hi€😀\r\n" in UTF-16LE with a BOM.
  const std::string utf16("\xFF\xFEh\0i\0\xAC\x20\x3D\xD8\x00\xDE\r\0\n\0", 16);
  auto parsed = Parse(utf16);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->pages[0].text, "hi\xE2\x82\xAC\xF0\x9F\x98\x80\n");
}

TEST_F(TextTest, ConvertsUtf16BigEndian) {
  const std::string utf16("\xFE\xFF\0O\0K\x20\xAC", 8);
  auto parsed = Parse(utf16);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->pages[0].text, "OK\xE2\x82\xAC");
}

TEST_F(TextTest, FileOverTextLimitFails) {
  options_.max_text_bytes = 100;
  auto parsed = Parse(std::string(101, 'x'));
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kParseFailed);
}

TEST_F(TextTest, MissingFileFails) {
  auto parsed = ParseText(dir_.path() / "missing.txt", FileFormat::kText, options_);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kParseFailed);
}

}  // namespace
}  // namespace ragpdf::parse
