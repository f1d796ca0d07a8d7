// Embedding providers: one factory per `provider = "..."` value of a
// [[models]] entry. Each factory reads its own keys from ModelConfig::table
// and returns a ready embedder, or kBadRequest naming the model and the key.
// Add a provider: declare its factory here, define it in provider_<name>.cc,
// and list it in kProviders (models.cc).
#pragma once

#include <memory>

#include <boost/asio/any_io_executor.hpp>

#include "app/config.h"
#include "common/error.h"
#include "embed/embedder.h"

namespace ragpdf::app {

struct ProviderContext {
  boost::asio::any_io_executor io;   // the single-threaded event loop
  boost::asio::any_io_executor cpu;  // the CPU pool
};

using ProviderFactory = common::Result<std::shared_ptr<embed::Embedder>> (*)(
    const ModelConfig& config, const ProviderContext& context);

// provider = "builtin": the lexical hashing embedder (dimension, max_tokens).
common::Result<std::shared_ptr<embed::Embedder>> MakeBuiltinModel(const ModelConfig& config,
                                                                  const ProviderContext& context);

// provider = "local": a Hugging Face BERT model directory run in-process
// (path, query_prefix, document_prefix, max_tokens, max_batch_tokens,
// threads; see provider_local.h).
common::Result<std::shared_ptr<embed::Embedder>> MakeLocalModel(const ModelConfig& config,
                                                                const ProviderContext& context);

// provider = "openai" or "azure-openai": a remote OpenAI-compatible API (keys
// listed in provider_openai.cc; the API key is read from the environment
// variable named by api_key_env).
common::Result<std::shared_ptr<embed::Embedder>> MakeOpenAiModel(const ModelConfig& config,
                                                                 const ProviderContext& context);

}  // namespace ragpdf::app
