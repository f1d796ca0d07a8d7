#include "app/provider_local.h"

#include <string>

#include "app/providers.h"

namespace ragpdf::app {

common::Result<embed::local::LocalEmbedderOptions> LocalModelOptions(const ModelConfig& c) {
  auto bad = [&](const std::string& why) {
    return common::Fail(common::ErrorCode::kBadRequest, "model " + c.name + ": " + why);
  };
  embed::local::LocalEmbedderOptions o;
  o.name = c.name;
  o.path = TomlOr<std::string>(c.table, "path", "");
  if (o.path.empty()) return bad("path (the model directory) is required");
  o.query_prefix = TomlOr<std::string>(c.table, "query_prefix", "");
  o.document_prefix = TomlOr<std::string>(c.table, "document_prefix", "");
  o.max_tokens = TomlOr<int>(c.table, "max_tokens", o.max_tokens);
  const auto batch_tokens = TomlOr<std::int64_t>(c.table, "max_batch_tokens",
                                                 static_cast<std::int64_t>(o.max_batch_tokens));
  o.threads = TomlOr<int>(c.table, "threads", o.threads);
  if (o.max_tokens < 0 || o.threads < 0 || o.threads > 1024) {
    return bad("max_tokens must be >= 0 (0: the model's) and threads 0..1024 (0: all cores)");
  }
  if (batch_tokens < 16 || batch_tokens > (1 << 24)) {
    return bad("max_batch_tokens must be 16..16777216");
  }
  o.max_batch_tokens = static_cast<std::size_t>(batch_tokens);
  return o;
}

common::Result<std::shared_ptr<embed::Embedder>> MakeLocalModel(const ModelConfig& c,
                                                                const ProviderContext& context) {
  auto options = LocalModelOptions(c);
  if (!options) return common::Fail(options.error());
  options->cpu = context.cpu;
  auto embedder = embed::local::LocalEmbedder::Load(std::move(*options));
  if (!embedder) return common::Fail(embedder.error());
  return std::shared_ptr<embed::Embedder>(std::move(*embedder));
}

}  // namespace ragpdf::app
