#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "chunk/chunker.h"
#include "test_tokenizers.h"

namespace ragpdf::chunk {
namespace {

using testing::WhitespaceTokenizer;

common::Table MakeTable(int rows) {
  common::Table table;
  table.header = {"id", "name", "city"};
  for (int i = 0; i < rows; ++i) {
    const std::string n = std::to_string(i);
    std::string city;
    if (i % 3 != 0) city = "City" + n;
    table.rows.push_back({"r" + n, "Name" + n, city});
  }
  return table;
}

TEST(ChunkTableTest, HeaderRepeatedAndEveryCellPresent) {
  WhitespaceTokenizer tokenizer;
  const common::Table table = MakeTable(40);
  const auto chunks = ChunkTable(table, tokenizer, ChunkOptions{30, 4});
  ASSERT_GT(chunks.size(), 3u);
  std::string all;
  for (const Chunk& chunk : chunks) {
    EXPECT_EQ(chunk.text.rfind("Columns: id, name, city\n", 0), 0u) << chunk.text;
    EXPECT_LE(chunk.token_count, 30);
    EXPECT_EQ(chunk.token_count, tokenizer.CountTokens(chunk.text));
    EXPECT_EQ(chunk.page_start, 1);
    EXPECT_EQ(chunk.page_end, 1);
    all += chunk.text + "\n";
  }
  for (int i = 0; i < 40; ++i) {
    std::string row = "id: r" + std::to_string(i) + " | name: Name" + std::to_string(i);
    if (i % 3 != 0) row += " | city: City" + std::to_string(i);
    row += "\n";  // whole rows, each once (no overlap for tables)
    const auto at = all.find(row);
    ASSERT_NE(at, std::string::npos) << row;
    EXPECT_EQ(all.find(row, at + 1), std::string::npos) << row;
  }
}

TEST(ChunkTableTest, LongRowIsSplitByWords) {
  WhitespaceTokenizer tokenizer;
  common::Table table;
  table.header = {"k", "text"};
  std::string long_text;
  for (int i = 0; i < 100; ++i) long_text += "word" + std::to_string(i) + " ";
  table.rows = {{"a", "short"}, {"b", long_text}, {"c", "tail"}};
  const auto chunks = ChunkTable(table, tokenizer, ChunkOptions{20, 0});
  ASSERT_GT(chunks.size(), 5u);
  std::vector<std::string> seen;
  for (const Chunk& chunk : chunks) {
    EXPECT_EQ(chunk.text.rfind("Columns: k, text\n", 0), 0u);
    EXPECT_LE(chunk.token_count, 20);
    std::istringstream in(chunk.text.substr(chunk.text.find('\n') + 1));
    for (std::string w; in >> w;) seen.push_back(w);
  }
  // All words in order, each once.
  std::vector<std::string> expected = {"k:", "a", "|", "text:", "short", "k:", "b", "|", "text:"};
  for (int i = 0; i < 100; ++i) expected.push_back("word" + std::to_string(i));
  for (const char* w : {"k:", "c", "|", "text:", "tail"}) expected.push_back(w);
  EXPECT_EQ(seen, expected);
}

TEST(ChunkTableTest, WideHeaderIsTruncatedToHalfTheBudget) {
  WhitespaceTokenizer tokenizer;
  common::Table table;
  for (int c = 0; c < 50; ++c) table.header.push_back("col" + std::to_string(c));
  table.rows.push_back(std::vector<std::string>(50, "v"));
  const auto chunks = ChunkTable(table, tokenizer, ChunkOptions{40, 0});
  ASSERT_FALSE(chunks.empty());
  for (const Chunk& chunk : chunks) {
    const std::string header = chunk.text.substr(0, chunk.text.find('\n'));
    EXPECT_LE(tokenizer.CountTokens(header), 20) << header;
    EXPECT_EQ(header.rfind("Columns: col0, col1,", 0), 0u) << header;
    EXPECT_NE(header.find("more)"), std::string::npos) << header;
    EXPECT_LE(chunk.token_count, 40);
  }
  // Every cell still appears, in order (the row is split across chunks).
  std::vector<std::string> seen, expected;
  for (const Chunk& chunk : chunks) {
    std::istringstream in(chunk.text.substr(chunk.text.find('\n') + 1));
    for (std::string w; in >> w;) seen.push_back(w);
  }
  for (int c = 0; c < 50; ++c) {
    if (c > 0) expected.push_back("|");
    expected.push_back("col" + std::to_string(c) + ":");
    expected.push_back("v");
  }
  EXPECT_EQ(seen, expected);
}

TEST(ChunkTableTest, UnnamedColumnsEmptyRowsAndEmptyTables) {
  WhitespaceTokenizer tokenizer;
  common::Table table;
  table.header = {"name", ""};
  table.rows = {{"", ""}, {"x\ny", "2"}};
  const auto chunks = ChunkTable(table, tokenizer, ChunkOptions{64, 8});
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].text, "Columns: name, column 2\nname: x y | column 2: 2");

  EXPECT_TRUE(ChunkTable(common::Table{}, tokenizer, ChunkOptions{64, 8}).empty());
  table.rows = {{"", " "}};
  EXPECT_TRUE(ChunkTable(table, tokenizer, ChunkOptions{64, 8}).empty());
}

}  // namespace
}  // namespace ragpdf::chunk
