#include <string_view>

#include <gtest/gtest.h>

#include "parse/parser.h"

namespace ragpdf::parse {
namespace {

using common::FileFormat;

struct DetectCase {
  std::string_view filename;
  std::string_view head;
  FileFormat expected;
};

class DetectFormatTest : public ::testing::TestWithParam<DetectCase> {};

TEST_P(DetectFormatTest, DecidesFromExtensionAndMagic) {
  const DetectCase& c = GetParam();
  EXPECT_EQ(DetectFormat(c.filename, c.head), c.expected)
      << c.filename << " -> " << common::FileFormatName(DetectFormat(c.filename, c.head));
}

INSTANTIATE_TEST_SUITE_P(
    Table, DetectFormatTest,
    ::testing::Values(DetectCase{"report.pdf", "%PDF-1.7\n", FileFormat::kPdf},
                      DetectCase{"REPORT.PDF", "%PDF-1.4", FileFormat::kPdf},
                      // A .pdf without magic stays a PDF so it fails as invalid_pdf.
                      DetectCase{"broken.pdf", "garbage", FileFormat::kPdf},
                      DetectCase{"empty.pdf", "", FileFormat::kPdf},
                      // The magic wins over a wrong or missing extension.
                      DetectCase{"notes.txt", "%PDF-1.5", FileFormat::kPdf},
                      DetectCase{"upload.bin", "%PDF-1.5", FileFormat::kPdf},
                      DetectCase{"noextension", "%PDF-1.3", FileFormat::kPdf},
                      DetectCase{"sheet.xlsx", "PK\x03\x04", FileFormat::kXlsx},
                      DetectCase{"Sheet.XLSX", "not a zip", FileFormat::kXlsx},
                      DetectCase{"notes.txt", "hello", FileFormat::kText},
                      DetectCase{"notes.TEXT", "hello", FileFormat::kText},
                      DetectCase{"readme.md", "# Title", FileFormat::kMarkdown},
                      DetectCase{"readme.Markdown", "# Title", FileFormat::kMarkdown},
                      DetectCase{"data.csv", "a,b", FileFormat::kCsv},
                      DetectCase{"data.TSV", "a\tb", FileFormat::kTsv},
                      DetectCase{"archive.tar.gz", "\x1f\x8b", FileFormat::kUnknown},
                      DetectCase{"letter.docx", "PK\x03\x04", FileFormat::kUnknown},
                      DetectCase{"noextension", "hello", FileFormat::kUnknown},
                      DetectCase{"dir.pdf/file", "hello", FileFormat::kUnknown},
                      DetectCase{"", "", FileFormat::kUnknown}));

}  // namespace
}  // namespace ragpdf::parse
