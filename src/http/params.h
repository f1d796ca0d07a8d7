// Validation and normalisation of request parameters shared by the routes:
// file ids, booleans, search modes, client-supplied file names.
//
// Thread-safety: pure functions. Errors: kBadRequest naming the parameter.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "query/searcher.h"

namespace ragpdf::http {

// Longest username accepted, in bytes.
inline constexpr std::size_t kMaxUsernameBytes = 256;
// Longest file name kept, in bytes (a common file system limit).
inline constexpr std::size_t kMaxFilenameBytes = 255;

std::string_view TrimWhitespace(std::string_view s);

// A file id (64 hex digits, any case) in its canonical lower-case form.
common::Result<std::string> NormalizeFileId(std::string_view id, std::string_view field);

// Ids separated by commas and/or newlines; entries are trimmed, empty ones
// ignored, each must be a file id.
common::Result<std::vector<std::string>> ParseFileIdList(std::string_view text,
                                                         std::string_view field);

// true/false/1/0/yes/no (any case, surrounding whitespace ignored).
common::Result<bool> ParseBool(std::string_view text, std::string_view field);

// "vector" | "keyword" | "hybrid"; empty means hybrid.
common::Result<query::SearchMode> ParseMode(std::string_view text);
std::string_view ModeName(query::SearchMode mode);

// A client-supplied file name made safe to store and echo: the last path
// component only, control characters and invalid UTF-8 removed, at most
// kMaxFilenameBytes (cut on a character boundary). "upload" if nothing is left.
std::string SanitizeFilename(std::string_view name);

// Required, trimmed, non-empty username of at most kMaxUsernameBytes.
// kMissingField when absent or blank.
common::Result<std::string> ValidateUsername(std::optional<std::string_view> username);

}  // namespace ragpdf::http
