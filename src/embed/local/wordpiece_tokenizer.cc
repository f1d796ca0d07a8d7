#include "embed/local/wordpiece_tokenizer.h"

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <limits>
#include <numeric>
#include <tuple>
#include <unordered_map>
#include <utility>

#include <utf8proc.h>

namespace ragpdf::embed::local {
namespace {

// Keys are views into Vocabulary::tokens, which never changes after Build().
using TokenMap = std::unordered_map<std::string_view, std::int32_t>;

struct Vocabulary {
  WordPieceOptions options;
  bool strip_accents = false;
  std::vector<std::string> tokens;
  TokenMap word_start;    // every token, for the first piece of a word
  TokenMap continuation;  // prefixed tokens without the prefix, for later pieces
  // No vocabulary entry is longer, so longer candidates need no lookup.
  std::size_t max_start_bytes = 0;
  std::size_t max_continuation_bytes = 0;
  std::int32_t unk_id = 0;
  std::int32_t cls_id = 0;
  std::int32_t sep_id = 0;
  std::int32_t pad_id = 0;
  std::size_t vocab_size = 0;
};

using Category = utf8proc_category_t;

Category CategoryOf(std::int32_t cp) {
  return static_cast<Category>(utf8proc_get_property(cp)->category);
}

// Rust's char::is_whitespace (the White_Space property), which both the
// normalizer and the pre-tokenizer use.
bool IsWhitespace(std::int32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= '\t' && cp <= '\r');
  if (cp == 0x85) return true;
  const Category c = CategoryOf(cp);
  return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP;
}

// Every "Other" category (Cc, Cf, Cn, Co, Cs), as Hugging Face's is_control,
// except \t \n \r, which count as whitespace.
bool IsControl(std::int32_t cp) {
  if (cp < 0x80) return (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0x7F;
  switch (CategoryOf(cp)) {
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
      return true;
    default:
      return false;
  }
}

// ASCII punctuation (which includes symbols such as $ + < = > ^ ` | ~) or any
// Unicode P* category.
bool IsPunctuation(std::int32_t cp) {
  if (cp < 0x80) {
    return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
           (cp >= 123 && cp <= 126);
  }
  const Category c = CategoryOf(cp);
  return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

// The ranges hard-coded by Hugging Face's _is_chinese_char.
bool IsChineseChar(std::int32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

bool IsUtf8Continuation(char byte) { return (static_cast<unsigned char>(byte) & 0xC0) == 0x80; }

void AppendUtf8(std::int32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// One pass over the text, code point by code point, through the stages of
// Hugging Face's BertNormalizer (clean, CJK spacing, NFD + drop Mn, lower-case,
// in that order), BertPreTokenizer and WordPiece. Words are built in one
// reused buffer, so the hot path allocates nothing per character.
class Pipeline {
 public:
  Pipeline(const Vocabulary& vocab, std::size_t limit, std::vector<std::int32_t>* out)
      : vocab_(vocab), limit_(limit), out_(*out) {}

  void Run(std::string_view text) {
    const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
    const std::size_t size = text.size();
    std::size_t i = 0;
    while (i < size && out_.size() < limit_) {
      std::int32_t cp = bytes[i];
      if (cp < 0x80) {
        ++i;
      } else {
        const auto length =
            utf8proc_iterate(bytes + i, static_cast<utf8proc_ssize_t>(size - i), &cp);
        // Invalid UTF-8 becomes U+FFFD, which cleaning removes.
        if (length <= 0) {
          cp = 0xFFFD;
          ++i;
        } else {
          i += static_cast<std::size_t>(length);
        }
      }
      Clean(cp);
    }
    FlushMarks();
    EndWord();
  }

 private:
  struct Mark {
    int combining_class;
    std::int32_t cp;
  };
  // Longest canonical decomposition in Unicode is 4 code points.
  static constexpr int kMaxDecomposition = 16;

  void Clean(std::int32_t cp) {
    if (vocab_.options.clean_text) {
      if (cp == 0 || cp == 0xFFFD || IsControl(cp)) return;
      if (IsWhitespace(cp)) cp = ' ';
    }
    if (vocab_.options.tokenize_chinese_chars && cp >= 0x3400 && IsChineseChar(cp)) {
      StripAccents(' ');
      StripAccents(cp);
      StripAccents(' ');
      return;
    }
    StripAccents(cp);
  }

  // NFD, then drop nonspacing marks. Canonical reordering only matters for
  // the combining marks that survive, so only those are buffered.
  void StripAccents(std::int32_t cp) {
    if (!vocab_.strip_accents) return LowerCase(cp);
    if (cp < 0x80) {
      FlushMarks();
      return LowerCase(cp);
    }
    std::int32_t decomposed[kMaxDecomposition];
    auto count =
        utf8proc_decompose_char(cp, decomposed, kMaxDecomposition, UTF8PROC_DECOMPOSE, nullptr);
    if (count <= 0 || count > kMaxDecomposition) {
      decomposed[0] = cp;
      count = 1;
    }
    for (int k = 0; k < count; ++k) {
      const utf8proc_property_t* property = utf8proc_get_property(decomposed[k]);
      const bool starter = property->combining_class == 0;
      if (property->category == UTF8PROC_CATEGORY_MN) {
        if (starter) FlushMarks();  // still blocks reordering across it
      } else if (starter) {
        FlushMarks();
        LowerCase(decomposed[k]);
      } else {
        marks_.push_back({property->combining_class, decomposed[k]});
      }
    }
  }

  void FlushMarks() {
    if (marks_.empty()) return;
    std::stable_sort(marks_.begin(), marks_.end(), [](const Mark& a, const Mark& b) {
      return a.combining_class < b.combining_class;
    });
    for (const Mark& mark : marks_) LowerCase(mark.cp);
    marks_.clear();
  }

  // Full lower-case mapping, as Rust's char::to_lowercase: utf8proc gives the
  // simple mapping, and U+0130 is the one code point whose unconditional full
  // mapping differs (it becomes "i" + U+0307).
  void LowerCase(std::int32_t cp) {
    if (!vocab_.options.lower_case) return PreTokenize(cp);
    if (cp < 0x80) {
      return PreTokenize(cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp);
    }
    if (cp == 0x130) {
      PreTokenize('i');
      return PreTokenize(0x307);
    }
    PreTokenize(utf8proc_tolower(cp));
  }

  void PreTokenize(std::int32_t cp) {
    if (IsWhitespace(cp)) return EndWord();
    if (IsPunctuation(cp)) {
      EndWord();
      Append(cp);
      return EndWord();
    }
    Append(cp);
  }

  void Append(std::int32_t cp) {
    // Past the limit the word is [UNK] anyway: only count its characters.
    if (++word_chars_ <= vocab_.options.max_input_chars_per_word) AppendUtf8(cp, word_);
  }

  void EndWord() {
    if (word_chars_ == 0) return;
    if (word_chars_ > vocab_.options.max_input_chars_per_word) {
      out_.push_back(vocab_.unk_id);
    } else {
      WordPiece(word_);
    }
    word_.clear();
    word_chars_ = 0;
  }

  // Greedy longest-match-first; one unmatched part makes the whole word [UNK].
  void WordPiece(std::string_view word) {
    const std::size_t mark = out_.size();
    std::size_t start = 0;
    while (start < word.size()) {
      const bool first = start == 0;
      const TokenMap& map = first ? vocab_.word_start : vocab_.continuation;
      std::size_t end = std::min(
          word.size(), start + (first ? vocab_.max_start_bytes : vocab_.max_continuation_bytes));
      while (end > start && end < word.size() && IsUtf8Continuation(word[end])) --end;
      std::int32_t id = -1;
      while (end > start) {
        if (auto it = map.find(word.substr(start, end - start)); it != map.end()) {
          id = it->second;
          break;
        }
        do {
          --end;
        } while (end > start && IsUtf8Continuation(word[end]));
      }
      if (id < 0) {
        out_.resize(mark);
        out_.push_back(vocab_.unk_id);
        return;
      }
      out_.push_back(id);
      start = end;
    }
  }

  const Vocabulary& vocab_;
  const std::size_t limit_;
  std::vector<std::int32_t>& out_;
  std::string word_;
  int word_chars_ = 0;
  std::vector<Mark> marks_;
};

// Fills the lookup maps; vocab.tokens must not change afterwards.
common::Result<void> IndexTokens(const std::vector<std::int32_t>& ids, Vocabulary& vocab) {
  const std::string_view prefix = vocab.options.continuing_prefix;
  vocab.word_start.reserve(vocab.tokens.size());
  for (std::size_t i = 0; i < vocab.tokens.size(); ++i) {
    const std::string_view token = vocab.tokens[i];
    if (ids[i] < 0) {
      return common::Fail(common::ErrorCode::kBadRequest,
                          "token \"" + vocab.tokens[i] + "\" has a negative id");
    }
    vocab.word_start.insert_or_assign(token, ids[i]);
    vocab.max_start_bytes = std::max(vocab.max_start_bytes, token.size());
    if (token.starts_with(prefix)) {
      const std::string_view rest = token.substr(prefix.size());
      vocab.continuation.insert_or_assign(rest, ids[i]);
      vocab.max_continuation_bytes = std::max(vocab.max_continuation_bytes, rest.size());
    }
    vocab.vocab_size = std::max(vocab.vocab_size, static_cast<std::size_t>(ids[i]) + 1);
  }
  return {};
}

common::Result<void> ResolveSpecialTokens(Vocabulary& vocab) {
  for (auto [what, token, id] : {std::tuple{"unk", &vocab.options.unk_token, &vocab.unk_id},
                                 std::tuple{"cls", &vocab.options.cls_token, &vocab.cls_id},
                                 std::tuple{"sep", &vocab.options.sep_token, &vocab.sep_id},
                                 std::tuple{"pad", &vocab.options.pad_token, &vocab.pad_id}}) {
    auto it = vocab.word_start.find(*token);
    if (it == vocab.word_start.end()) {
      return common::Fail(common::ErrorCode::kBadRequest, std::string("the vocabulary has no ") +
                                                              what + " token \"" + *token + "\"");
    }
    *id = it->second;
  }
  return {};
}

}  // namespace

struct WordPieceTokenizer::State : Vocabulary {};

WordPieceTokenizer::WordPieceTokenizer(std::unique_ptr<State> state) : state_(std::move(state)) {}
WordPieceTokenizer::~WordPieceTokenizer() = default;

common::Result<std::unique_ptr<WordPieceTokenizer>> WordPieceTokenizer::FromVocab(
    std::vector<std::string> vocab, WordPieceOptions options) {
  std::vector<std::int32_t> ids(vocab.size());
  std::iota(ids.begin(), ids.end(), 0);
  return Build(std::move(vocab), std::move(ids), std::move(options));
}

common::Result<std::unique_ptr<WordPieceTokenizer>> WordPieceTokenizer::Build(
    std::vector<std::string> tokens, std::vector<std::int32_t> ids, WordPieceOptions options) {
  assert(tokens.size() == ids.size());
  if (tokens.empty())
    return common::Fail(common::ErrorCode::kBadRequest, "the vocabulary is empty");
  if (options.max_input_chars_per_word < 0) {
    return common::Fail(common::ErrorCode::kBadRequest, "max_input_chars_per_word is negative");
  }
  auto state = std::make_unique<State>();
  state->strip_accents = options.strip_accents.value_or(options.lower_case);
  state->options = std::move(options);
  state->tokens = std::move(tokens);
  if (auto ok = IndexTokens(ids, *state); !ok) return tl::unexpected(ok.error());
  if (auto ok = ResolveSpecialTokens(*state); !ok) return tl::unexpected(ok.error());
  return std::unique_ptr<WordPieceTokenizer>(new WordPieceTokenizer(std::move(state)));
}

void WordPieceTokenizer::EncodeInto(std::string_view text, std::size_t limit,
                                    std::vector<std::int32_t>* out) const {
  Pipeline(*state_, limit, out).Run(text);
}

std::vector<std::int32_t> WordPieceTokenizer::Encode(std::string_view text) const {
  std::vector<std::int32_t> ids;
  // Most English text costs about one token per 4-5 bytes.
  ids.reserve(text.size() / 4 + 8);
  EncodeInto(text, std::numeric_limits<std::size_t>::max(), &ids);
  return ids;
}

std::vector<std::int32_t> WordPieceTokenizer::EncodeForModel(std::string_view text,
                                                             int max_length) const {
  assert(max_length >= 2 && "room for [CLS] and [SEP]");
  const std::size_t budget = static_cast<std::size_t>(std::max(max_length, 2) - 2);
  std::vector<std::int32_t> ids;
  ids.reserve(std::min(budget, text.size() + 1) + 2);
  ids.push_back(state_->cls_id);
  // The last word may overshoot the budget; it is cut like any other token.
  EncodeInto(text, budget + 1, &ids);
  ids.resize(std::min(ids.size(), budget + 1));
  ids.push_back(state_->sep_id);
  return ids;
}

int WordPieceTokenizer::CountTokens(std::string_view text) const {
  return static_cast<int>(Encode(text).size());
}

std::int32_t WordPieceTokenizer::cls_id() const { return state_->cls_id; }
std::int32_t WordPieceTokenizer::sep_id() const { return state_->sep_id; }
std::int32_t WordPieceTokenizer::pad_id() const { return state_->pad_id; }
std::int32_t WordPieceTokenizer::unk_id() const { return state_->unk_id; }
std::size_t WordPieceTokenizer::vocab_size() const { return state_->vocab_size; }

}  // namespace ragpdf::embed::local
