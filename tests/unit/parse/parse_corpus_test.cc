// Every PDF of the shared corpus through the sandboxed Parser (slow: run with
// `ctest -L corpus`). Prints a summary of outcomes.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <gtest/gtest.h>

#include "parse/parser.h"

namespace ragpdf::parse {
namespace {

using common::ErrorCode;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

const std::filesystem::path kCorpus = std::filesystem::path(RAGPDF_SHARED_DATA_DIR) / "pdf";
constexpr milliseconds kTimeout{20000};
constexpr int kThreads = 2;

struct ManifestRow {
  std::string path;
  int pages = 0;
  std::string pdfinfo;
  long text_chars = 0;
};

struct Outcome {
  std::string name;  // "ok" or the error code name
  std::string message;
  int page_count = 0;
  bool has_text = false;
  milliseconds elapsed{0};
};

std::vector<std::string> SplitTabs(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream stream(line);
  std::string field;
  while (std::getline(stream, field, '\t')) fields.push_back(field);
  return fields;
}

std::vector<ManifestRow> ReadManifest() {
  std::ifstream in(kCorpus / "MANIFEST.tsv");
  std::string line;
  std::getline(in, line);
  std::unordered_map<std::string, std::size_t> column;
  const auto header = SplitTabs(line);
  for (std::size_t i = 0; i < header.size(); ++i) column[header[i]] = i;
  for (const char* name : {"path", "pages", "pdfinfo", "text_chars_first5"}) {
    if (!column.contains(name)) ADD_FAILURE() << "MANIFEST.tsv lacks column " << name;
  }
  std::vector<ManifestRow> rows;
  while (std::getline(in, line)) {
    const auto fields = SplitTabs(line);
    if (fields.size() < header.size()) continue;
    rows.push_back({fields[column["path"]], std::stoi(fields[column["pages"]]),
                    fields[column["pdfinfo"]], std::stol(fields[column["text_chars_first5"]])});
  }
  return rows;
}

Outcome ParseOne(const Parser& parser, const ManifestRow& row) {
  const auto start = Clock::now();
  auto parsed = parser.Parse(kCorpus / row.path, common::FileFormat::kPdf);
  Outcome outcome;
  outcome.elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  if (!parsed) {
    outcome.name = common::ErrorCodeName(parsed.error().code);
    outcome.message = parsed.error().message;
    return outcome;
  }
  outcome.name = "ok";
  outcome.page_count = parsed->page_count;
  for (const auto& page : parsed->pages) {
    if (page.text.find_first_not_of(" \t\n") != std::string::npos) outcome.has_text = true;
  }
  return outcome;
}

TEST(ParseCorpusTest, EveryPdfParsesOrFailsCleanly) {
  if (!std::filesystem::exists(kCorpus / "MANIFEST.tsv")) GTEST_SKIP() << "no shared corpus";
  const std::vector<ManifestRow> rows = ReadManifest();
  ASSERT_FALSE(rows.empty());

  ParseOptions options;
  options.worker_executable = RAGPDF_PARSE_WORKER;
  options.timeout = kTimeout;
  const Parser parser(options);
  std::vector<Outcome> outcomes(rows.size());
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (std::size_t i = next++; i < rows.size(); i = next++) {
        outcomes[i] = ParseOne(parser, rows[i]);
      }
    });
  }
  for (auto& thread : threads) thread.join();

  const std::set<std::string> allowed = {"ok",         "encrypted_pdf", "invalid_pdf", "no_text",
                                         "empty_file", "parse_timeout", "parse_failed"};
  std::map<std::string, std::map<std::string, int>> summary;  // pdfinfo -> outcome -> count
  int password_rows = 0, password_opened = 0;
  int text_rows = 0, text_ok = 0;
  int ok_rows = 0, pages_match = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const ManifestRow& row = rows[i];
    const Outcome& outcome = outcomes[i];
    ++summary[row.pdfinfo][outcome.name];
    EXPECT_TRUE(allowed.contains(outcome.name)) << row.path << ": " << outcome.name;
    EXPECT_LT(outcome.elapsed, kTimeout + milliseconds(2000)) << row.path;
    if (row.pdfinfo == "needs_password") {
      ++password_rows;
      if (outcome.name == "ok") {
        ++password_opened;
        std::printf("  needs_password but opened with an empty password: %s\n", row.path.c_str());
      } else {
        EXPECT_EQ(outcome.name, "encrypted_pdf") << row.path << ": " << outcome.message;
      }
    }
    if (row.pdfinfo == "ok" && row.text_chars > 0) {
      ++text_rows;
      if (outcome.name == "ok" && outcome.has_text) {
        ++text_ok;
      } else {
        std::printf("  text expected, got %s (%s): %s\n", outcome.name.c_str(),
                    outcome.message.c_str(), row.path.c_str());
      }
    }
    if (row.pdfinfo == "ok" && outcome.name == "ok") {
      ++ok_rows;
      if (outcome.page_count == row.pages) {
        ++pages_match;
      } else {
        std::printf("  page count %d, manifest says %d: %s\n", outcome.page_count, row.pages,
                    row.path.c_str());
      }
    }
  }

  std::printf("\n%-16s %-14s %6s\n", "pdfinfo", "outcome", "files");
  for (const auto& [pdfinfo, counts] : summary) {
    for (const auto& [name, count] : counts) {
      std::printf("%-16s %-14s %6d\n", pdfinfo.c_str(), name.c_str(), count);
    }
  }
  std::printf(
      "files: %zu; needs_password: %d (%d opened); text expected: %d, parsed: %d; "
      "pages match: %d of %d\n",
      rows.size(), password_rows, password_opened, text_rows, text_ok, pages_match, ok_rows);
  EXPECT_GE(text_ok, text_rows * 98 / 100);
  EXPECT_GE(pages_match, ok_rows * 98 / 100);
}

}  // namespace
}  // namespace ragpdf::parse
