#include "store/sql_text.h"

#include <string>
#include <unordered_set>

namespace ragpdf::store {
namespace {

bool IsAsciiAlnum(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Wraps `s` in `quote`, doubling any embedded `quote`.
std::string Quote(std::string_view s, char quote) {
  std::string out(1, quote);
  for (char c : s) {
    if (c == quote) out.push_back(quote);
    out.push_back(c);
  }
  out.push_back(quote);
  return out;
}

}  // namespace

std::string BuildFtsQuery(std::string_view text, std::size_t max_terms) {
  std::string query;
  std::unordered_set<std::string> seen;
  std::size_t i = 0;
  while (i < text.size() && seen.size() < max_terms) {
    auto is_word = [&](std::size_t k) {
      const auto c = static_cast<unsigned char>(text[k]);
      return c >= 0x80 || IsAsciiAlnum(c);
    };
    if (!is_word(i)) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < text.size() && is_word(end)) ++end;
    const std::string_view word = text.substr(i, end - i);
    i = end;
    if (!seen.insert(AsciiLower(word)).second) continue;
    if (!query.empty()) query += " OR ";
    query += Quote(word, '"');
  }
  return query;
}

std::string QuoteIdentifier(std::string_view name) { return Quote(name, '"'); }

std::vector<std::string> SanitizeColumnNames(const std::vector<std::string>& header,
                                             std::size_t max_length) {
  std::vector<std::string> names;
  names.reserve(header.size());
  std::unordered_set<std::string> taken;
  for (std::size_t col = 0; col < header.size(); ++col) {
    std::string name;
    for (char ch : header[col]) {
      const auto c = static_cast<unsigned char>(ch);
      if ((c & 0xC0) == 0x80) continue;  // UTF-8 continuation byte: one `_` per character
      name.push_back(IsAsciiAlnum(c) || c == '_' ? ch : '_');
      if (name.size() == max_length) break;
    }
    if (name.empty()) name = "col_" + std::to_string(col + 1);
    std::string unique = name;
    for (int suffix = 2; !taken.insert(AsciiLower(unique)).second; ++suffix) {
      unique = name + "_" + std::to_string(suffix);
    }
    names.push_back(std::move(unique));
  }
  return names;
}

}  // namespace ragpdf::store
