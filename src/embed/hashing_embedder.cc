#include "embed/hashing_embedder.h"

#include <utf8proc.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <utility>

#include "common/async.h"

namespace ragpdf::embed {
namespace {

constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr std::uint64_t kFnvPrime = 0x100000001b3ULL;

std::uint64_t FnvUpdate(std::uint64_t state, std::string_view bytes) {
  for (unsigned char c : bytes) {
    state ^= c;
    state *= kFnvPrime;
  }
  return state;
}

std::uint64_t Fmix64(std::uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

bool IsAscii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

bool IsAsciiWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool IsWordCodepoint(utf8proc_int32_t cp) {
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return true;
    default:
      return false;
  }
}

// Invalid byte sequences become spaces (word separators).
std::string ReplaceInvalidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  std::size_t i = 0;
  while (i < text.size()) {
    utf8proc_int32_t cp;
    const utf8proc_ssize_t n = utf8proc_iterate(p + i, text.size() - i, &cp);
    if (n < 0) {
      out.push_back(' ');
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

// Step 1 of the documented algorithm, for text with non-ASCII bytes.
std::string NormalizeUnicode(std::string_view text) {
  constexpr auto kOptions =
      static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE |
                                     UTF8PROC_CASEFOLD | UTF8PROC_IGNORE | UTF8PROC_STRIPMARK);
  auto map = [](std::string_view in, std::string& out) {
    utf8proc_uint8_t* mapped = nullptr;
    const utf8proc_ssize_t n =
        utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(in.data()),
                     static_cast<utf8proc_ssize_t>(in.size()), &mapped, kOptions);
    std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(mapped, &std::free);
    if (n < 0) return false;
    out.assign(reinterpret_cast<const char*>(mapped), static_cast<std::size_t>(n));
    return true;
  };
  std::string out;
  if (map(text, out)) return out;
  // Invalid UTF-8 (or out of memory, in which case the text has no words).
  if (!map(ReplaceInvalidUtf8(text), out)) out.clear();
  return out;
}

// Calls `fn(word)` for each normalized word until it returns false.
template <typename Fn>
void ForEachWord(std::string_view text, Fn&& fn) {
  if (IsAscii(text)) {
    // NFKC, marks and ignorables do not touch ASCII: folding is lower-casing.
    std::string word;
    for (std::size_t i = 0; i < text.size();) {
      if (!IsAsciiWordChar(text[i])) {
        ++i;
        continue;
      }
      word.clear();
      for (; i < text.size() && IsAsciiWordChar(text[i]); ++i) {
        const char c = text[i];
        word.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
      }
      if (!fn(std::string_view(word))) return;
    }
    return;
  }
  const std::string normalized = NormalizeUnicode(text);
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(normalized.data());
  const std::size_t size = normalized.size();
  std::size_t start = 0;
  bool in_word = false;
  for (std::size_t i = 0; i < size;) {
    utf8proc_int32_t cp;
    const utf8proc_ssize_t n = utf8proc_iterate(p + i, size - i, &cp);  // valid: utf8proc output
    const bool word_char = IsWordCodepoint(cp);
    if (word_char && !in_word) start = i;
    if (!word_char && in_word && !fn(std::string_view(normalized).substr(start, i - start))) {
      return;
    }
    in_word = word_char;
    i += n;
  }
  if (in_word) fn(std::string_view(normalized).substr(start));
}

// Adds the signed, weighted features to `acc`; `hashes` is sorted in place so
// equal features are adjacent (and the summation order is fixed).
void AccumulateFeatures(std::vector<std::uint64_t>& hashes, double factor,
                        std::vector<double>& acc) {
  std::sort(hashes.begin(), hashes.end());
  for (std::size_t i = 0; i < hashes.size();) {
    std::size_t j = i;
    while (j < hashes.size() && hashes[j] == hashes[i]) ++j;
    const double weight = factor * (1.0 + std::log(static_cast<double>(j - i)));
    const std::uint64_t h = hashes[i];
    acc[h % acc.size()] += (h >> 63) ? -weight : weight;
    i = j;
  }
}

}  // namespace

std::uint64_t FeatureHash(std::string_view bytes) { return Fmix64(FnvUpdate(kFnvOffset, bytes)); }

int HashingTokenizer::CountTokens(std::string_view text) const {
  int count = 0;
  if (IsAscii(text)) {
    // Fast path for the chunker's hot loop: same result as ForEachWord.
    bool in_word = false;
    for (char c : text) {
      const bool word_char = IsAsciiWordChar(c);
      count += word_char && !in_word;
      in_word = word_char;
    }
    return count;
  }
  ForEachWord(text, [&](std::string_view) {
    ++count;
    return true;
  });
  return count;
}

std::vector<std::string> HashingTokenizer::Words(std::string_view text) const {
  std::vector<std::string> words;
  ForEachWord(text, [&](std::string_view w) {
    words.emplace_back(w);
    return true;
  });
  return words;
}

HashingEmbedder::HashingEmbedder(HashingEmbedderOptions options, boost::asio::any_io_executor cpu)
    : options_(std::move(options)), cpu_(std::move(cpu)) {
  assert(options_.dimension > 0 && options_.max_tokens > 0 && options_.batch_size > 0);
  info_.name = options_.name;
  info_.provider = "builtin";
  info_.dimension = options_.dimension;
  info_.max_tokens = options_.max_tokens;
  info_.description =
      "Built-in lexical embedder (hashed word unigrams and bigrams): matches shared words, "
      "not meaning; no download needed";
}

void HashingEmbedder::EmbedOne(std::string_view text, std::span<float> out) const {
  assert(out.size() == static_cast<std::size_t>(options_.dimension));
  std::vector<std::uint64_t> unigrams, bigrams;
  std::uint64_t previous = 0;  // FNV state after the previous word
  ForEachWord(text, [&](std::string_view word) {
    if (unigrams.size() == static_cast<std::size_t>(options_.max_tokens)) return false;
    const std::uint64_t state = FnvUpdate(kFnvOffset, word);
    if (!unigrams.empty()) bigrams.push_back(Fmix64(FnvUpdate(FnvUpdate(previous, " "), word)));
    unigrams.push_back(Fmix64(state));
    previous = state;
    return true;
  });
  std::vector<double> acc(out.size(), 0.0);
  AccumulateFeatures(unigrams, 1.0, acc);
  AccumulateFeatures(bigrams, kBigramWeight, acc);
  double norm = 0;
  for (double x : acc) norm += x * x;
  norm = std::sqrt(norm);
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = norm > 0 ? static_cast<float>(acc[i] / norm) : 0.0f;
  }
}

std::vector<float> HashingEmbedder::EmbedBatch(const std::vector<std::string>& texts) const {
  const auto dim = static_cast<std::size_t>(options_.dimension);
  std::vector<float> rows(texts.size() * dim);
  for (std::size_t i = 0; i < texts.size(); ++i) {
    EmbedOne(texts[i], std::span<float>(rows).subspan(i * dim, dim));
  }
  return rows;
}

boost::asio::awaitable<common::Result<Embeddings>> HashingEmbedder::Embed(EmbedRequest request) {
  const std::size_t count = request.texts.size();
  Embeddings result;
  result.dimension = options_.dimension;
  result.data.reserve(count * static_cast<std::size_t>(options_.dimension));
  for (std::size_t begin = 0; begin < count; begin += options_.batch_size) {
    const std::size_t end = std::min(count, begin + options_.batch_size);
    std::vector<std::string> batch(std::make_move_iterator(request.texts.begin() + begin),
                                   std::make_move_iterator(request.texts.begin() + end));
    auto task = [this, batch = std::move(batch)] { return EmbedBatch(batch); };
    std::vector<float> rows = co_await common::Offload(cpu_, std::move(task));
    result.data.insert(result.data.end(), rows.begin(), rows.end());
  }
  co_return common::Result<Embeddings>(std::move(result));
}

}  // namespace ragpdf::embed
