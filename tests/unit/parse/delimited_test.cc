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

class DelimitedTest : public ::testing::Test {
 protected:
  common::Result<common::ParsedFile> Csv(std::string_view bytes) {
    return ParseDelimited(dir_.Write("data.csv", bytes), ',', options_);
  }
  common::Result<common::ParsedFile> Tsv(std::string_view bytes) {
    return ParseDelimited(dir_.Write("data.tsv", bytes), '\t', options_);
  }

  testing::ScratchDir dir_;
  ParseOptions options_;
};

TEST_F(DelimitedTest, QuotedFieldsWithCommasQuotesAndNewlines) {
  auto parsed =
      Csv("name,quote,city\n"
          "alice,\"said \"\"hi\"\", then left\",\"Paris, France\"\n"
          "bob,\"two\nlines\",Oslo\n");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->format, FileFormat::kCsv);
  EXPECT_EQ(parsed->page_count, 1);
  EXPECT_TRUE(parsed->pages.empty());
  ASSERT_TRUE(parsed->table);
  EXPECT_THAT(parsed->table->header, ElementsAre("name", "quote", "city"));
  EXPECT_THAT(parsed->table->rows,
              ElementsAre(Row{"alice", "said \"hi\", then left", "Paris, France"},
                          Row{"bob", "two\nlines", "Oslo"}));
}

TEST_F(DelimitedTest, BomAndCrlfAreHandled) {
  auto parsed = Csv("\xEF\xBB\xBFid,value\r\n1,\"a\r\nb\"\r\n2,c\r\n");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_THAT(parsed->table->header, ElementsAre("id", "value"));
  EXPECT_THAT(parsed->table->rows, ElementsAre(Row{"1", "a\nb"}, Row{"2", "c"}));
}

TEST_F(DelimitedTest, HeaderNamesAreFilledAndDeduplicated) {
  auto parsed = Csv("a,a,,a, b ,b\n1,2,3,4,5,6\n");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_THAT(parsed->table->header, ElementsAre("a", "a_2", "column_3", "a_3", "b", "b_2"));
}

TEST_F(DelimitedTest, RaggedRowsArePaddedAndExtendTheHeader) {
  auto parsed = Csv("x,y\n1\n1,2,3\n4,5,,\n");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_THAT(parsed->table->header, ElementsAre("x", "y", "column_3"));
  EXPECT_THAT(parsed->table->rows,
              ElementsAre(Row{"1", "", ""}, Row{"1", "2", "3"}, Row{"4", "5", ""}));
}

TEST_F(DelimitedTest, TrailingDelimiterIsNotAColumnAndBlankRowsAreSkipped) {
  auto parsed = Csv("a,b,\n,,\n1,2,\n\n3,4,\n");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_THAT(parsed->table->header, ElementsAre("a", "b"));
  EXPECT_THAT(parsed->table->rows, ElementsAre(Row{"1", "2"}, Row{"3", "4"}));
}

TEST_F(DelimitedTest, TabSeparated) {
  auto parsed = Tsv("name\tnote\n  Ada Lovelace \tfirst, programmer\n\t\"quoted\ttab\"\n");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->format, FileFormat::kTsv);
  EXPECT_THAT(parsed->table->header, ElementsAre("name", "note"));
  EXPECT_THAT(parsed->table->rows,
              ElementsAre(Row{"Ada Lovelace", "first, programmer"}, Row{"", "quoted\ttab"}));
}

TEST_F(DelimitedTest, InvalidUtf8IsRepaired) {
  auto parsed = Csv("name,n\n" + std::string(300, 'x') + "\xFF,1\n");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->table->rows[0][0], std::string(300, 'x') + "\xEF\xBF\xBD");
}

TEST_F(DelimitedTest, Utf16WithBomIsConverted) {
  // "k,v\n1,2\n" in UTF-16LE, as spreadsheet "Unicode text" exports write.
  auto parsed =
      Csv(std::string("\xFF\xFEk\0,\0v\0\n\0"
                      "1\0,\0"
                      "2\0\n\0",
                      18));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_THAT(parsed->table->header, ElementsAre("k", "v"));
  EXPECT_THAT(parsed->table->rows, ElementsAre(Row{"1", "2"}));
}

TEST_F(DelimitedTest, HeaderWithoutRowsAndEmptyFilesAreEmpty) {
  for (std::string_view bytes : {"a,b,c\n", "", "\n\n  \n", ",,\n,,\n"}) {
    auto parsed = Csv(bytes);
    ASSERT_FALSE(parsed) << "input: " << bytes;
    EXPECT_EQ(parsed.error().code, ErrorCode::kEmptyFile) << "input: " << bytes;
  }
}

TEST_F(DelimitedTest, BinaryIsInvalidEncoding) {
  auto parsed = Csv(std::string("PK\x03\x04\x14\0\0\0\x08\0", 10));
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidEncoding);
}

TEST_F(DelimitedTest, RowLimit) {
  options_.max_table_rows = 2;
  EXPECT_TRUE(Csv("h\n1\n2\n"));
  auto parsed = Csv("h\n1\n2\n3\n");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidTable);
}

TEST_F(DelimitedTest, ColumnLimit) {
  options_.max_table_columns = 3;
  EXPECT_TRUE(Csv("a,b,c\n1,2,3,,,,,,\n"));  // trailing empties do not count
  auto parsed = Csv("a,b,c\n1,2,3,4\n");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidTable);
}

TEST_F(DelimitedTest, CellLimitBoundsPadding) {
  options_.max_table_cells = 10;
  // One wide row pads every other row to 6 cells: 3 rows x 6 > 10.
  auto parsed = Csv("a\n1\n2\n1,2,3,4,5,6\n");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidTable);
}

}  // namespace
}  // namespace ragpdf::parse
