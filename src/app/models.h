// Builds the embedding models a server offers from its [[models]] config.
// The first configured model is the default; the built-in
// `lexical-hash-384` is always available (and the default when nothing is
// configured).
#pragma once

#include "app/providers.h"

namespace ragpdf::app {

// kBadRequest naming the entry for an unknown provider, a duplicate name or
// a bad value.
common::Result<void> BuildModels(const std::vector<ModelConfig>& configs,
                                 const ProviderContext& context, embed::EmbedderRegistry& registry);

}  // namespace ragpdf::app
