// parse/: turns an uploaded file into text pages (PDF, text, Markdown) or a
// table (CSV, TSV, XLSX).
//
// Ownership: app/ creates one Parser from its configuration and shares it.
// Thread-safety: every function here may be called concurrently from many
// threads; Parser is immutable after construction.
// Blocking: all calls block on disk and, for PDFs, on a child process; call
// them from a worker pool, never from the I/O executor.
// Errors (values, never exceptions): kEmptyFile, kEncryptedPdf, kInvalidPdf,
// kNoText, kInvalidEncoding, kInvalidTable, kParseTimeout, kParseFailed,
// kUnsupportedFormat (Parser::Parse with kUnknown).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string_view>

#include "common/error.h"
#include "common/types.h"

namespace ragpdf::parse {

struct ParseOptions {
  // Per PDF; the worker process is killed past it (kParseTimeout).
  std::chrono::milliseconds timeout{30000};
  // PDFs with more pages: only the first max_pages are extracted.
  int max_pages = 5000;
  // Extracted text (and text/CSV file size) cap; past it: kParseFailed.
  std::uint64_t max_text_bytes = 64ull << 20;
  // RLIMIT_AS of the PDF worker process (0: no limit).
  std::uint64_t max_memory_bytes = 2ull << 30;
  // Table limits; past them: kInvalidTable.
  std::size_t max_table_rows = 1'000'000;
  std::size_t max_table_columns = 1'000;
  // rows x columns after padding: bounds memory for wide, sparse tables.
  std::size_t max_table_cells = 10'000'000;
  // Zip-bomb guard for XLSX (declared and actually inflated bytes).
  std::uint64_t max_xlsx_uncompressed_bytes = 512ull << 20;
  // Program whose RunParseWorker() handles `parse-worker` (the ragpdf binary).
  // Empty: PDFs are parsed in-process, without isolation (tests only).
  std::filesystem::path worker_executable;
};

// Format from the file name's extension (case-insensitive) and first bytes:
// "%PDF-" at the start means kPdf whatever the extension; .pdf is kPdf even
// without the magic (it then fails as kInvalidPdf); unknown: kUnknown.
common::FileFormat DetectFormat(std::string_view filename, std::string_view head_bytes);

// In-process parsers. PDF: one PageText per page (1-based), page_count is the
// document's page count even when only max_pages pages were extracted.
common::Result<common::ParsedFile> ParsePdfInProcess(const std::filesystem::path& path,
                                                     const ParseOptions& options);
// `format` is kText or kMarkdown. The whole file is page 1.
common::Result<common::ParsedFile> ParseText(const std::filesystem::path& path,
                                             common::FileFormat format,
                                             const ParseOptions& options);
// `delimiter` is ',' (CSV) or '\t' (TSV). Fills `table`; `pages` stays empty.
common::Result<common::ParsedFile> ParseDelimited(const std::filesystem::path& path, char delimiter,
                                                  const ParseOptions& options);
// First worksheet. Fills `table`; `pages` stays empty.
common::Result<common::ParsedFile> ParseXlsx(const std::filesystem::path& path,
                                             const ParseOptions& options);

class Parser {
 public:
  explicit Parser(ParseOptions options);

  // Dispatches on `format`. PDFs go through a worker process when
  // options().worker_executable is set, so a crashing or spinning poppler
  // cannot take the server down.
  common::Result<common::ParsedFile> Parse(const std::filesystem::path& path,
                                           common::FileFormat format) const;
  const ParseOptions& options() const { return options_; }

 private:
  ParseOptions options_;
};

// main() of the worker process: argv is
// {exe, "parse-worker", pdf_path, max_pages, max_text_bytes, max_memory_bytes}.
// Writes one framed result to stdout and returns the process exit code
// (0 after writing a result, 2 on bad arguments).
int RunParseWorker(int argc, char** argv);

}  // namespace ragpdf::parse
