#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parse/parser.h"
#include "test_files.h"

namespace ragpdf::parse {
namespace {

using common::ErrorCode;
using common::FileFormat;
using ::testing::ElementsAre;

using Row = std::vector<std::string>;

constexpr std::string_view kSharedStrings =
    R"(<si><t>Name</t></si>)"
    R"(<si><t>Score</t></si>)"
    R"(<si><r><t>Al</t></r><r><rPr><b/></rPr><t>ice</t></r><rPh><t>ignored</t></rPh></si>)"
    R"(<si><t xml:space="preserve"> padded &amp; escaped </t></si>)";

// Sparse cells: C1 and B3 are missing, E2 is past the header, row 4 skipped.
constexpr std::string_view kSheet =
    R"(<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>)"
    R"(<c r="D1" t="inlineStr"><is><t>Notes</t></is></c></row>)"
    R"(<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2"><v>93.5</v></c>)"
    R"(<c r="D2" t="str"><f>CONCAT("o","k")</f><v>ok</v></c><c r="E2" t="s"><v>3</v></c></row>)"
    R"(<row r="3"><c r="A3" t="inlineStr"><is><t>Bob</t></is></c><c r="C3" t="b"><v>1</v></c>)"
    R"(<c r="D3" t="e"><v>#DIV/0!</v></c></row>)"
    R"(<row r="5"><c r="A5"><v>42</v></c><c r="B5" t="b"><v>0</v></c></row>)";

class XlsxTest : public ::testing::Test {
 protected:
  common::Result<common::ParsedFile> Parse(const std::map<std::string, std::string>& parts) {
    const auto path = dir_.path() / "book.xlsx";
    testing::WriteZip(path, parts);
    return ParseXlsx(path, options_);
  }

  testing::ScratchDir dir_;
  ParseOptions options_;
};

TEST_F(XlsxTest, ReadsSparseCellsSharedAndInlineStrings) {
  auto parsed = Parse(testing::XlsxParts(kSheet, kSharedStrings));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->format, FileFormat::kXlsx);
  EXPECT_EQ(parsed->page_count, 1);
  EXPECT_TRUE(parsed->pages.empty());
  ASSERT_TRUE(parsed->table);
  EXPECT_THAT(parsed->table->header, ElementsAre("Name", "Score", "column_3", "Notes", "column_5"));
  EXPECT_THAT(parsed->table->rows,
              ElementsAre(Row{"Alice", "93.5", "", "ok", " padded & escaped "},
                          Row{"Bob", "", "TRUE", "#DIV/0!", ""}, Row{"42", "FALSE", "", "", ""}));
}

TEST_F(XlsxTest, CellsWithoutReferencesFollowEachOther) {
  auto parsed = Parse(testing::XlsxParts(
      R"(<row><c t="inlineStr"><is><t>a</t></is></c><c t="inlineStr"><is><t>b</t></is></c></row>)"
      R"(<row><c><v>1</v></c><c r="C2"><v>3</v></c><c><v>4</v></c></row>)",
      ""));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_THAT(parsed->table->header, ElementsAre("a", "b", "column_3", "column_4"));
  EXPECT_THAT(parsed->table->rows, ElementsAre(Row{"1", "", "3", "4"}));
}

TEST_F(XlsxTest, FollowsWorkbookRelationshipsToTheFirstSheet) {
  auto parts = testing::XlsxParts(R"(<row><c t="inlineStr"><is><t>wrong</t></is></c></row>)", "");
  // The first sheet in workbook order lives in another part, with a prefixed
  // namespace as some writers produce.
  parts["xl/workbook.xml"] =
      R"(<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" )"
      R"(xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">)"
      R"(<sheets><sheet name="First" sheetId="2" r:id="rId7"/>)"
      R"(<sheet name="Second" sheetId="1" r:id="rId1"/></sheets></workbook>)";
  parts["xl/_rels/workbook.xml.rels"] =
      R"(<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">)"
      R"(<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>)"
      R"(<Relationship Id="rId7" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="/xl/worksheets/first.xml"/>)"
      R"(</Relationships>)";
  parts["xl/worksheets/first.xml"] =
      R"(<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">)"
      R"(<x:sheetData><x:row><x:c t="inlineStr"><x:is><x:t>right</x:t></x:is></x:c></x:row>)"
      R"(<x:row><x:c><x:v>7</x:v></x:c></x:row></x:sheetData></x:worksheet>)";
  auto parsed = Parse(parts);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_THAT(parsed->table->header, ElementsAre("right"));
  EXPECT_THAT(parsed->table->rows, ElementsAre(Row{"7"}));
}

TEST_F(XlsxTest, FallsBackToSheet1WithoutWorkbookParts) {
  auto parts =
      testing::XlsxParts(R"(<row><c t="s"><v>0</v></c></row><row><c t="s"><v>1</v></c></row>)",
                         R"(<si><t>h</t></si><si><t>v</t></si>)");
  parts.erase("xl/workbook.xml");
  parts.erase("xl/_rels/workbook.xml.rels");
  auto parsed = Parse(parts);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_THAT(parsed->table->header, ElementsAre("h"));
  EXPECT_THAT(parsed->table->rows, ElementsAre(Row{"v"}));
}

TEST_F(XlsxTest, HeaderRulesMatchCsv) {
  auto parsed = Parse(testing::XlsxParts(
      R"(<row><c r="A1" t="inlineStr"><is><t>k</t></is></c><c r="B1" t="inlineStr"><is><t>k</t></is></c></row>)"
      R"(<row><c r="A2"><v>1</v></c><c r="B2"><v>2</v></c></row>)",
      ""));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_THAT(parsed->table->header, ElementsAre("k", "k_2"));
}

TEST_F(XlsxTest, NotAZipIsInvalidTable) {
  auto parsed = ParseXlsx(dir_.Write("fake.xlsx", "this is not a zip archive at all"), options_);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidTable);
}

TEST_F(XlsxTest, EmptyFileIsEmpty) {
  auto parsed = ParseXlsx(dir_.Write("empty.xlsx", ""), options_);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kEmptyFile);
}

TEST_F(XlsxTest, ZipWithoutWorksheetIsInvalidTable) {
  auto parsed = Parse({{"[Content_Types].xml", "<Types/>"}, {"hello.txt", "hi"}});
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidTable);
}

TEST_F(XlsxTest, MalformedXmlIsInvalidTable) {
  auto parts = testing::XlsxParts("<row><c><v>1</v></row>", "");
  auto parsed = Parse(parts);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidTable);
}

TEST_F(XlsxTest, HeaderOnlyIsEmpty) {
  auto parsed =
      Parse(testing::XlsxParts(R"(<row><c t="inlineStr"><is><t>a</t></is></c></row>)", ""));
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kEmptyFile);
}

TEST_F(XlsxTest, UncompressedSizeIsCapped) {
  // 2 MiB of repeated rows compress to a few KiB: a small zip bomb.
  std::string rows;
  while (rows.size() < (2u << 20)) rows += R"(<row><c><v>1234567890</v></c></row>)";
  options_.max_xlsx_uncompressed_bytes = 1u << 20;
  auto parsed = Parse(testing::XlsxParts(rows, ""));
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidTable);
  EXPECT_THAT(parsed.error().message, ::testing::HasSubstr("limit"));
}

TEST_F(XlsxTest, ColumnAndRowLimits) {
  options_.max_table_columns = 10;
  auto wide = Parse(testing::XlsxParts(
      R"(<row><c r="A1"><v>1</v></c></row><row><c r="ZZ2"><v>2</v></c></row>)", ""));
  ASSERT_FALSE(wide);
  EXPECT_EQ(wide.error().code, ErrorCode::kInvalidTable);

  options_.max_table_rows = 1;
  auto tall = Parse(testing::XlsxParts(
      R"(<row><c><v>1</v></c></row><row><c><v>2</v></c></row><row><c><v>3</v></c></row>)", ""));
  ASSERT_FALSE(tall);
  EXPECT_EQ(tall.error().code, ErrorCode::kInvalidTable);
}

}  // namespace
}  // namespace ragpdf::parse
