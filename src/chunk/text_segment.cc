#include "chunk/text_segment.h"

#include <utf8proc.h>

namespace ragpdf::chunk {
namespace {

constexpr utf8proc_int32_t kReplacement = 0xFFFD;
constexpr utf8proc_int32_t kSoftHyphen = 0x00AD;

// Decodes the code point at `text[i]`; an invalid byte decodes as U+FFFD of
// length 1.
utf8proc_int32_t Decode(std::string_view text, std::size_t i, std::size_t* length) {
  utf8proc_int32_t cp;
  const utf8proc_ssize_t n =
      utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data()) + i,
                       static_cast<utf8proc_ssize_t>(text.size() - i), &cp);
  if (n <= 0) {
    *length = 1;
    return kReplacement;
  }
  *length = static_cast<std::size_t>(n);
  return cp;
}

// The last code point of valid UTF-8 `text` (0 when empty).
utf8proc_int32_t LastCodepoint(std::string_view text, std::size_t* start = nullptr) {
  if (text.empty()) return 0;
  std::size_t i = text.size() - 1;
  while (i > 0 && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) --i;
  if (start) *start = i;
  std::size_t length;
  return Decode(text, i, &length);
}

utf8proc_int32_t FirstCodepoint(std::string_view text) {
  std::size_t length;
  return text.empty() ? 0 : Decode(text, 0, &length);
}

bool IsLower(utf8proc_int32_t cp) { return utf8proc_category(cp) == UTF8PROC_CATEGORY_LL; }

// Ends a sentence when followed by a space (or, for CJK stops, by anything).
bool IsTerminal(utf8proc_int32_t cp) {
  switch (cp) {
    case '.':
    case '!':
    case '?':
    case 0x2026:  // …
    case 0x3002:  // 。
    case 0xFF01:  // ！
    case 0xFF1F:  // ？
    case 0xFF0E:  // ．
      return true;
    default:
      return false;
  }
}

bool IsCjkTerminal(utf8proc_int32_t cp) { return cp >= 0x3002 && IsTerminal(cp); }

// Closing quotes and brackets that may follow a sentence's final punctuation.
bool IsCloser(utf8proc_int32_t cp) {
  switch (cp) {
    case ')':
    case ']':
    case '}':
    case '"':
    case '\'':
    case 0x2019:  // ’
    case 0x201D:  // ”
    case 0x00BB:  // »
    case 0x300D:  // 」
    case 0x300F:  // 』
    case 0xFF09:  // ）
      return true;
    default:
      return false;
  }
}

// "2." or "3.1." opening a sentence numbers a heading or list item; the
// period does not end a sentence.
bool IsEnumerator(std::string_view sentence) {
  return sentence.size() >= 2 && sentence.back() == '.' &&
         sentence.find_first_not_of("0123456789.") == std::string_view::npos;
}

enum class CharClass { kText, kSpace, kNewline, kParagraphBreak, kDrop, kSoftHyphen };

CharClass Classify(utf8proc_int32_t cp) {
  switch (cp) {
    case '\n':
    case '\v':
    case 0x0085:  // next line
    case 0x2028:  // line separator
      return CharClass::kNewline;
    case '\f':
    case 0x2029:  // paragraph separator
      return CharClass::kParagraphBreak;
    case '\t':
    case 0x200B:  // zero-width space still separates words
      return CharClass::kSpace;
    case 0xFEFF:  // byte order mark
      return CharClass::kDrop;
    case kSoftHyphen:
      return CharClass::kSoftHyphen;
    default:
      break;
  }
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_ZS:
      return CharClass::kSpace;
    case UTF8PROC_CATEGORY_CC:  // other controls: keep words apart, show nothing
      return CharClass::kSpace;
    case UTF8PROC_CATEGORY_ZL:
      return CharClass::kNewline;
    case UTF8PROC_CATEGORY_ZP:
      return CharClass::kParagraphBreak;
    default:
      return CharClass::kText;
  }
}

class ParagraphBuilder {
 public:
  void Add(utf8proc_int32_t cp, std::string_view bytes) {
    switch (Classify(cp)) {
      case CharClass::kText:
        line_.append(bytes);
        line_soft_hyphen_ = false;
        break;
      case CharClass::kSpace:
        if (!line_.empty() && line_.back() != ' ') line_.push_back(' ');
        break;
      case CharClass::kNewline:
        EndLine();
        break;
      case CharClass::kParagraphBreak:
        EndLine();
        EndParagraph();
        break;
      case CharClass::kSoftHyphen:
        line_soft_hyphen_ = true;  // matters only at the end of a line
        break;
      case CharClass::kDrop:
        break;
    }
  }

  std::vector<std::string> Finish() {
    EndLine();
    EndParagraph();
    return std::move(paragraphs_);
  }

 private:
  void EndLine() {
    if (!line_.empty() && line_.back() == ' ') line_.pop_back();
    if (line_.empty()) {
      EndParagraph();  // a blank line
    } else {
      if (StartsWithBullet(line_)) EndParagraph();  // list items stand alone
      if (paragraph_.empty()) {
        paragraph_ = line_;
      } else if (joins_next_line_) {
        paragraph_ += line_;
      } else if (EndsWithHyphenatedWord(paragraph_)) {
        // "exam-" + "ple" -> "example"; "Anglo-" + "Saxon" -> "Anglo-Saxon".
        if (IsLower(FirstCodepoint(line_))) paragraph_.pop_back();
        paragraph_ += line_;
      } else {
        paragraph_.push_back(' ');
        paragraph_ += line_;
      }
      joins_next_line_ = line_soft_hyphen_;
    }
    line_.clear();
    line_soft_hyphen_ = false;
  }

  void EndParagraph() {
    if (!paragraph_.empty()) paragraphs_.push_back(std::move(paragraph_));
    paragraph_.clear();
    joins_next_line_ = false;
  }

  static bool StartsWithBullet(std::string_view line) {
    for (std::string_view bullet : {"- ", "* ", "\u2022 ", "\u2023 ", "\u25E6 ", "\u2013 "}) {
      if (line.starts_with(bullet)) return true;
    }
    return false;
  }

  // A letter or digit right before a final '-' ("exam-", "10-"; not " -").
  static bool EndsWithHyphenatedWord(std::string_view text) {
    if (text.size() < 2 || text.back() != '-') return false;
    const auto category = utf8proc_category(LastCodepoint(text.substr(0, text.size() - 1)));
    return category >= UTF8PROC_CATEGORY_LU && category <= UTF8PROC_CATEGORY_NO;
  }

  std::vector<std::string> paragraphs_;
  std::string paragraph_;
  std::string line_;
  bool line_soft_hyphen_ = false;  // the current line ends in a soft hyphen
  bool joins_next_line_ = false;   // the paragraph ended in a soft hyphen
};

}  // namespace

std::vector<std::string> NormalizeParagraphs(std::string_view text) {
  ParagraphBuilder builder;
  char replacement[4];
  const auto replacement_size =
      utf8proc_encode_char(kReplacement, reinterpret_cast<utf8proc_uint8_t*>(replacement));
  for (std::size_t i = 0; i < text.size();) {
    std::size_t length;
    utf8proc_int32_t cp = Decode(text, i, &length);
    if (cp == '\r') {
      // CR LF and lone CR are both one line break.
      if (i + 1 < text.size() && text[i + 1] == '\n') ++length;
      cp = '\n';
    }
    const bool invalid = cp == kReplacement && length == 1;
    builder.Add(cp,
                invalid ? std::string_view(replacement, replacement_size) : text.substr(i, length));
    i += length;
  }
  return builder.Finish();
}

std::string NormalizeInline(std::string_view text) {
  std::string out;
  for (const std::string& paragraph : NormalizeParagraphs(text)) {
    if (!out.empty()) out.push_back(' ');
    out += paragraph;
  }
  return out;
}

std::vector<std::string_view> SplitSentences(std::string_view paragraph) {
  std::vector<std::string_view> sentences;
  std::size_t start = 0;
  bool after_terminal = false;  // terminal punctuation, maybe followed by closers
  bool after_cjk_terminal = false;
  for (std::size_t i = 0; i < paragraph.size();) {
    std::size_t length;
    const utf8proc_int32_t cp = Decode(paragraph, i, &length);
    if (cp == ' ') {
      std::size_t next_length;
      if (after_terminal && i + 1 < paragraph.size() &&
          !IsLower(Decode(paragraph, i + 1, &next_length)) &&
          !IsEnumerator(paragraph.substr(start, i - start))) {
        sentences.push_back(paragraph.substr(start, i - start));
        start = i + 1;
      }
      after_terminal = after_cjk_terminal = false;
    } else if (IsTerminal(cp)) {
      after_terminal = true;
      after_cjk_terminal = after_cjk_terminal || IsCjkTerminal(cp);
    } else if (IsCloser(cp) && after_terminal) {
      // stays after a terminal
    } else {
      if (after_cjk_terminal) {  // CJK text has no space after its full stop
        sentences.push_back(paragraph.substr(start, i - start));
        start = i;
      }
      after_terminal = after_cjk_terminal = false;
    }
    i += length;
  }
  if (start < paragraph.size()) sentences.push_back(paragraph.substr(start));
  return sentences;
}

std::vector<std::string_view> SplitWords(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) words.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return words;
}

bool EndsSentence(std::string_view paragraph) {
  while (!paragraph.empty()) {
    std::size_t start = 0;
    const utf8proc_int32_t cp = LastCodepoint(paragraph, &start);
    if (IsTerminal(cp)) return true;
    if (!IsCloser(cp)) return false;
    paragraph = paragraph.substr(0, start);
  }
  return false;
}

bool StartsLowercase(std::string_view text) { return IsLower(FirstCodepoint(text)); }

std::vector<std::size_t> GraphemeBoundaries(std::string_view text) {
  std::vector<std::size_t> boundaries{0};
  utf8proc_int32_t previous = -1;
  utf8proc_int32_t state = 0;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t length;
    const utf8proc_int32_t cp = Decode(text, i, &length);
    if (previous >= 0 && utf8proc_grapheme_break_stateful(previous, cp, &state)) {
      boundaries.push_back(i);
    }
    previous = cp;
    i += length;
  }
  if (!text.empty()) boundaries.push_back(text.size());
  return boundaries;
}

}  // namespace ragpdf::chunk
