#include "store/sql_text.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ragpdf::store {
namespace {

using ::testing::ElementsAre;

TEST(BuildFtsQueryTest, QuotesEachWordAndJoinsWithOr) {
  EXPECT_EQ(BuildFtsQuery("hello world", 10), R"("hello" OR "world")");
  EXPECT_EQ(BuildFtsQuery("NEAR(a* b) col:x", 10), R"("NEAR" OR "a" OR "b" OR "col" OR "x")");
  EXPECT_EQ(BuildFtsQuery("say \"hi\"", 10), R"("say" OR "hi")");
}

TEST(BuildFtsQueryTest, KeepsNonAsciiWordsWhole) {
  EXPECT_EQ(BuildFtsQuery("café, 日本語!", 10), "\"café\" OR \"日本語\"");
}

TEST(BuildFtsQueryTest, DeduplicatesIgnoringCaseAndCapsTerms) {
  EXPECT_EQ(BuildFtsQuery("Zebra zebra ZEBRA fox", 10), R"("Zebra" OR "fox")");
  EXPECT_EQ(BuildFtsQuery("a b c d e", 3), R"("a" OR "b" OR "c")");
}

TEST(BuildFtsQueryTest, NoWordsGivesEmptyQuery) {
  EXPECT_EQ(BuildFtsQuery("", 10), "");
  EXPECT_EQ(BuildFtsQuery(" \"*():^-+ ", 10), "");
}

TEST(QuoteIdentifierTest, DoublesEmbeddedQuotes) {
  EXPECT_EQ(QuoteIdentifier("t_1"), "\"t_1\"");
  EXPECT_EQ(QuoteIdentifier("a\"b"), "\"a\"\"b\"");
}

TEST(SanitizeColumnNamesTest, ReplacesEmptiesAndDedupes) {
  EXPECT_THAT(SanitizeColumnNames({"Id", "first name", "", "ID", "id_2", "€"}),
              ElementsAre("Id", "first_name", "col_3", "ID_2", "id_2_2", "_"));
}

TEST(SanitizeColumnNamesTest, CutsLongNames) {
  const auto names = SanitizeColumnNames({std::string(100, 'a'), std::string(100, 'a')}, 8);
  EXPECT_THAT(names, ElementsAre("aaaaaaaa", "aaaaaaaa_2"));
}

}  // namespace
}  // namespace ragpdf::store
