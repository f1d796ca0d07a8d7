#include <new>
#include <utility>

#include "parse/parser.h"
#include "parse/text_decode.h"

namespace ragpdf::parse {

using common::ErrorCode;
using common::Fail;

common::Result<common::ParsedFile> ParseText(const std::filesystem::path& path,
                                             common::FileFormat format,
                                             const ParseOptions& options) {
  try {
    auto text = internal::ReadTextFile(path, options.max_text_bytes);
    if (!text) return Fail(text.error());
    common::ParsedFile parsed;
    parsed.format = format;
    parsed.page_count = 1;
    parsed.pages.push_back(common::PageText{1, std::move(*text)});
    return parsed;
  } catch (const std::bad_alloc&) {
    return Fail(ErrorCode::kParseFailed, "out of memory while reading text");
  }
}

}  // namespace ragpdf::parse
