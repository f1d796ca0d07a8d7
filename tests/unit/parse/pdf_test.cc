#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parse/parser.h"
#include "test_files.h"

namespace ragpdf::parse {
namespace {

using common::ErrorCode;
using common::FileFormat;
using ::testing::HasSubstr;
using ::testing::Not;

const std::filesystem::path kCorpus = std::filesystem::path(RAGPDF_SHARED_DATA_DIR) / "pdf";

std::string TwoPagePdf() {
  return testing::MakePdf({testing::TextContent({"Hello World", "first page caf\xE9"}),
                           testing::TextContent({"Second page (with parentheses)"})});
}

class PdfTest : public ::testing::Test {
 protected:
  testing::ScratchDir dir_;
  ParseOptions options_;
};

TEST_F(PdfTest, ExtractsTextPerPage) {
  auto parsed = ParsePdfInProcess(dir_.Write("two.pdf", TwoPagePdf()), options_);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->format, FileFormat::kPdf);
  EXPECT_EQ(parsed->page_count, 2);
  ASSERT_EQ(parsed->pages.size(), 2u);
  EXPECT_EQ(parsed->pages[0].page, 1);
  EXPECT_EQ(parsed->pages[1].page, 2);
  EXPECT_THAT(parsed->pages[0].text, HasSubstr("Hello World"));
  // WinAnsi 0xE9 comes out as UTF-8.
  EXPECT_THAT(parsed->pages[0].text, HasSubstr("first page caf\xC3\xA9"));
  EXPECT_THAT(parsed->pages[0].text, Not(HasSubstr("Second")));
  EXPECT_THAT(parsed->pages[1].text, HasSubstr("Second page (with parentheses)"));
}

TEST_F(PdfTest, SeparatelyPositionedWordsKeepTheirSpace) {
  // Each word placed on its own, about one space width (3.9 pt) apart, as
  // many PDF producers do instead of writing space characters.
  const std::string content =
      "BT /F1 14 Tf 72 720 Td (Separate) Tj 61 0 Td (words) Tj 41.5 0 Td (here) Tj ET\n";
  auto parsed = ParsePdfInProcess(dir_.Write("words.pdf", testing::MakePdf({content})), options_);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_THAT(parsed->pages[0].text, HasSubstr("Separate words here"));
}

TEST_F(PdfTest, MaxPagesLimitsExtractionNotPageCount) {
  options_.max_pages = 1;
  auto parsed = ParsePdfInProcess(dir_.Write("two.pdf", TwoPagePdf()), options_);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->page_count, 2);
  ASSERT_EQ(parsed->pages.size(), 1u);
  EXPECT_THAT(parsed->pages[0].text, HasSubstr("Hello World"));
}

TEST_F(PdfTest, TextOverTheLimitFails) {
  options_.max_text_bytes = 10;
  auto parsed = ParsePdfInProcess(dir_.Write("two.pdf", TwoPagePdf()), options_);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kParseFailed);
}

TEST_F(PdfTest, PagesWithoutTextAreNoText) {
  const std::string drawing = "0 0 m 300 300 l S\n72 72 200 100 re f\n";
  auto parsed =
      ParsePdfInProcess(dir_.Write("drawing.pdf", testing::MakePdf({drawing, ""})), options_);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kNoText);
}

TEST_F(PdfTest, GarbageIsInvalidPdf) {
  auto parsed = ParsePdfInProcess(dir_.Write("garbage.pdf", std::string(4096, '\x9c')), options_);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidPdf);
}

TEST_F(PdfTest, TruncatedPdfIsInvalid) {
  auto parsed = ParsePdfInProcess(dir_.Write("cut.pdf", TwoPagePdf().substr(0, 40)), options_);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidPdf);
}

TEST_F(PdfTest, EmptyFileIsEmpty) {
  auto parsed = ParsePdfInProcess(dir_.Write("empty.pdf", ""), options_);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kEmptyFile);
}

TEST_F(PdfTest, PasswordProtectedIsEncrypted) {
  const auto path = kCorpus / "pdfminer" / "samples_encryption_aes-128.pdf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "shared corpus not present";
  auto parsed = ParsePdfInProcess(path, options_);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kEncryptedPdf);
}

TEST_F(PdfTest, ImageOnlyCorpusFileIsNoText) {
  const auto path = kCorpus / "py-pdf-sample-files" / "007-imagemagick-images_imagemagick-lzw.pdf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "shared corpus not present";
  auto parsed = ParsePdfInProcess(path, options_);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kNoText);
}

}  // namespace
}  // namespace ragpdf::parse
