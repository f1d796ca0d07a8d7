#include "common/types.h"

namespace ragpdf::common {

std::string_view FileKindName(FileKind kind) {
  return kind == FileKind::kTabular ? "tabular" : "document";
}

std::string_view FileFormatName(FileFormat format) {
  switch (format) {
    case FileFormat::kPdf:
      return "pdf";
    case FileFormat::kText:
      return "text";
    case FileFormat::kMarkdown:
      return "markdown";
    case FileFormat::kCsv:
      return "csv";
    case FileFormat::kTsv:
      return "tsv";
    case FileFormat::kXlsx:
      return "xlsx";
    case FileFormat::kUnknown:
      return "unknown";
  }
  return "unknown";
}

FileKind KindOf(FileFormat format) {
  switch (format) {
    case FileFormat::kCsv:
    case FileFormat::kTsv:
    case FileFormat::kXlsx:
      return FileKind::kTabular;
    default:
      return FileKind::kDocument;
  }
}

}  // namespace ragpdf::common
