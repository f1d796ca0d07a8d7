// Golden files: tests/data/chunk/<name>.txt (pages separated by form feeds)
// is chunked and compared exactly with <name>.golden. After an intended
// change, regenerate with RAGPDF_UPDATE_GOLDEN=1 and review the diff.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "chunk/chunker.h"
#include "test_tokenizers.h"

namespace ragpdf::chunk {
namespace {

const std::filesystem::path kDataDir = std::filesystem::path(RAGPDF_TEST_DATA_DIR) / "chunk";
constexpr ChunkOptions kOptions{40, 5};

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<common::PageText> SplitPages(const std::string& text) {
  std::vector<common::PageText> pages;
  std::size_t start = 0;
  for (int page = 1;; ++page) {
    const std::size_t end = text.find('\f', start);
    pages.push_back({page, text.substr(start, end == std::string::npos ? end : end - start)});
    if (end == std::string::npos) return pages;
    start = end + 1;
  }
}

std::string Render(const std::vector<Chunk>& chunks) {
  std::ostringstream out;
  out << "# chunk_tokens=" << kOptions.chunk_tokens << " overlap_tokens=" << kOptions.overlap_tokens
      << " tokenizer=whitespace\n";
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    out << "=== chunk " << i << " pages " << chunks[i].page_start << "-" << chunks[i].page_end
        << " tokens " << chunks[i].token_count << "\n"
        << chunks[i].text << "\n";
  }
  return out.str();
}

class GoldenTest : public ::testing::TestWithParam<const char*> {};

TEST_P(GoldenTest, MatchesGoldenFile) {
  const std::string input = ReadFile(kDataDir / (std::string(GetParam()) + ".txt"));
  ASSERT_FALSE(input.empty());
  testing::WhitespaceTokenizer tokenizer;
  const std::string actual = Render(ChunkPages(SplitPages(input), tokenizer, kOptions));
  const auto golden_path = kDataDir / (std::string(GetParam()) + ".golden");
  if (const char* update = std::getenv("RAGPDF_UPDATE_GOLDEN");
      update && std::string(update) == "1") {
    std::ofstream(golden_path, std::ios::binary) << actual;
    GTEST_SKIP() << "wrote " << golden_path;
  }
  EXPECT_EQ(actual, ReadFile(golden_path));
}

INSTANTIATE_TEST_SUITE_P(Chunk, GoldenTest, ::testing::Values("report", "multilingual"));

}  // namespace
}  // namespace ragpdf::chunk
