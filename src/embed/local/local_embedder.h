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
// concurrently from any executor. Errors: kUnavailable after shutdown,
// kEmbeddingFailed if the encoder fails.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

#include "embed/embedder.h"
#include "embed/local/bert_encoder.h"
#include "embed/local/wordpiece_tokenizer.h"

namespace ragpdf::embed::local {

struct LocalEmbedderOptions {
  std::string name;                 // model_choice value
  std::filesystem::path path;       // Hugging Face model directory
  std::string query_prefix;         // e.g. "query: " for e5
  std::string document_prefix;      // e.g. "passage: " for e5
  int max_tokens = 0;               // 0: the model's max_position_embeddings
  std::size_t max_batch_tokens = 16384;  // padded tokens per encoder call
  std::size_t max_batch_rows = 64;
  int threads = 0;                  // encoder threads; 0: all cores
};

class LocalEmbedder : public Embedder {
 public:
  static common::Result<std::unique_ptr<LocalEmbedder>> Load(LocalEmbedderOptions options);
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
