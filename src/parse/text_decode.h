// Internal to parse/: byte-level helpers shared by the text, CSV, XLSX and
// PDF parsers. Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/error.h"

namespace ragpdf::parse::internal {

// The whole file, or kParseFailed when it cannot be read or is larger than
// `max_bytes`.
common::Result<std::string> ReadFileCapped(const std::filesystem::path& path,
                                           std::uint64_t max_bytes);

// Appends `in` to `out` with every invalid UTF-8 byte replaced by U+FFFD.
// Returns the number of invalid bytes.
std::size_t AppendRepairedUtf8(std::string_view in, std::string& out);

// Raw file bytes to clean UTF-8 text: strips a UTF-8 BOM, converts UTF-16
// (with a BOM), repairs invalid sequences when they are at most 1% of the
// input, turns CRLF and lone CR into LF. kInvalidEncoding for NUL bytes or too
// many invalid sequences (binary data).
common::Result<std::string> DecodeText(std::string_view bytes);

// ReadFileCapped + DecodeText; kEmptyFile when the file is empty or has only
// whitespace.
common::Result<std::string> ReadTextFile(const std::filesystem::path& path,
                                         std::uint64_t max_bytes);

// Whether `utf8` has any character other than whitespace, control and format
// characters.
bool HasVisibleText(std::string_view utf8);

}  // namespace ragpdf::parse::internal
