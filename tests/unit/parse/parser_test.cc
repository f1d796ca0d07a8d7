#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parse/parser.h"
#include "test_files.h"

namespace ragpdf::parse {
namespace {

using common::ErrorCode;
using common::FileFormat;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

const std::filesystem::path kCorpus = std::filesystem::path(RAGPDF_SHARED_DATA_DIR) / "pdf";

std::size_t OpenFdCount() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    ++count;
  }
  return count;
}

class ParserTest : public ::testing::Test {
 protected:
  ParserTest() {
    options_.worker_executable = RAGPDF_PARSE_WORKER;
    pdf_ =
        dir_.Write("two.pdf", testing::MakePdf({testing::TextContent({"Hello World", "line two"}),
                                                testing::TextContent({"Second page"})}));
  }

  testing::ScratchDir dir_;
  ParseOptions options_;
  std::filesystem::path pdf_;
};

TEST_F(ParserTest, WorkerGivesTheSamePagesAsInProcess) {
  auto in_process = ParsePdfInProcess(pdf_, options_);
  auto sandboxed = Parser(options_).Parse(pdf_, FileFormat::kPdf);
  ASSERT_TRUE(in_process) << in_process.error().message;
  ASSERT_TRUE(sandboxed) << sandboxed.error().message;
  EXPECT_EQ(sandboxed->format, FileFormat::kPdf);
  EXPECT_EQ(sandboxed->page_count, in_process->page_count);
  ASSERT_EQ(sandboxed->pages.size(), in_process->pages.size());
  for (std::size_t i = 0; i < in_process->pages.size(); ++i) {
    EXPECT_EQ(sandboxed->pages[i].page, in_process->pages[i].page);
    EXPECT_EQ(sandboxed->pages[i].text, in_process->pages[i].text);
  }
  EXPECT_THAT(sandboxed->pages[1].text, HasSubstr("Second page"));
}

TEST_F(ParserTest, WorkerPassesLimitsAndErrorsThrough) {
  options_.max_pages = 1;
  auto one_page = Parser(options_).Parse(pdf_, FileFormat::kPdf);
  ASSERT_TRUE(one_page) << one_page.error().message;
  EXPECT_EQ(one_page->page_count, 2);
  EXPECT_EQ(one_page->pages.size(), 1u);

  const Parser parser(ParseOptions{.worker_executable = RAGPDF_PARSE_WORKER});
  auto garbage = parser.Parse(dir_.Write("garbage.pdf", "not a pdf at all"), FileFormat::kPdf);
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, ErrorCode::kInvalidPdf);
  auto empty = parser.Parse(dir_.Write("empty.pdf", ""), FileFormat::kPdf);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::kEmptyFile);
  auto drawing = parser.Parse(dir_.Write("drawing.pdf", testing::MakePdf({"0 0 m 9 9 l S"})),
                              FileFormat::kPdf);
  ASSERT_FALSE(drawing);
  EXPECT_EQ(drawing.error().code, ErrorCode::kNoText);
}

TEST_F(ParserTest, EncryptedPdfThroughTheWorker) {
  const auto path = kCorpus / "pdfminer" / "samples_encryption_rc4-128.pdf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "shared corpus not present";
  auto parsed = Parser(options_).Parse(path, FileFormat::kPdf);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kEncryptedPdf);
}

TEST_F(ParserTest, HangingWorkerIsKilledAtTheTimeout) {
  options_.worker_executable = dir_.WriteScript("hang.sh", "exec sleep 30");
  options_.timeout = milliseconds(300);
  const auto start = Clock::now();
  auto parsed = Parser(options_).Parse(pdf_, FileFormat::kPdf);
  const auto elapsed = Clock::now() - start;
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kParseTimeout);
  EXPECT_GE(elapsed, milliseconds(300));
  EXPECT_LT(elapsed, milliseconds(2300));
}

TEST_F(ParserTest, PathologicalCorpusPdfRespectsTheTimeout) {
  // Marked `timeout` in MANIFEST.tsv: pdfinfo did not finish on it.
  const auto path = kCorpus / "qpdf" / "qpdf_qtest_qpdf_shared-unnamed-field.pdf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "shared corpus not present";
  options_.timeout = milliseconds(2000);
  const auto start = Clock::now();
  auto parsed = Parser(options_).Parse(path, FileFormat::kPdf);
  const auto elapsed = Clock::now() - start;
  EXPECT_LT(elapsed, milliseconds(4000));
  if (!parsed) {
    EXPECT_THAT(parsed.error().code,
                ::testing::AnyOf(ErrorCode::kParseTimeout, ErrorCode::kInvalidPdf,
                                 ErrorCode::kNoText, ErrorCode::kParseFailed))
        << parsed.error().message;
  }
}

TEST_F(ParserTest, CrashingWorkerIsParseFailed) {
  struct Case {
    std::string name;
    std::string script;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"segv.sh", "kill -SEGV $$", "signal 11"},
      {"exit.sh", "exit 7", "status 7"},
      {"garbage.sh", "echo garbage", "malformed"},
      {"truncated.sh", "printf 'RAGPDFW1'", "malformed"},
  };
  for (const Case& c : cases) {
    options_.worker_executable = dir_.WriteScript(c.name, c.script);
    auto parsed = Parser(options_).Parse(pdf_, FileFormat::kPdf);
    ASSERT_FALSE(parsed) << c.name;
    EXPECT_EQ(parsed.error().code, ErrorCode::kParseFailed) << c.name;
    EXPECT_THAT(parsed.error().message, HasSubstr(c.message)) << c.name;
  }
  options_.worker_executable = "/bin/false";
  auto parsed = Parser(options_).Parse(pdf_, FileFormat::kPdf);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kParseFailed);
}

TEST_F(ParserTest, MissingWorkerIsParseFailed) {
  options_.worker_executable = dir_.path() / "no-such-worker";
  auto parsed = Parser(options_).Parse(pdf_, FileFormat::kPdf);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kParseFailed);
}

TEST_F(ParserTest, EndlessOutputIsCutAtTheResultLimit) {
  options_.worker_executable = dir_.WriteScript("yes.sh", "exec yes");
  options_.max_pages = 1;
  options_.max_text_bytes = 1000;
  const auto start = Clock::now();
  auto parsed = Parser(options_).Parse(pdf_, FileFormat::kPdf);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kParseFailed);
  EXPECT_LT(Clock::now() - start, milliseconds(5000));
}

TEST_F(ParserTest, MemoryLimitIsEnforcedInTheWorker) {
  options_.max_memory_bytes = 1 << 20;  // below what the worker already maps
  auto parsed = Parser(options_).Parse(pdf_, FileFormat::kPdf);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kParseFailed);
}

TEST_F(ParserTest, ConcurrentParsesDoNotInterfereOrLeakDescriptors) {
  const std::size_t fds_before = OpenFdCount();
  const Parser parser(options_);
  auto expected = parser.Parse(pdf_, FileFormat::kPdf);
  ASSERT_TRUE(expected) << expected.error().message;
  const auto garbage = dir_.Write("garbage.pdf", "junk");
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3; ++i) {
        auto good = parser.Parse(pdf_, FileFormat::kPdf);
        if (!good || good->pages.size() != expected->pages.size() ||
            good->pages[1].text != expected->pages[1].text) {
          ++failures[t];
        }
        auto bad = parser.Parse(garbage, FileFormat::kPdf);
        if (bad || bad.error().code != ErrorCode::kInvalidPdf) ++failures[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_THAT(failures, ::testing::Each(0));
  EXPECT_EQ(OpenFdCount(), fds_before);
}

TEST_F(ParserTest, DispatchesOtherFormatsInProcess) {
  const Parser parser(options_);
  auto text = parser.Parse(dir_.Write("a.md", "# Hi\n"), FileFormat::kMarkdown);
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ(text->format, FileFormat::kMarkdown);
  EXPECT_EQ(text->pages.at(0).text, "# Hi\n");

  auto csv = parser.Parse(dir_.Write("a.csv", "a;b,c\n1;2,3\n"), FileFormat::kCsv);
  ASSERT_TRUE(csv) << csv.error().message;
  EXPECT_EQ(csv->table->header, (std::vector<std::string>{"a;b", "c"}));

  auto tsv = parser.Parse(dir_.Write("a.tsv", "a;b,c\tx\n1\t2\n"), FileFormat::kTsv);
  ASSERT_TRUE(tsv) << tsv.error().message;
  EXPECT_EQ(tsv->format, FileFormat::kTsv);
  EXPECT_EQ(tsv->table->header, (std::vector<std::string>{"a;b,c", "x"}));

  auto unknown = parser.Parse(dir_.Write("a.bin", "x"), FileFormat::kUnknown);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kUnsupportedFormat);
}

TEST(ParseWorkerTest, RejectsBadArguments) {
  std::string exe = "worker", command = "parse-worker", path = "x.pdf", bad = "-5";
  std::vector<char*> too_few = {exe.data(), command.data(), path.data()};
  EXPECT_EQ(RunParseWorker(static_cast<int>(too_few.size()), too_few.data()), 2);
  std::vector<char*> not_numbers = {exe.data(), command.data(), path.data(),
                                    bad.data(), bad.data(),     bad.data()};
  EXPECT_EQ(RunParseWorker(static_cast<int>(not_numbers.size()), not_numbers.data()), 2);
}

}  // namespace
}  // namespace ragpdf::parse
