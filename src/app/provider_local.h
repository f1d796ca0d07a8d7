// provider = "local": a Hugging Face BERT-family model directory run
// in-process by the dynamic-batching engine (embed/local). Keys of its
// [[models]] entry: path (required), query_prefix, document_prefix,
// max_tokens, max_batch_tokens, threads.
//
// Thread-safety: pure functions. Errors: kBadRequest naming the model and
// the key (or, from MakeLocalModel, the model file and the problem).
#pragma once

#include "app/config.h"
#include "common/error.h"
#include "embed/local/local_embedder.h"

namespace ragpdf::app {

// The engine options of a local [[models]] entry (without the executor).
common::Result<embed::local::LocalEmbedderOptions> LocalModelOptions(const ModelConfig& config);

}  // namespace ragpdf::app
