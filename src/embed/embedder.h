// The Embedder interface: every embedding backend (the built-in hashing
// embedder, the local transformer engine, remote APIs) implements it.
//
// Ownership: embedders are created by app/ and shared (shared_ptr) by ingest/
// and query/. Thread-safety: all methods are safe to call concurrently.
// Errors: Embed() returns errors as values (kEmbeddingFailed, kOverloaded...).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "common/error.h"
#include "common/tokenizer.h"

namespace ragpdf::embed {

struct ModelInfo {
  std::string name;         // what clients pass as model_choice
  std::string provider;     // "builtin", "local", "openai", ...
  int dimension = 0;        // output vector size
  int max_tokens = 0;       // longest input the model accepts, in its tokens
  std::string description;  // one line for /available-models
};

enum class Purpose { kDocument, kQuery };

struct EmbedRequest {
  std::vector<std::string> texts;
  Purpose purpose = Purpose::kDocument;
  // Fairness key for batching across uploads (the file id); empty for queries.
  std::string lane_key;
};

// Row-major matrix: rows() vectors of `dimension` floats, each L2-normalized
// (a zero vector for an input without any feature).
struct Embeddings {
  int dimension = 0;
  std::vector<float> data;

  std::size_t rows() const { return dimension ? data.size() / dimension : 0; }
  std::span<const float> Row(std::size_t i) const {
    return {data.data() + i * dimension, static_cast<std::size_t>(dimension)};
  }
};

class Embedder {
 public:
  virtual ~Embedder() = default;
  virtual const ModelInfo& info() const = 0;
  virtual const common::Tokenizer& tokenizer() const = 0;
  // Embeds every text of the request, in order. Completes on the caller's
  // executor; never blocks it.
  virtual boost::asio::awaitable<common::Result<Embeddings>> Embed(EmbedRequest request) = 0;
};

// The models a server has, by name. Filled once at start-up, then read-only.
class EmbedderRegistry {
 public:
  // The first model added is the default.
  void Add(std::shared_ptr<Embedder> embedder);
  // nullptr when unknown.
  std::shared_ptr<Embedder> Find(std::string_view name) const;
  // `name` or the default when empty; kNotFound for an unknown name.
  common::Result<std::shared_ptr<Embedder>> Resolve(std::string_view name) const;
  const std::shared_ptr<Embedder>& Default() const { return models_.front(); }
  const std::vector<std::shared_ptr<Embedder>>& All() const { return models_; }

 private:
  std::vector<std::shared_ptr<Embedder>> models_;
};

}  // namespace ragpdf::embed
