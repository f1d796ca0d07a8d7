#include "embed/local/bert_loader.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "embed/local/safetensors.h"

namespace ragpdf::embed::local {
namespace {

using common::ErrorCode;
using common::Fail;
namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::uintmax_t kMaxJsonBytes = 1 << 20;

// Limits on config.json values, far above any BERT in use, so that a bad
// config fails with a message instead of an enormous allocation.
struct IntField {
  std::string_view name;
  int BertConfig::*member;
  int max;
  std::optional<int> fallback;  // used when the field is absent
};
constexpr IntField kIntFields[] = {
    {"vocab_size", &BertConfig::vocab_size, 4'000'000, std::nullopt},
    {"hidden_size", &BertConfig::hidden_size, 16384, std::nullopt},
    {"num_hidden_layers", &BertConfig::num_hidden_layers, 256, std::nullopt},
    {"num_attention_heads", &BertConfig::num_attention_heads, 1024, std::nullopt},
    {"intermediate_size", &BertConfig::intermediate_size, 65536, std::nullopt},
    {"max_position_embeddings", &BertConfig::max_position_embeddings, 65536, std::nullopt},
    {"type_vocab_size", &BertConfig::type_vocab_size, 1024, 2},
};

common::Result<json::object> ReadJsonObject(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return Fail(ErrorCode::kBadRequest, "model directory " + path.parent_path().string() + ": " +
                                            path.filename().string() + " is missing");
  }
  const auto size = fs::file_size(path, ec);
  if (ec || size > kMaxJsonBytes) {
    return Fail(ErrorCode::kBadRequest, path.string() + ": unreadable or larger than 1 MiB");
  }
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  json::error_code parse_error;
  json::value value = json::parse(text, parse_error);
  if (parse_error || !value.is_object()) {
    return Fail(ErrorCode::kBadRequest, path.string() + ": not a JSON object");
  }
  return std::move(value.as_object());
}

common::Result<void> CheckArchitecture(const json::object& config, const std::string& file) {
  bool bert = false;
  if (const auto* type = config.if_contains("model_type")) {
    if (!type->is_string() || type->as_string() != "bert") {
      return Fail(ErrorCode::kBadRequest, file + ": model_type " + json::serialize(*type) +
                                              " is not supported (BERT only)");
    }
    bert = true;
  }
  if (const auto* architectures = config.if_contains("architectures")) {
    if (!architectures->is_array()) {
      return Fail(ErrorCode::kBadRequest, file + ": architectures is not an array");
    }
    for (const auto& arch : architectures->as_array()) {
      if (!arch.is_string() || !arch.as_string().starts_with("Bert")) {
        return Fail(ErrorCode::kBadRequest, file + ": architecture " + json::serialize(arch) +
                                                " is not supported (BERT only)");
      }
      bert = true;
    }
  }
  if (!bert) {
    return Fail(ErrorCode::kBadRequest, file + ": neither model_type nor architectures is BERT");
  }
  if (const auto* position = config.if_contains("position_embedding_type")) {
    if (!position->is_string() || position->as_string() != "absolute") {
      return Fail(ErrorCode::kBadRequest, file + ": position_embedding_type " +
                                              json::serialize(*position) +
                                              " is not supported (absolute only)");
    }
  }
  return {};
}

common::Result<void> ReadModelConfig(const json::object& config, const std::string& file,
                                     BertConfig& out) {
  if (auto ok = CheckArchitecture(config, file); !ok) return ok;
  for (const auto& field : kIntFields) {
    const auto* value = config.if_contains(field.name);
    if (!value) {
      if (!field.fallback) {
        return Fail(ErrorCode::kBadRequest, file + ": " + std::string(field.name) + " is missing");
      }
      out.*field.member = *field.fallback;
      continue;
    }
    if (!value->is_int64() || value->as_int64() < 1 || value->as_int64() > field.max) {
      return Fail(ErrorCode::kBadRequest, file + ": " + std::string(field.name) +
                                              " must be an integer in [1, " +
                                              std::to_string(field.max) + "]");
    }
    out.*field.member = static_cast<int>(value->as_int64());
  }
  if (out.hidden_size % out.num_attention_heads != 0) {
    return Fail(ErrorCode::kBadRequest, file + ": hidden_size " + std::to_string(out.hidden_size) +
                                            " is not a multiple of num_attention_heads " +
                                            std::to_string(out.num_attention_heads));
  }
  if (const auto* eps = config.if_contains("layer_norm_eps")) {
    if (!eps->is_number() || !(eps->to_number<double>() > 0) || eps->to_number<double>() > 1) {
      return Fail(ErrorCode::kBadRequest, file + ": layer_norm_eps must be in (0, 1]");
    }
    out.layer_norm_eps = static_cast<float>(eps->to_number<double>());
  }
  if (const auto* act = config.if_contains("hidden_act")) {
    const bool known =
        act->is_string() && (act->as_string() == "gelu" || act->as_string() == "gelu_new" ||
                             act->as_string() == "gelu_pytorch_tanh");
    if (!known) {
      return Fail(ErrorCode::kBadRequest,
                  file + ": hidden_act " + json::serialize(*act) +
                      " is not supported (gelu, gelu_new, gelu_pytorch_tanh)");
    }
    out.hidden_act = std::string(act->as_string());
  }
  return {};
}

bool Flag(const json::object& config, std::string_view name) {
  const auto* value = config.if_contains(name);
  return value && value->is_bool() && value->as_bool();
}

common::Result<void> ReadPoolingConfig(const fs::path& path, BertConfig& out) {
  auto config = ReadJsonObject(path);
  if (!config) return Fail(config.error());
  const std::string file = path.string();
  for (std::string_view mode : {"pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
                                "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"}) {
    if (Flag(*config, mode)) {
      return Fail(ErrorCode::kBadRequest,
                  file + ": " + std::string(mode) + " is not supported (mean or CLS pooling only)");
    }
  }
  const bool mean = Flag(*config, "pooling_mode_mean_tokens");
  const bool cls = Flag(*config, "pooling_mode_cls_token");
  if (mean == cls) {
    return Fail(ErrorCode::kBadRequest,
                file +
                    ": exactly one of pooling_mode_mean_tokens and pooling_mode_cls_token "
                    "must be true");
  }
  out.pooling = mean ? Pooling::kMean : Pooling::kCls;
  if (const auto* dim = config->if_contains("word_embedding_dimension")) {
    if (!dim->is_int64() || dim->as_int64() != out.hidden_size) {
      return Fail(ErrorCode::kBadRequest, file + ": word_embedding_dimension " +
                                              json::serialize(*dim) + " differs from hidden_size " +
                                              std::to_string(out.hidden_size));
    }
  }
  return {};
}

// modules.json lists the sentence-transformers pipeline: Transformer,
// Pooling and optionally Normalize; anything else would change the output.
common::Result<void> ReadModules(const fs::path& dir, BertConfig& out) {
  const fs::path path = dir / "modules.json";
  const std::string file = path.string();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return Fail(ErrorCode::kBadRequest, "model directory " + dir.string() +
                                            ": modules.json is missing (a sentence-transformers "
                                            "model directory is needed)");
  }
  if (fs::file_size(path, ec) > kMaxJsonBytes) {
    return Fail(ErrorCode::kBadRequest, file + ": larger than 1 MiB");
  }
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  json::error_code parse_error;
  const json::value modules = json::parse(text, parse_error);
  if (parse_error || !modules.is_array()) {
    return Fail(ErrorCode::kBadRequest, file + ": not a JSON array");
  }
  std::optional<fs::path> pooling;
  out.normalize = false;
  for (const auto& module : modules.as_array()) {
    const auto* obj = module.if_object();
    const auto* type = obj ? obj->if_contains("type") : nullptr;
    if (!type || !type->is_string()) {
      return Fail(ErrorCode::kBadRequest, file + ": every module needs a type");
    }
    const std::string_view name = type->as_string();
    if (name == "sentence_transformers.models.Transformer") continue;
    if (name == "sentence_transformers.models.Normalize") {
      out.normalize = true;
      continue;
    }
    if (name != "sentence_transformers.models.Pooling") {
      return Fail(ErrorCode::kBadRequest,
                  file + ": module " + std::string(name) + " is not supported");
    }
    const auto* module_path = obj->if_contains("path");
    const fs::path relative = module_path && module_path->is_string()
                                  ? fs::path(std::string(module_path->as_string()))
                                  : fs::path();
    const bool escapes = std::any_of(relative.begin(), relative.end(),
                                     [](const fs::path& part) { return part == ".."; });
    if (relative.empty() || relative.is_absolute() || escapes) {
      return Fail(ErrorCode::kBadRequest,
                  file + ": the Pooling module needs a relative path inside the model directory");
    }
    pooling = dir / relative / "config.json";
  }
  if (!pooling) return Fail(ErrorCode::kBadRequest, file + ": no Pooling module");
  return ReadPoolingConfig(*pooling, out);
}

// Tensors by their Hugging Face names, with or without the "bert." prefix.
class TensorReader {
 public:
  explicit TensorReader(const SafetensorsFile& file) : file_(file) {}

  common::Result<std::vector<float>> Read(const std::string& name,
                                          std::initializer_list<std::int64_t> shape) const {
    const std::string prefixed = "bert." + name;
    const std::string& found = file_.Find(prefixed) ? prefixed : name;
    return file_.ReadF32(found, std::span<const std::int64_t>(shape.begin(), shape.size()));
  }

  // LayerNorm parameters: weight/bias, or the older gamma/beta.
  common::Result<std::vector<float>> ReadNorm(const std::string& prefix, bool gamma,
                                              std::int64_t size) const {
    const std::string modern = prefix + (gamma ? ".weight" : ".bias");
    const std::string legacy = prefix + (gamma ? ".gamma" : ".beta");
    const bool use_legacy = !file_.Find(modern) && !file_.Find("bert." + modern) &&
                            (file_.Find(legacy) || file_.Find("bert." + legacy));
    return Read(use_legacy ? legacy : modern, {size});
  }

 private:
  const SafetensorsFile& file_;
};

// Reads every tensor of one encoder layer. The query projection is
// pre-scaled by 1/sqrt(head_dim) so that attention needs no extra pass.
common::Result<BertLayerWeights> LoadLayer(const TensorReader& reader, const BertConfig& config,
                                           int index, const BertOps& ops) {
  const std::int64_t h = config.hidden_size;
  const std::int64_t inter = config.intermediate_size;
  const std::string p = "encoder.layer." + std::to_string(index) + ".";
  BertLayerWeights layer;
  std::vector<float> qkv;
  const float scale =
      1.0f / std::sqrt(static_cast<float>(config.hidden_size / config.num_attention_heads));
  for (const char* part : {"query", "key", "value"}) {
    auto w = reader.Read(p + "attention.self." + part + ".weight", {h, h});
    if (!w) return Fail(w.error());
    auto b = reader.Read(p + "attention.self." + part + ".bias", {h});
    if (!b) return Fail(b.error());
    if (std::string_view(part) == "query") {
      for (float& v : *w) v *= scale;
      for (float& v : *b) v *= scale;
    }
    qkv.insert(qkv.end(), w->begin(), w->end());
    layer.qkv_bias.insert(layer.qkv_bias.end(), b->begin(), b->end());
  }
  layer.qkv = ops.PrepareLinear(qkv, static_cast<int>(3 * h), static_cast<int>(h));

  auto linear = [&](const std::string& name, std::int64_t out, std::int64_t in,
                    LinearWeight& weight, std::vector<float>& bias) -> common::Result<void> {
    auto w = reader.Read(name + ".weight", {out, in});
    if (!w) return Fail(w.error());
    auto b = reader.Read(name + ".bias", {out});
    if (!b) return Fail(b.error());
    weight = ops.PrepareLinear(*w, static_cast<int>(out), static_cast<int>(in));
    bias = std::move(*b);
    return {};
  };
  auto norm = [&](const std::string& name, std::vector<float>& gamma,
                  std::vector<float>& beta) -> common::Result<void> {
    auto g = reader.ReadNorm(name, true, h);
    if (!g) return Fail(g.error());
    auto b = reader.ReadNorm(name, false, h);
    if (!b) return Fail(b.error());
    gamma = std::move(*g);
    beta = std::move(*b);
    return {};
  };
  if (auto ok = linear(p + "attention.output.dense", h, h, layer.attention_output,
                       layer.attention_output_bias);
      !ok) {
    return Fail(ok.error());
  }
  if (auto ok = norm(p + "attention.output.LayerNorm", layer.attention_norm_gamma,
                     layer.attention_norm_beta);
      !ok) {
    return Fail(ok.error());
  }
  if (auto ok =
          linear(p + "intermediate.dense", inter, h, layer.intermediate, layer.intermediate_bias);
      !ok) {
    return Fail(ok.error());
  }
  if (auto ok = linear(p + "output.dense", h, inter, layer.output, layer.output_bias); !ok) {
    return Fail(ok.error());
  }
  if (auto ok = norm(p + "output.LayerNorm", layer.output_norm_gamma, layer.output_norm_beta);
      !ok) {
    return Fail(ok.error());
  }
  return layer;
}

}  // namespace

common::Result<BertConfig> ReadBertConfig(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Fail(ErrorCode::kBadRequest, "model directory " + dir.string() + " does not exist");
  }
  auto config_json = ReadJsonObject(dir / "config.json");
  if (!config_json) return Fail(config_json.error());
  BertConfig config;
  if (auto ok = ReadModelConfig(*config_json, (dir / "config.json").string(), config); !ok) {
    return Fail(ok.error());
  }
  if (auto ok = ReadModules(dir, config); !ok) return Fail(ok.error());
  return config;
}

common::Result<BertWeights> LoadBertWeights(const fs::path& dir, const BertConfig& config,
                                            const BertOps& ops) {
  const fs::path path = dir / "model.safetensors";
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return Fail(ErrorCode::kBadRequest,
                "model directory " + dir.string() + ": model.safetensors is missing");
  }
  auto file = SafetensorsFile::Open(path);
  if (!file) return Fail(file.error());
  const TensorReader reader(*file);
  const std::int64_t h = config.hidden_size;

  BertWeights weights;
  auto word = reader.Read("embeddings.word_embeddings.weight", {config.vocab_size, h});
  if (!word) return Fail(word.error());
  weights.word_embeddings = std::move(*word);
  auto position =
      reader.Read("embeddings.position_embeddings.weight", {config.max_position_embeddings, h});
  if (!position) return Fail(position.error());
  auto type = reader.Read("embeddings.token_type_embeddings.weight", {config.type_vocab_size, h});
  if (!type) return Fail(type.error());
  weights.position_embeddings = std::move(*position);
  for (std::size_t i = 0; i < weights.position_embeddings.size(); ++i) {
    weights.position_embeddings[i] += (*type)[i % static_cast<std::size_t>(h)];
  }
  auto gamma = reader.ReadNorm("embeddings.LayerNorm", true, h);
  if (!gamma) return Fail(gamma.error());
  auto beta = reader.ReadNorm("embeddings.LayerNorm", false, h);
  if (!beta) return Fail(beta.error());
  weights.embedding_norm_gamma = std::move(*gamma);
  weights.embedding_norm_beta = std::move(*beta);

  for (int i = 0; i < config.num_hidden_layers; ++i) {
    auto layer = LoadLayer(reader, config, i, ops);
    if (!layer) return Fail(layer.error());
    weights.layers.push_back(std::move(*layer));
  }
  return weights;
}

}  // namespace ragpdf::embed::local
