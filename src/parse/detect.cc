#include <algorithm>
#include <cctype>
#include <string>

#include "parse/parser.h"

namespace ragpdf::parse {

using common::FileFormat;

namespace {

std::string LowerExtension(std::string_view filename) {
  const std::size_t dot = filename.rfind('.');
  const std::size_t slash = filename.find_last_of("/\\");
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
    return {};
  }
  std::string ext(filename.substr(dot));
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

}  // namespace

FileFormat DetectFormat(std::string_view filename, std::string_view head_bytes) {
  // The magic wins over the name: browsers and users mislabel PDFs.
  if (head_bytes.starts_with("%PDF-")) return FileFormat::kPdf;
  const std::string ext = LowerExtension(filename);
  if (ext == ".pdf") return FileFormat::kPdf;
  if (ext == ".xlsx") return FileFormat::kXlsx;
  if (ext == ".txt" || ext == ".text") return FileFormat::kText;
  if (ext == ".md" || ext == ".markdown") return FileFormat::kMarkdown;
  if (ext == ".csv") return FileFormat::kCsv;
  if (ext == ".tsv") return FileFormat::kTsv;
  return FileFormat::kUnknown;
}

}  // namespace ragpdf::parse
