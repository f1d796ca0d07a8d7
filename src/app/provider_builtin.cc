#include "app/providers.h"
#include "embed/hashing_embedder.h"

namespace ragpdf::app {

common::Result<std::shared_ptr<embed::Embedder>> MakeBuiltinModel(const ModelConfig& c,
                                                                  const ProviderContext& context) {
  embed::HashingEmbedderOptions options;
  options.name = c.name;
  options.dimension = TomlOr<int>(c.table, "dimension", options.dimension);
  options.max_tokens = TomlOr<int>(c.table, "max_tokens", options.max_tokens);
  if (options.dimension < 8 || options.dimension > 65536 || options.max_tokens < 16) {
    return common::Fail(common::ErrorCode::kBadRequest,
                        "model " + c.name + ": dimension must be 8..65536 and max_tokens >= 16");
  }
  return std::make_shared<embed::HashingEmbedder>(options, context.cpu);
}

}  // namespace ragpdf::app
