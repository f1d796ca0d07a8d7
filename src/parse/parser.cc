#include <exception>
#include <new>
#include <utility>

#include "parse/parser.h"
#include "parse/sandbox.h"

namespace ragpdf::parse {

using common::ErrorCode;
using common::FileFormat;

Parser::Parser(ParseOptions options) : options_(std::move(options)) {}

common::Result<common::ParsedFile> Parser::Parse(const std::filesystem::path& path,
                                                 FileFormat format) const {
  try {
    switch (format) {
      case FileFormat::kPdf:
        return options_.worker_executable.empty() ? ParsePdfInProcess(path, options_)
                                                  : internal::ParsePdfInWorker(path, options_);
      case FileFormat::kText:
      case FileFormat::kMarkdown:
        return ParseText(path, format, options_);
      case FileFormat::kCsv:
        return ParseDelimited(path, ',', options_);
      case FileFormat::kTsv:
        return ParseDelimited(path, '\t', options_);
      case FileFormat::kXlsx:
        return ParseXlsx(path, options_);
      case FileFormat::kUnknown:
        break;
    }
    return common::Fail(ErrorCode::kUnsupportedFormat, "unsupported file format");
  } catch (const std::exception& e) {
    return common::Fail(ErrorCode::kParseFailed, std::string("parser error: ") + e.what());
  }
}

}  // namespace ragpdf::parse
