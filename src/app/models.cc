#include "app/models.h"

#include <string_view>
#include <utility>

#include "embed/hashing_embedder.h"

namespace ragpdf::app {

using common::ErrorCode;
using common::Fail;
using common::Result;

namespace {

constexpr std::pair<std::string_view, ProviderFactory> kProviders[] = {
    {"builtin", &MakeBuiltinModel},
    {"local", &MakeLocalModel},
    {"openai", &MakeOpenAiModel},
    {"azure-openai", &MakeOpenAiModel},
};

Result<std::shared_ptr<embed::Embedder>> Make(const ModelConfig& c,
                                              const ProviderContext& context) {
  for (const auto& [name, factory] : kProviders) {
    if (name != c.provider) continue;
    try {
      return factory(c, context);
    } catch (const std::exception& e) {  // toml11 reports bad keys by throwing
      return Fail(ErrorCode::kBadRequest, "model " + c.name + ": " + e.what());
    }
  }
  return Fail(ErrorCode::kBadRequest,
              "model " + c.name + ": unknown provider \"" + c.provider + "\"");
}

}  // namespace

Result<void> BuildModels(const std::vector<ModelConfig>& configs, const ProviderContext& context,
                         embed::EmbedderRegistry& registry) {
  for (const auto& c : configs) {
    if (c.name.empty()) return Fail(ErrorCode::kBadRequest, "a [[models]] entry has no name");
    if (registry.Find(c.name)) {
      return Fail(ErrorCode::kBadRequest, "model " + c.name + " is configured twice");
    }
    auto embedder = Make(c, context);
    if (!embedder) return Fail(embedder.error());
    registry.Add(*embedder);
  }
  const embed::HashingEmbedderOptions builtin;
  if (!registry.Find(builtin.name)) {
    registry.Add(std::make_shared<embed::HashingEmbedder>(builtin, context.cpu));
  }
  return {};
}

}  // namespace ragpdf::app
