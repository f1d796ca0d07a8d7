#include "http/params.h"

#include <algorithm>
#include <cctype>

#include "common/hash.h"

namespace ragpdf::http {

using common::ErrorCode;
using common::Fail;
using common::Result;

namespace {

// Longest extension kept intact when a long name is shortened.
constexpr std::size_t kMaxKeptExtension = 16;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Length of the valid UTF-8 sequence at s[i], or 0 when invalid (overlong
// forms, surrogates and code points above U+10FFFF are invalid).
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  std::size_t len = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xE  ? 3
                    : (c >> 3) == 0x1E ? 4
                                       : 0;
  if (len == 0 || i + len > s.size()) return 0;
  char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
  for (std::size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr char32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

bool IsControl(std::string_view seq) {
  auto c = static_cast<unsigned char>(seq[0]);
  if (seq.size() == 1) return c < 0x20 || c == 0x7F;
  // C1 controls U+0080..U+009F are 0xC2 0x80..0x9F.
  return seq.size() == 2 && c == 0xC2 && static_cast<unsigned char>(seq[1]) < 0xA0;
}

// The longest prefix of valid UTF-8 `s` of at most `max` bytes.
std::string_view Utf8Prefix(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end);
}

}  // namespace

std::string_view TrimWhitespace(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

Result<std::string> NormalizeFileId(std::string_view id, std::string_view field) {
  std::string lower = Lower(TrimWhitespace(id));
  if (!common::IsFileId(lower)) {
    return Fail(ErrorCode::kBadRequest, std::string(field) + ": not a file id (64 hex digits): '" +
                                            std::string(Utf8Prefix(lower, 80)) + "'");
  }
  return lower;
}

Result<std::vector<std::string>> ParseFileIdList(std::string_view text, std::string_view field) {
  std::vector<std::string> ids;
  while (!text.empty()) {
    std::size_t end = std::min(text.find_first_of(",\n"), text.size());
    std::string_view entry = TrimWhitespace(text.substr(0, end));
    text.remove_prefix(std::min(end + 1, text.size()));
    if (entry.empty()) continue;
    auto id = NormalizeFileId(entry, field);
    if (!id) return Fail(id.error());
    ids.push_back(std::move(*id));
  }
  return ids;
}

Result<bool> ParseBool(std::string_view text, std::string_view field) {
  std::string value = Lower(TrimWhitespace(text));
  if (value == "true" || value == "1" || value == "yes") return true;
  if (value == "false" || value == "0" || value == "no") return false;
  return Fail(ErrorCode::kBadRequest, std::string(field) + ": expected true or false");
}

Result<query::SearchMode> ParseMode(std::string_view text) {
  std::string value = Lower(TrimWhitespace(text));
  if (value.empty() || value == "hybrid") return query::SearchMode::kHybrid;
  if (value == "vector") return query::SearchMode::kVector;
  if (value == "keyword") return query::SearchMode::kKeyword;
  return Fail(ErrorCode::kBadRequest, "mode: expected vector, keyword or hybrid");
}

std::string_view ModeName(query::SearchMode mode) {
  switch (mode) {
    case query::SearchMode::kVector:
      return "vector";
    case query::SearchMode::kKeyword:
      return "keyword";
    case query::SearchMode::kHybrid:
      return "hybrid";
  }
  return "hybrid";
}

std::string SanitizeFilename(std::string_view name) {
  std::size_t slash = name.find_last_of("/\\");
  if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
  std::string clean;
  for (std::size_t i = 0; i < name.size();) {
    std::size_t len = Utf8SequenceLength(name, i);
    if (len == 0) {
      ++i;  // drop an invalid byte
      continue;
    }
    std::string_view seq = name.substr(i, len);
    if (!IsControl(seq)) clean.append(seq);
    i += len;
  }
  std::string_view trimmed = TrimWhitespace(clean);
  if (trimmed == "." || trimmed == "..") trimmed = {};
  if (trimmed.empty()) return "upload";
  if (trimmed.size() <= kMaxFilenameBytes) return std::string(trimmed);
  // Keep the extension: it decides how the file is parsed.
  std::size_t dot = trimmed.rfind('.');
  std::string_view ext;
  if (dot != std::string_view::npos && trimmed.size() - dot <= kMaxKeptExtension) {
    ext = trimmed.substr(dot);
  }
  std::string_view stem = trimmed.substr(0, trimmed.size() - ext.size());
  return std::string(Utf8Prefix(stem, kMaxFilenameBytes - ext.size())) + std::string(ext);
}

Result<std::string> ValidateUsername(std::optional<std::string_view> username) {
  std::string_view value = username ? TrimWhitespace(*username) : std::string_view{};
  if (value.empty()) return Fail(ErrorCode::kMissingField, "username is required");
  if (value.size() > kMaxUsernameBytes) {
    return Fail(ErrorCode::kBadRequest,
                "username: longer than " + std::to_string(kMaxUsernameBytes) + " bytes");
  }
  return std::string(value);
}

}  // namespace ragpdf::http
