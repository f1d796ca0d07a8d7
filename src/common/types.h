// Plain value types shared by several modules.
// Thread-safety: value types, safe to copy between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ragpdf::common {

enum class FileKind { kDocument, kTabular };
std::string_view FileKindName(FileKind kind);  // "document" / "tabular"

// Concrete format, decided from the file name and the first bytes.
enum class FileFormat { kPdf, kText, kMarkdown, kCsv, kTsv, kXlsx, kUnknown };
std::string_view FileFormatName(FileFormat format);
FileKind KindOf(FileFormat format);

// Text of one page (PDF) or of the whole file (text formats, page 1).
struct PageText {
  int page = 1;  // 1-based
  std::string text;
};

// A table read from CSV/TSV/XLSX (first sheet). All cells as UTF-8 text.
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // each row has header.size() cells
};

// What a parser produces. Documents fill `pages`; tables fill `table` (and
// leave `pages` empty: the chunker renders rows itself).
struct ParsedFile {
  FileFormat format = FileFormat::kUnknown;
  int page_count = 0;
  std::vector<PageText> pages;
  std::optional<Table> table;
};

}  // namespace ragpdf::common
