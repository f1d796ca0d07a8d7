// Text segmentation for the chunker: normalized paragraphs, sentences, words
// and grapheme boundaries. Internal to chunk/.
//
// Thread-safety: pure functions. Errors: none; invalid UTF-8 bytes become
// U+FFFD, so every output is valid UTF-8.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ragpdf::chunk {

// The paragraphs of `text`, each normalized to one line: whitespace runs
// collapsed to one space, no leading/trailing space, line-break hyphenation
// joined. Blank lines, form feeds and U+2029 separate paragraphs.
std::vector<std::string> NormalizeParagraphs(std::string_view text);

// `text` as one normalized line (all paragraphs joined by a space).
std::string NormalizeInline(std::string_view text);

// Sentences of a normalized paragraph (views into it, without the space
// between them).
std::vector<std::string_view> SplitSentences(std::string_view paragraph);

// Words of normalized text: the pieces between single spaces.
std::vector<std::string_view> SplitWords(std::string_view text);

// Whether a normalized paragraph ends with sentence-final punctuation.
bool EndsSentence(std::string_view paragraph);

// Whether `text` starts with a lower-case letter.
bool StartsLowercase(std::string_view text);

// Byte offsets of the extended grapheme cluster boundaries of valid UTF-8
// `text`, from 0 to text.size() inclusive.
std::vector<std::size_t> GraphemeBoundaries(std::string_view text);

}  // namespace ragpdf::chunk
