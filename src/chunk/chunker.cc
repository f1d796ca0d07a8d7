#include "chunk/chunker.h"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <string_view>

#include "chunk/text_segment.h"

namespace ragpdf::chunk {
namespace {

constexpr int kDefaultChunkTokens = 256;

// Strength of the break before a piece: chunks prefer to end at strong ones.
// A heading belongs with what follows, so the break after it is weak.
enum class Boundary : std::uint8_t { kNone, kWord, kAfterHeading, kSentence, kParagraph };

struct Piece {
  std::string_view text;  // into storage that outlives the packing
  int tokens = 0;
  int page = 1;
  Boundary before = Boundary::kParagraph;
  bool glued = false;       // no separator before it (word fragments, CJK sentences)
  bool splittable = false;  // several words: may be cut into words later
};

// Makes pieces that each fit `space` tokens.
class Splitter {
 public:
  Splitter(const common::Tokenizer& tokenizer, int space) : tokenizer_(tokenizer), space_(space) {}

  int Count(std::string_view text) const { return tokenizer_.CountTokens(text); }

  // `text` as one piece when it fits, else as words. `head` gives the
  // page, how the first piece joins the previous one, and whether the piece
  // may be split later.
  void AddSpan(std::string_view text, Piece head, std::vector<Piece>& out) const {
    head.text = text;
    head.tokens = Count(text);
    if (head.tokens <= space_) {
      head.splittable = head.splittable && text.find(' ') != text.npos;
      out.push_back(head);
    } else {
      AddWords(text, head, out);
    }
  }

  // One piece per word; a word over the budget is cut into fragments.
  void AddWords(std::string_view text, Piece head, std::vector<Piece>& out) const {
    head.splittable = false;
    for (std::string_view word : SplitWords(text)) {
      head.text = word;
      head.tokens = Count(word);
      if (head.tokens <= space_) {
        out.push_back(head);
      } else {
        AddFragments(head, out);
      }
      head.before = Boundary::kWord;
      head.glued = false;
    }
  }

 private:
  // Longest runs of whole graphemes that fit; galloping keeps the number of
  // counts logarithmic in the fragment length, so a huge word stays linear.
  void AddFragments(Piece head, std::vector<Piece>& out) const {
    const std::string_view word = head.text;
    const std::vector<std::size_t> bounds = GraphemeBoundaries(word);
    auto fits = [&](std::size_t first, std::size_t last) {
      return Count(word.substr(bounds[first], bounds[last] - bounds[first])) <= space_;
    };
    std::size_t first = 0;
    while (first + 1 < bounds.size()) {
      std::size_t good = first + 1;  // always at least one grapheme
      std::size_t bad = bounds.size();
      for (std::size_t step = 1; good + step < bounds.size(); step *= 2) {
        if (!fits(first, good + step)) {
          bad = good + step;
          break;
        }
        good += step;
      }
      while (bad - good > 1) {
        const std::size_t mid = good + (bad - good) / 2;
        (fits(first, mid) ? good : bad) = mid;
      }
      head.text = word.substr(bounds[first], bounds[good] - bounds[first]);
      head.tokens = Count(head.text);
      out.push_back(head);
      head.before = Boundary::kNone;
      head.glued = true;
      first = good;
    }
  }

  const common::Tokenizer& tokenizer_;
  int space_;
};

struct PackOptions {
  int budget = 1;   // tokens of the whole chunk text, prefix included
  int overlap = 0;  // tokens repeated from the previous chunk
  std::string_view paragraph_separator;
  std::string_view prefix;  // starts every chunk (then a newline), may be empty
  int prefix_tokens = 0;
};

// Greedy packing of pieces into chunks; see ChunkPages() in the header.
class Packer {
 public:
  Packer(const common::Tokenizer& tokenizer, const Splitter& splitter, PackOptions options)
      : tokenizer_(tokenizer),
        splitter_(splitter),
        options_(options),
        space_(options.budget - options.prefix_tokens) {}

  std::vector<Chunk> Pack(const std::vector<Piece>& pieces) {
    queue_.assign(pieces.begin(), pieces.end());
    while (!queue_.empty() || HasNewContent()) {
      if (queue_.empty()) {
        EmitCurrent();
        continue;
      }
      const Piece& next = queue_.front();
      if (tokens_ + next.tokens <= space_) {
        Append(next);
        queue_.pop_front();
      } else if (!HasNewContent()) {
        if (overlap_count_ > 0) {
          DropFirst();  // the overlap gives way to new text
        } else if (next.splittable) {
          SplitFront();
        } else {
          Append(next);  // one grapheme costing more than the budget
          queue_.pop_front();
        }
      } else if (const std::size_t cut = ChooseCut(next); cut == kSplitNext) {
        SplitFront();
      } else {
        GiveBack(cut);
        EmitCurrent();
      }
    }
    return std::move(chunks_);
  }

 private:
  static constexpr std::size_t kSplitNext = 0;  // never a valid cut: cuts keep new text

  bool HasNewContent() const { return current_.size() > overlap_count_; }

  void Append(const Piece& piece) {
    current_.push_back(piece);
    tokens_ += piece.tokens;
  }

  void DropFirst() {
    tokens_ -= current_.front().tokens;
    current_.erase(current_.begin());
    if (overlap_count_ > 0) --overlap_count_;
  }

  // Replaces the next piece by its words.
  void SplitFront() {
    const Piece piece = queue_.front();
    queue_.pop_front();
    std::vector<Piece> words;
    splitter_.AddWords(piece.text, piece, words);
    queue_.insert(queue_.begin(), words.begin(), words.end());
  }

  // Returns the pieces from index `cut` on to the queue.
  void GiveBack(std::size_t cut) {
    for (std::size_t k = current_.size(); k > cut; --k) {
      tokens_ -= current_[k - 1].tokens;
      queue_.push_front(current_[k - 1]);
    }
    current_.resize(cut);
  }

  // Where to end the current chunk, which `next` does not fit: the
  // strongest boundary (latest among equals) that keeps the chunk at least
  // half full, or kSplitNext to fill the chunk with the words of `next`.
  std::size_t ChooseCut(const Piece& next) const {
    const int min_fill = space_ / 2;
    std::size_t best = kSplitNext;
    Boundary best_strength = Boundary::kNone;
    int tokens_before = tokens_;  // tokens of current_[0, k)
    for (std::size_t k = current_.size(); k > overlap_count_; --k) {
      if (tokens_before < min_fill) break;
      const Boundary strength = k == current_.size() ? next.before : current_[k].before;
      if (best == kSplitNext || strength > best_strength) {
        best = k;
        best_strength = strength;
      }
      if (strength == Boundary::kParagraph) break;
      tokens_before -= current_[k - 1].tokens;
    }
    if (best == kSplitNext && !next.splittable) return current_.size();
    return best;
  }

  std::string JoinCurrent() const {
    std::string text(options_.prefix);
    if (!text.empty()) text.push_back('\n');
    for (std::size_t i = 0; i < current_.size(); ++i) {
      const Piece& piece = current_[i];
      if (i > 0 && !piece.glued) {
        const bool paragraph =
            piece.before == Boundary::kParagraph || piece.before == Boundary::kAfterHeading;
        text += paragraph ? options_.paragraph_separator : " ";
      }
      text += piece.text;
    }
    return text;
  }

  // Emits the current chunk and starts the next one with the overlap. A
  // chunk whose final text counts over budget (the tokenizer's counts do
  // not add up) first gives pieces back to the queue.
  void EmitCurrent() {
    std::string text = JoinCurrent();
    int tokens = tokenizer_.CountTokens(text);
    while (tokens > options_.budget && current_.size() > 1) {
      if (current_.size() - overlap_count_ > 1) {
        GiveBack(current_.size() - 1);
      } else {
        DropFirst();  // overlap
      }
      text = JoinCurrent();
      tokens = tokenizer_.CountTokens(text);
    }
    if (tokens > options_.budget && current_.front().text.find(' ') != std::string_view::npos) {
      GiveBack(0);  // one piece over budget with the prefix: retry as words
      SplitFront();
      return;
    }
    Chunk chunk;
    chunk.text = std::move(text);
    chunk.token_count = tokens;
    chunk.page_start = chunk.page_end = current_.front().page;
    for (const Piece& piece : current_) {
      chunk.page_start = std::min(chunk.page_start, piece.page);
      chunk.page_end = std::max(chunk.page_end, piece.page);
    }
    chunks_.push_back(std::move(chunk));
    StartWithOverlap();
  }

  // Keeps the last ~overlap tokens of the emitted chunk, as whole words.
  void StartWithOverlap() {
    std::vector<Piece> tail;  // reversed
    int tail_tokens = 0;
    for (auto it = current_.rbegin(); it != current_.rend(); ++it) {
      if (tail_tokens + it->tokens <= options_.overlap) {
        tail.push_back(*it);
        tail_tokens += it->tokens;
        continue;
      }
      if (it->splittable) {
        std::vector<Piece> words;
        splitter_.AddWords(it->text, *it, words);
        for (auto w = words.rbegin(); w != words.rend(); ++w) {
          if (tail_tokens + w->tokens > options_.overlap) break;
          tail.push_back(*w);
          tail_tokens += w->tokens;
        }
      }
      break;
    }
    current_.assign(tail.rbegin(), tail.rend());
    tokens_ = tail_tokens;
    overlap_count_ = current_.size();
  }

  const common::Tokenizer& tokenizer_;
  const Splitter& splitter_;
  PackOptions options_;
  int space_;  // budget left for pieces after the prefix
  std::deque<Piece> queue_;
  std::vector<Piece> current_;
  int tokens_ = 0;                 // sum of current_ tokens
  std::size_t overlap_count_ = 0;  // leading pieces of current_ repeated from the last chunk
  std::vector<Chunk> chunks_;
};

enum class Ending { kSentence, kHeading, kUnfinished };

// A short one-sentence paragraph without final punctuation ("2. Methods") is
// a heading; a longer one was cut off (by a page break).
Ending EndingOf(std::string_view paragraph, std::size_t sentences) {
  constexpr std::size_t kMaxHeadingSpaces = 12;
  if (EndsSentence(paragraph)) return Ending::kSentence;
  const auto spaces = static_cast<std::size_t>(std::count(paragraph.begin(), paragraph.end(), ' '));
  return sentences == 1 && spaces < kMaxHeadingSpaces ? Ending::kHeading : Ending::kUnfinished;
}

// The boundary before a paragraph. Across a page break, text that did not
// end its sentence goes on (a heading only when the page continues in lower
// case).
Boundary Attach(Ending previous, bool new_page, std::string_view paragraph) {
  switch (previous) {
    case Ending::kSentence:
      return Boundary::kParagraph;
    case Ending::kHeading:
      return new_page && StartsLowercase(paragraph) ? Boundary::kWord : Boundary::kAfterHeading;
    case Ending::kUnfinished:
      return new_page ? Boundary::kWord : Boundary::kParagraph;
  }
  return Boundary::kParagraph;
}

// Budget and overlap made safe even for options that skipped validation.
PackOptions SafeOptions(const ChunkOptions& options) {
  PackOptions pack;
  pack.budget = std::max(1, options.chunk_tokens);
  pack.overlap = std::clamp(options.overlap_tokens, 0, pack.budget - 1);
  return pack;
}

// "Columns: a, b, ..." within `limit` tokens, cut to "Columns: a, ..., (+N
// more)" when needed; empty when not even that fits.
std::string HeaderContext(const std::vector<std::string>& names, const Splitter& counter,
                          int limit) {
  auto build = [&](std::size_t shown) {
    std::string text = "Columns:";
    for (std::size_t i = 0; i < shown; ++i) text += (i ? ", " : " ") + names[i];
    if (shown < names.size()) {
      text += (shown ? ", ... (+" : " ... (+") + std::to_string(names.size() - shown) + " more)";
    }
    return text;
  };
  if (std::string full = build(names.size()); counter.Count(full) <= limit) return full;
  // Largest prefix of names that fits (counts grow with the prefix).
  std::size_t good = 0, bad = names.size();
  if (counter.Count(build(0)) > limit) return "";
  while (bad - good > 1) {
    const std::size_t mid = good + (bad - good) / 2;
    (counter.Count(build(mid)) <= limit ? good : bad) = mid;
  }
  return build(good);
}

}  // namespace

ChunkOptions DefaultChunkOptions(int model_max_tokens) {
  ChunkOptions options;
  options.chunk_tokens =
      model_max_tokens > 0 ? std::min(kDefaultChunkTokens, model_max_tokens) : kDefaultChunkTokens;
  options.overlap_tokens = options.chunk_tokens / 8;
  return options;
}

common::Result<ChunkOptions> ResolveChunkOptions(std::optional<int> chunk_tokens,
                                                 std::optional<int> overlap_tokens,
                                                 int model_max_tokens) {
  ChunkOptions options = DefaultChunkOptions(model_max_tokens);
  if (chunk_tokens) {
    if (*chunk_tokens <= 0 || *chunk_tokens > model_max_tokens) {
      return common::Fail(common::ErrorCode::kBadRequest, "chunk_tokens must be between 1 and " +
                                                              std::to_string(model_max_tokens) +
                                                              " for this model");
    }
    options.chunk_tokens = *chunk_tokens;
    options.overlap_tokens = *chunk_tokens / 8;
  }
  if (overlap_tokens) {
    if (*overlap_tokens < 0 || *overlap_tokens >= options.chunk_tokens) {
      return common::Fail(common::ErrorCode::kBadRequest,
                          "overlap_tokens must be between 0 and chunk_tokens - 1 (" +
                              std::to_string(options.chunk_tokens - 1) + ")");
    }
    options.overlap_tokens = *overlap_tokens;
  }
  return options;
}

std::vector<Chunk> ChunkPages(std::span<const common::PageText> pages,
                              const common::Tokenizer& tokenizer, const ChunkOptions& options) {
  PackOptions pack = SafeOptions(options);
  pack.paragraph_separator = "\n\n";
  const Splitter splitter(tokenizer, pack.budget);

  std::deque<std::string> paragraphs;  // stable addresses for the pieces' views
  std::vector<Piece> pieces;
  Ending previous = Ending::kSentence;  // how the last paragraph ended
  for (const common::PageText& page : pages) {
    const std::size_t first = paragraphs.size();
    for (std::string& paragraph : NormalizeParagraphs(page.text)) {
      paragraphs.push_back(std::move(paragraph));
    }
    for (std::size_t p = first; p < paragraphs.size(); ++p) {
      const std::string_view paragraph = paragraphs[p];
      const std::vector<std::string_view> sentences = SplitSentences(paragraph);
      Piece head{.page = page.page,
                 .before = Attach(previous, /*new_page=*/p == first, paragraph),
                 .splittable = true};
      for (std::string_view sentence : sentences) {
        splitter.AddSpan(sentence, head, pieces);
        head.before = Boundary::kSentence;
        // CJK sentences follow each other without a space.
        const std::size_t end =
            static_cast<std::size_t>(sentence.data() - paragraph.data()) + sentence.size();
        head.glued = end < paragraph.size() && paragraph[end] != ' ';
      }
      previous = EndingOf(paragraph, sentences.size());
    }
  }
  return Packer(tokenizer, splitter, pack).Pack(pieces);
}

std::vector<Chunk> ChunkTable(const common::Table& table, const common::Tokenizer& tokenizer,
                              const ChunkOptions& options) {
  PackOptions pack = SafeOptions(options);
  pack.overlap = 0;  // rows stand alone: no overlap
  pack.paragraph_separator = "\n";

  std::size_t columns = table.header.size();
  for (const auto& row : table.rows) columns = std::max(columns, row.size());
  std::vector<std::string> names(columns);
  for (std::size_t c = 0; c < columns; ++c) {
    if (c < table.header.size()) names[c] = NormalizeInline(table.header[c]);
    if (names[c].empty()) names[c] = "column " + std::to_string(c + 1);
  }
  const Splitter counter(tokenizer, pack.budget);
  const std::string header = HeaderContext(names, counter, pack.budget / 2);
  pack.prefix = header;
  pack.prefix_tokens = header.empty() ? 0 : counter.Count(header);
  const Splitter splitter(tokenizer, pack.budget - pack.prefix_tokens);

  std::deque<std::string> rows;  // stable addresses for the pieces' views
  std::vector<Piece> pieces;
  for (const auto& row : table.rows) {
    std::string text;
    for (std::size_t c = 0; c < row.size(); ++c) {
      const std::string value = NormalizeInline(row[c]);
      if (value.empty()) continue;
      if (!text.empty()) text += " | ";
      text += names[c] + ": " + value;
    }
    if (text.empty()) continue;
    rows.push_back(std::move(text));
    splitter.AddSpan(rows.back(), Piece{}, pieces);  // page 1, whole rows
  }
  return Packer(tokenizer, splitter, pack).Pack(pieces);
}

}  // namespace ragpdf::chunk
