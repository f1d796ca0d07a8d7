#include "parse/text_decode.h"

#include <fstream>
#include <system_error>

#include <utf8proc.h>

namespace ragpdf::parse::internal {
namespace {

using common::ErrorCode;
using common::Fail;

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
constexpr std::string_view kUtf16LeBom = "\xFF\xFE";
constexpr std::string_view kUtf16BeBom = "\xFE\xFF";
constexpr utf8proc_int32_t kReplacement = 0xFFFD;

void AppendCodepoint(utf8proc_int32_t codepoint, std::string& out) {
  utf8proc_uint8_t buf[4];
  const utf8proc_ssize_t n = utf8proc_encode_char(codepoint, buf);
  out.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(n));
}

// More than 1% invalid means the bytes are not text in this encoding.
bool TooManyInvalid(std::size_t invalid, std::size_t total) { return invalid * 100 > total; }

// Decodes UTF-16 (BOM already removed). Returns the number of invalid units.
std::size_t AppendUtf16(std::string_view bytes, bool little_endian, std::string& out) {
  const std::size_t units = bytes.size() / 2;
  auto unit = [&](std::size_t i) -> std::uint32_t {
    const auto b0 = static_cast<unsigned char>(bytes[2 * i]);
    const auto b1 = static_cast<unsigned char>(bytes[2 * i + 1]);
    return little_endian ? (b1 << 8 | b0) : (b0 << 8 | b1);
  };
  std::size_t invalid = 0;
  for (std::size_t i = 0; i < units; ++i) {
    const std::uint32_t u = unit(i);
    if (u < 0xD800 || u > 0xDFFF) {
      AppendCodepoint(static_cast<utf8proc_int32_t>(u), out);
    } else if (u <= 0xDBFF && i + 1 < units && unit(i + 1) >= 0xDC00 && unit(i + 1) <= 0xDFFF) {
      const std::uint32_t cp = 0x10000 + ((u - 0xD800) << 10) + (unit(i + 1) - 0xDC00);
      AppendCodepoint(static_cast<utf8proc_int32_t>(cp), out);
      ++i;
    } else {
      ++invalid;
      AppendCodepoint(kReplacement, out);
    }
  }
  if (bytes.size() % 2 != 0) {
    ++invalid;
    AppendCodepoint(kReplacement, out);
  }
  return invalid;
}

std::string NormalizeNewlines(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\r') {
      out.push_back(text[i]);
    } else if (i + 1 >= text.size() || text[i + 1] != '\n') {
      out.push_back('\n');  // lone CR (old Mac line ending)
    }
  }
  return out;
}

}  // namespace

common::Result<std::string> ReadFileCapped(const std::filesystem::path& path,
                                           std::uint64_t max_bytes) {
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return Fail(ErrorCode::kParseFailed, "cannot read file: " + ec.message());
  if (size > max_bytes) {
    return Fail(ErrorCode::kParseFailed,
                "file is larger than the text limit of " + std::to_string(max_bytes) + " bytes");
  }
  std::ifstream in(path, std::ios::binary);
  std::string bytes(size, '\0');
  if (!in || !in.read(bytes.data(), static_cast<std::streamsize>(size))) {
    return Fail(ErrorCode::kParseFailed, "cannot read file");
  }
  return bytes;
}

std::size_t AppendRepairedUtf8(std::string_view in, std::string& out) {
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(in.data());
  std::size_t invalid = 0;
  std::size_t i = 0;
  while (i < in.size()) {
    // Fast path for ASCII runs.
    std::size_t j = i;
    while (j < in.size() && p[j] < 0x80) ++j;
    out.append(in.data() + i, j - i);
    i = j;
    if (i >= in.size()) break;
    utf8proc_int32_t codepoint = 0;
    const utf8proc_ssize_t n =
        utf8proc_iterate(p + i, static_cast<utf8proc_ssize_t>(in.size() - i), &codepoint);
    if (n > 0) {
      out.append(in.data() + i, static_cast<std::size_t>(n));
      i += static_cast<std::size_t>(n);
    } else {
      AppendCodepoint(kReplacement, out);
      ++invalid;
      ++i;
    }
  }
  return invalid;
}

common::Result<std::string> DecodeText(std::string_view bytes) {
  std::string utf8;
  utf8.reserve(bytes.size());
  std::size_t invalid = 0;
  std::size_t total = 0;
  if (bytes.starts_with(kUtf16LeBom) || bytes.starts_with(kUtf16BeBom)) {
    const bool little_endian = bytes.starts_with(kUtf16LeBom);
    bytes.remove_prefix(2);
    invalid = AppendUtf16(bytes, little_endian, utf8);
    total = (bytes.size() + 1) / 2;
  } else {
    if (bytes.starts_with(kUtf8Bom)) bytes.remove_prefix(kUtf8Bom.size());
    if (bytes.find('\0') != std::string_view::npos) {
      return Fail(ErrorCode::kInvalidEncoding, "file contains NUL bytes (binary data)");
    }
    invalid = AppendRepairedUtf8(bytes, utf8);
    total = bytes.size();
  }
  if (TooManyInvalid(invalid, total)) {
    return Fail(ErrorCode::kInvalidEncoding, std::to_string(invalid) + " of " +
                                                 std::to_string(total) +
                                                 " code units are not valid UTF-8/UTF-16");
  }
  if (utf8.find('\0') != std::string::npos) {
    return Fail(ErrorCode::kInvalidEncoding, "file contains NUL characters (binary data)");
  }
  return NormalizeNewlines(utf8);
}

common::Result<std::string> ReadTextFile(const std::filesystem::path& path,
                                         std::uint64_t max_bytes) {
  auto bytes = ReadFileCapped(path, max_bytes);
  if (!bytes) return Fail(bytes.error());
  if (bytes->empty()) return Fail(ErrorCode::kEmptyFile, "file is empty");
  auto text = DecodeText(*bytes);
  if (!text) return Fail(text.error());
  if (!HasVisibleText(*text)) return Fail(ErrorCode::kEmptyFile, "file has only whitespace");
  return text;
}

bool HasVisibleText(std::string_view utf8) {
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(utf8.data());
  std::size_t i = 0;
  while (i < utf8.size()) {
    utf8proc_int32_t codepoint = 0;
    const utf8proc_ssize_t n =
        utf8proc_iterate(p + i, static_cast<utf8proc_ssize_t>(utf8.size() - i), &codepoint);
    if (n <= 0) return true;  // not whitespace, whatever it is
    switch (utf8proc_category(codepoint)) {
      case UTF8PROC_CATEGORY_ZS:
      case UTF8PROC_CATEGORY_ZL:
      case UTF8PROC_CATEGORY_ZP:
      case UTF8PROC_CATEGORY_CC:
      case UTF8PROC_CATEGORY_CF:
        break;
      default:
        return true;
    }
    i += static_cast<std::size_t>(n);
  }
  return false;
}

}  // namespace ragpdf::parse::internal
