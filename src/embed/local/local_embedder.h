// LocalEmbedder: the Embedder for provider = "local". One engine per model
// owns a request queue and a dedicated thread that runs the encoder, in the
// manner of text-embeddings-inference:
// - requests from every file and upload in flight are tokenized, split into
//   sequences and queued per lane (the request's lane_key, i.e. the file);
// - batches are packed to a token budget counted as padded cost
//   (rows x longest row), with sequences grouped by length to limit padding;
// - lanes are served round-robin so a 1,000-page PDF does not starve a
//   1-page upload; queries (Purpose::kQuery) have a lane of their own that is
//   always served first;
// - each finished vector is delivered to its request; a request completes on
//   its caller's executor when all its vectors are done.
//
// Ownership: app/ creates one per configured model and keeps it until
// shutdown; the destructor stops and joins the engine thread (pending
// requests fail with kUnavailable). Thread-safety: Embed() may be called
// concurrently from any executor. Errors: Load() fails with kBadRequest for
// a bad model directory or options; Embed() with kOverloaded beyond the
// queue limits, kUnavailable after shutdown, kEmbeddingFailed if the encoder
// fails.
//
// ModelInfo::max_tokens is what a text may cost (CountTokens) without being
// truncated: max_tokens minus [CLS], [SEP] and the longer prefix.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "embed/embedder.h"
#include "embed/local/bert_encoder.h"
#include "embed/local/wordpiece_tokenizer.h"

namespace ragpdf::embed::local {

struct LocalEmbedderOptions {
  std::string name;             // model_choice value
  std::filesystem::path path;   // Hugging Face model directory
  std::string query_prefix;     // e.g. "query: " for e5
  std::string document_prefix;  // e.g. "passage: " for e5
  // Longest sequence, special tokens included. 0: sentence_bert_config.json's
  // max_seq_length if present, else the model's max_position_embeddings.
  int max_tokens = 0;
  // Padded tokens per encoder call. 4096 (32 x 128) already keeps the GEMMs
  // efficient; larger batches only lengthen the wait of a query that
  // arrives while one runs.
  std::size_t max_batch_tokens = 4096;
  std::size_t max_batch_rows = 64;
  int threads = 0;  // encoder threads; 0: all cores
  // Pool that tokenizes requests (required), so neither the caller's I/O
  // thread nor the encoder thread spends time on it.
  boost::asio::any_io_executor cpu;
  // Back-pressure: texts admitted and not yet embedded, per purpose; an
  // Embed() beyond them fails with kOverloaded.
  std::size_t max_queued_texts = 65536;
  std::size_t max_queued_queries = 1024;
};

class LocalEmbedder : public Embedder {
 public:
  // Loads the tokenizer and the encoder from options.path.
  static common::Result<std::unique_ptr<LocalEmbedder>> Load(LocalEmbedderOptions options);
  // From already-loaded parts (tests pass a small fake encoder); options.path
  // is only used for sentence_bert_config.json and the description.
  static common::Result<std::unique_ptr<LocalEmbedder>> Create(
      LocalEmbedderOptions options, std::unique_ptr<WordPieceTokenizer> tokenizer,
      std::unique_ptr<BertEncoder> encoder);
  ~LocalEmbedder() override;

  const ModelInfo& info() const override;
  const common::Tokenizer& tokenizer() const override;
  boost::asio::awaitable<common::Result<Embeddings>> Embed(EmbedRequest request) override;

 private:
  class Engine;
  explicit LocalEmbedder(std::unique_ptr<Engine> engine);
  std::unique_ptr<Engine> engine_;
};

}  // namespace ragpdf::embed::local
