// Pure text helpers for SqliteStore: turning untrusted text (search queries,
// spreadsheet headers) into safe FTS5 queries and SQL identifiers.
// Thread-safety: pure functions. Errors: none (every input has an output).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ragpdf::store {

// An FTS5 query matching any word of `text`: each word becomes a quoted
// string ("..." with embedded quotes doubled) and the words are joined with
// OR, so FTS5 operators in user text (NEAR, *, column:, parentheses) are
// plain words. Words are runs of ASCII letters/digits and non-ASCII bytes,
// deduplicated ignoring ASCII case; at most `max_terms` are kept. Empty when
// `text` has no words.
std::string BuildFtsQuery(std::string_view text, std::size_t max_terms);

// `"name"` with embedded quotes doubled.
std::string QuoteIdentifier(std::string_view name);

// Column names for a table header: characters outside [A-Za-z0-9_] become
// `_` (one per UTF-8 character), empty names become col_<n> (1-based),
// names are cut to `max_length` bytes, and duplicates (ignoring ASCII case)
// get a suffix _2, _3, ...
std::vector<std::string> SanitizeColumnNames(const std::vector<std::string>& header,
                                             std::size_t max_length = 64);

}  // namespace ragpdf::store
