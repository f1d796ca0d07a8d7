// Splits parsed documents and tables into chunks sized in the embedding
// model's tokens.
//
// Thread-safety: pure functions (the tokenizer must allow concurrent const
// calls, as common::Tokenizer requires).
// Errors: ResolveChunkOptions returns kBadRequest for out-of-range overrides;
// the chunkers never fail: any UTF-8 (invalid bytes become U+FFFD) gives
// chunks or, when it has no text, none.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/tokenizer.h"
#include "common/types.h"

namespace ragpdf::chunk {

struct ChunkOptions {
  int chunk_tokens = 256;
  int overlap_tokens = 32;
};

// Defaults sized to the model: chunk_tokens = min(256, model_max_tokens),
// overlap = chunk_tokens / 8.
ChunkOptions DefaultChunkOptions(int model_max_tokens);

// Validates user overrides: 0 < chunk_tokens <= model_max_tokens and
// 0 <= overlap < chunk_tokens, else kBadRequest. Without an overlap override
// the overlap is chunk_tokens / 8 of the resolved chunk size.
common::Result<ChunkOptions> ResolveChunkOptions(std::optional<int> chunk_tokens,
                                                 std::optional<int> overlap_tokens,
                                                 int model_max_tokens);

struct Chunk {
  std::string text;
  int page_start = 1;
  int page_end = 1;
  int token_count = 0;  // tokenizer.CountTokens(text)
};

// Documents: token-aware recursive splitting.
// - Text is normalized first: line endings unified, runs of (Unicode) spaces
//   collapsed, single newlines inside a paragraph become spaces, words
//   hyphenated across a line break joined ("exam-\nple" -> "example",
//   "Anglo-\nSaxon" -> "Anglo-Saxon", soft hyphens), control characters
//   dropped. Paragraphs are separated by blank lines or form feeds; a line
//   starting with a bullet ("- ", "* ", "• ") starts a new paragraph. Empty
//   pages are skipped. A page that ends mid-sentence continues on the next
//   page as the same paragraph.
// - Paragraphs split into sentences (after . ! ? … and CJK full stops, not
//   before a lower-case letter nor after a leading "2." / "3.1."), sentences
//   into words (at spaces), and a word costing more than chunk_tokens into
//   pieces at grapheme-cluster boundaries. Finer splits happen only where
//   needed: a sentence is cut into words only if it alone exceeds the budget
//   or a chunk boundary must fall inside it.
// - Pieces are packed greedily. When the next piece does not fit, the chunk
//   ends at the strongest boundary that still leaves it at least half full:
//   paragraph > sentence > after a heading (a short unpunctuated paragraph,
//   which belongs with what follows) > word. Below half full, the next
//   sentence is split into words to fill the chunk.
// - The next chunk starts with up to overlap_tokens tokens (whole words) of
//   the previous chunk's end; the overlap gives way when the next sentence
//   would not fit with it.
// - Chunk text joins paragraphs with a blank line and other pieces with a
//   space (none between CJK sentences or word fragments). Chunks may span
//   pages: page_start..page_end are the pages its text came from.
// Token counts are taken per piece and summed, which is exact for tokenizers
// that split at whitespace first (word-level, WordPiece); each chunk's final
// text is then counted once, and a chunk over budget (a tokenizer whose
// counts do not add up) gives its last pieces back to the next chunk.
// Guarantees: every chunk's token_count <= chunk_tokens, except a single
// grapheme that alone costs more; every word of the input appears in some
// chunk, in order. Cost grows about linearly with the input: each piece is
// counted once and each chunk once more.
std::vector<Chunk> ChunkPages(std::span<const common::PageText> pages,
                              const common::Tokenizer& tokenizer, const ChunkOptions& options);

// Tables: each row becomes "header1: value1 | header2: value2 ..." (empty
// values skipped; empty rows dropped; unnamed columns are "column N"). Rows
// are packed whole into chunks, without overlap; a row larger than the space
// left after the header is split by words. Every chunk starts with the
// header context "Columns: h1, h2, ..." (counted in the budget; cut to
// "Columns: h1, ..., (+N more)" when it alone exceeds half the budget).
// page_start = page_end = 1.
std::vector<Chunk> ChunkTable(const common::Table& table, const common::Tokenizer& tokenizer,
                              const ChunkOptions& options);

}  // namespace ragpdf::chunk
