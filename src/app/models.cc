#include "app/models.h"

#include "embed/hashing_embedder.h"

namespace ragpdf::app {

using common::ErrorCode;
using common::Fail;
using common::Result;

namespace {

template <typename T>
T Optional(const toml::value& table, const std::string& key, T fallback) {
  return table.contains(key) ? toml::find<T>(table, key) : fallback;
}

Result<std::shared_ptr<embed::Embedder>> MakeBuiltin(const ModelConfig& c,
                                                     boost::asio::any_io_executor cpu) {
  embed::HashingEmbedderOptions options;
  options.name = c.name;
  options.dimension = Optional<int>(c.table, "dimension", options.dimension);
  options.max_tokens = Optional<int>(c.table, "max_tokens", options.max_tokens);
  if (options.dimension < 8 || options.dimension > 65536 || options.max_tokens < 16) {
    return Fail(ErrorCode::kBadRequest,
                "model " + c.name + ": dimension must be 8..65536 and max_tokens >= 16");
  }
  return std::make_shared<embed::HashingEmbedder>(options, cpu);
}

Result<std::shared_ptr<embed::Embedder>> Make(const ModelConfig& c,
                                              boost::asio::any_io_executor cpu) {
  try {
    if (c.provider == "builtin") return MakeBuiltin(c, cpu);
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kBadRequest, "model " + c.name + ": " + e.what());
  }
  return Fail(ErrorCode::kBadRequest,
              "model " + c.name + ": unknown provider \"" + c.provider + "\"");
}

}  // namespace

Result<void> BuildModels(const std::vector<ModelConfig>& configs, boost::asio::any_io_executor cpu,
                         embed::EmbedderRegistry& registry) {
  for (const auto& c : configs) {
    if (c.name.empty()) return Fail(ErrorCode::kBadRequest, "a [[models]] entry has no name");
    if (registry.Find(c.name)) {
      return Fail(ErrorCode::kBadRequest, "model " + c.name + " is configured twice");
    }
    auto embedder = Make(c, cpu);
    if (!embedder) return Fail(embedder.error());
    registry.Add(*embedder);
  }
  const embed::HashingEmbedderOptions builtin;
  if (!registry.Find(builtin.name)) {
    registry.Add(std::make_shared<embed::HashingEmbedder>(builtin, cpu));
  }
  return {};
}

}  // namespace ragpdf::app
