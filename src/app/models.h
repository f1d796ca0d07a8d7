// Builds the embedding models a server offers from its [[models]] config.
// The first configured model is the default; the built-in
// `lexical-hash-384` is always available (and the default when nothing is
// configured).
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include "app/config.h"
#include "common/error.h"
#include "embed/embedder.h"

namespace ragpdf::app {

// kBadRequest naming the entry for an unknown provider, a duplicate name or
// a bad value. `cpu` is the pool embedders compute on.
common::Result<void> BuildModels(const std::vector<ModelConfig>& configs,
                                 boost::asio::any_io_executor cpu,
                                 embed::EmbedderRegistry& registry);

}  // namespace ragpdf::app
