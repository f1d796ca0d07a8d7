#include "embed/embedder.h"

#include <cassert>
#include <string>

namespace ragpdf::embed {

void EmbedderRegistry::Add(std::shared_ptr<Embedder> embedder) {
  assert(embedder != nullptr);
  assert(Find(embedder->info().name) == nullptr && "model names must be unique");
  models_.push_back(std::move(embedder));
}

std::shared_ptr<Embedder> EmbedderRegistry::Find(std::string_view name) const {
  for (const auto& model : models_) {
    if (model->info().name == name) return model;
  }
  return nullptr;
}

common::Result<std::shared_ptr<Embedder>> EmbedderRegistry::Resolve(std::string_view name) const {
  if (name.empty()) {
    if (models_.empty()) {
      return common::Fail(common::ErrorCode::kNotFound, "no embedding model is configured");
    }
    return models_.front();
  }
  if (auto model = Find(name)) return model;
  return common::Fail(common::ErrorCode::kNotFound, "unknown model '" + std::string(name) + "'");
}

}  // namespace ragpdf::embed
