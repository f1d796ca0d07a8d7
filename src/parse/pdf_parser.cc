#include <algorithm>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <system_error>
#include <utility>

#include <poppler-document.h>
#include <poppler-global.h>
#include <poppler-page.h>

#include "parse/parser.h"
#include "parse/text_decode.h"

namespace ragpdf::parse {
namespace {

using common::ErrorCode;
using common::Fail;

// Poppler reports every recoverable syntax problem on stderr; broken PDFs are
// an expected input here, so its messages are dropped.
void IgnorePopplerMessage(const std::string& /*message*/, void* /*closure*/) {}

void SilencePoppler() {
  static std::once_flag once;
  std::call_once(once, [] { poppler::set_debug_error_function(IgnorePopplerMessage, nullptr); });
}

// Poppler's UTF-8 with form feeds and CRs turned into LF and any invalid
// sequence (from broken ToUnicode maps) replaced.
std::string CleanPageText(const poppler::byte_array& raw) {
  std::string text(raw.begin(), raw.end());
  std::replace(text.begin(), text.end(), '\f', '\n');
  std::replace(text.begin(), text.end(), '\r', '\n');
  std::erase(text, '\0');
  std::string clean;
  clean.reserve(text.size());
  internal::AppendRepairedUtf8(text, clean);
  return clean;
}

// Reading order (what pdftotext does without -layout): columns are read one
// after the other and words keep their spaces.
std::string ExtractPageText(const poppler::page& page) {
  return CleanPageText(
      page.text(poppler::rectf(), poppler::page::non_raw_non_physical_layout).to_utf8());
}

}  // namespace

common::Result<common::ParsedFile> ParsePdfInProcess(const std::filesystem::path& path,
                                                     const ParseOptions& options) {
  SilencePoppler();
  try {
    std::error_code ec;
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    if (ec) return Fail(ErrorCode::kInvalidPdf, "cannot read file: " + ec.message());
    if (size == 0) return Fail(ErrorCode::kEmptyFile, "file is empty");

    std::unique_ptr<poppler::document> doc(poppler::document::load_from_file(path.string()));
    if (!doc) return Fail(ErrorCode::kInvalidPdf, "poppler cannot open the PDF");
    if (doc->is_locked()) return Fail(ErrorCode::kEncryptedPdf, "PDF needs a password");
    const int page_count = doc->pages();
    if (page_count <= 0) return Fail(ErrorCode::kInvalidPdf, "PDF has no pages");

    common::ParsedFile parsed;
    parsed.format = common::FileFormat::kPdf;
    parsed.page_count = page_count;
    const int extract = std::min(page_count, std::max(options.max_pages, 0));
    std::uint64_t total_bytes = 0;
    bool has_text = false;
    for (int i = 0; i < extract; ++i) {
      std::unique_ptr<poppler::page> page(doc->create_page(i));
      std::string text = page ? ExtractPageText(*page) : std::string();
      total_bytes += text.size();
      if (total_bytes > options.max_text_bytes) {
        return Fail(ErrorCode::kParseFailed, "extracted text is over the limit of " +
                                                 std::to_string(options.max_text_bytes) + " bytes");
      }
      has_text = has_text || internal::HasVisibleText(text);
      parsed.pages.push_back(common::PageText{i + 1, std::move(text)});
    }
    if (!has_text) return Fail(ErrorCode::kNoText, "PDF has no extractable text (scanned?)");
    return parsed;
  } catch (const std::bad_alloc&) {
    return Fail(ErrorCode::kParseFailed, "out of memory while reading the PDF");
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kParseFailed, std::string("PDF parser error: ") + e.what());
  }
}

}  // namespace ragpdf::parse
