// WordPieceTokenizer::LoadFromDirectory: reads a Hugging Face model
// directory's tokenizer files (tokenizer.json, or vocab.txt with
// tokenizer_config.json) into a vocabulary and WordPieceOptions.
#include <algorithm>
#include <cstdint>
#include <exception>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "embed/local/wordpiece_tokenizer.h"

namespace ragpdf::embed::local {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using common::ErrorCode;

// Real vocabularies are a few MB (multilingual BERT's tokenizer.json: ~3 MB).
constexpr std::uintmax_t kMaxFileBytes = 64u << 20;
constexpr std::int64_t kMaxTokenId = 1 << 24;

tl::unexpected<common::Error> FileError(const fs::path& file, const std::string& problem) {
  return common::Fail(ErrorCode::kBadRequest, file.string() + ": " + problem);
}

bool IsFile(const fs::path& file) {
  std::error_code ec;
  return fs::is_regular_file(file, ec);
}

common::Result<std::string> ReadFile(const fs::path& file) {
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(file, ec);
  if (ec) return FileError(file, "cannot read: " + ec.message());
  if (size > kMaxFileBytes) return FileError(file, "larger than 64 MB");
  std::ifstream in(file, std::ios::binary);
  std::string data(size, '\0');
  if (!in.read(data.data(), static_cast<std::streamsize>(size))) {
    return FileError(file, "cannot read");
  }
  return data;
}

common::Result<json::object> ReadJsonObject(const fs::path& file) {
  auto text = ReadFile(file);
  if (!text) return tl::unexpected(text.error());
  boost::system::error_code ec;
  json::value value;
  try {
    value = json::parse(*text, ec);
  } catch (const std::exception& e) {  // allocation failures only
    return FileError(file, std::string("cannot parse: ") + e.what());
  }
  if (ec) return FileError(file, "invalid JSON: " + ec.message());
  if (!value.is_object()) return FileError(file, "not a JSON object");
  return std::move(value.as_object());
}

// The typed readers below treat an absent key and null alike: "not set".
common::Result<void> ReadBool(const fs::path& file, const json::object& object,
                              std::string_view key, bool* out) {
  const json::value* value = object.if_contains(key);
  if (!value || value->is_null()) return {};
  if (!value->is_bool()) return FileError(file, "\"" + std::string(key) + "\" is not a boolean");
  *out = value->get_bool();
  return {};
}

common::Result<void> ReadString(const fs::path& file, const json::object& object,
                                std::string_view key, std::string* out) {
  const json::value* value = object.if_contains(key);
  if (!value || value->is_null()) return {};
  // tokenizer_config.json may spell a special token as an AddedToken object.
  if (const json::object* added = value->if_object()) value = added->if_contains("content");
  if (!value || !value->is_string()) {
    return FileError(file, "\"" + std::string(key) + "\" is not a string");
  }
  *out = std::string(value->get_string());
  return {};
}

std::optional<std::int64_t> AsInt(const json::value& value) {
  if (value.is_int64()) return value.get_int64();
  if (value.is_uint64() && value.get_uint64() <= std::numeric_limits<std::int64_t>::max()) {
    return static_cast<std::int64_t>(value.get_uint64());
  }
  return std::nullopt;
}

std::string TypeOf(const json::value* value) {
  const json::object* object = value ? value->if_object() : nullptr;
  const json::value* type = object ? object->if_contains("type") : nullptr;
  return type && type->is_string() ? std::string(type->get_string()) : std::string();
}

struct LoadedVocab {
  std::vector<std::string> tokens;
  std::vector<std::int32_t> ids;
  WordPieceOptions options;
};

common::Result<void> ReadModel(const fs::path& file, const json::object& root, LoadedVocab* out) {
  const json::value* model_value = root.if_contains("model");
  const json::object* model = model_value ? model_value->if_object() : nullptr;
  if (!model) return FileError(file, "no \"model\" object");
  if (const std::string type = TypeOf(model_value); !type.empty() && type != "WordPiece") {
    return FileError(file, "model type \"" + type + "\" is not supported (only WordPiece)");
  }
  const json::value* vocab_value = model->if_contains("vocab");
  const json::object* vocab = vocab_value ? vocab_value->if_object() : nullptr;
  if (!vocab) return FileError(file, "the model has no \"vocab\" object (not WordPiece?)");
  out->tokens.reserve(vocab->size());
  out->ids.reserve(vocab->size());
  for (const auto& [token, id_value] : *vocab) {
    const std::optional<std::int64_t> id = AsInt(id_value);
    if (!id || *id < 0 || *id > kMaxTokenId) {
      return FileError(file, "vocabulary entry \"" + std::string(token) + "\" has an invalid id");
    }
    out->tokens.emplace_back(token);
    out->ids.push_back(static_cast<std::int32_t>(*id));
  }
  WordPieceOptions& options = out->options;
  if (auto ok = ReadString(file, *model, "unk_token", &options.unk_token); !ok) return ok;
  if (auto ok = ReadString(file, *model, "continuing_subword_prefix", &options.continuing_prefix);
      !ok) {
    return ok;
  }
  if (const json::value* max_chars = model->if_contains("max_input_chars_per_word")) {
    const std::optional<std::int64_t> value = AsInt(*max_chars);
    if (!value || *value < 0 || *value > std::numeric_limits<int>::max()) {
      return FileError(file, "\"max_input_chars_per_word\" is not a valid count");
    }
    options.max_input_chars_per_word = static_cast<int>(*value);
  }
  return {};
}

// A missing or null normalizer means none: the text reaches the
// pre-tokenizer unchanged.
common::Result<void> ReadNormalizer(const fs::path& file, const json::object& root,
                                    WordPieceOptions* options) {
  const json::value* value = root.if_contains("normalizer");
  if (!value || value->is_null()) {
    options->clean_text = false;
    options->tokenize_chinese_chars = false;
    options->lower_case = false;
    options->strip_accents = false;
    return {};
  }
  if (const std::string type = TypeOf(value); type != "BertNormalizer") {
    return FileError(file, "normalizer \"" + type + "\" is not supported (only BertNormalizer)");
  }
  const json::object& normalizer = value->get_object();
  for (auto [key, flag] : {std::pair{"clean_text", &options->clean_text},
                           std::pair{"handle_chinese_chars", &options->tokenize_chinese_chars},
                           std::pair{"lowercase", &options->lower_case}}) {
    if (auto ok = ReadBool(file, normalizer, key, flag); !ok) return ok;
  }
  bool strip = false;
  const json::value* strip_value = normalizer.if_contains("strip_accents");
  if (auto ok = ReadBool(file, normalizer, "strip_accents", &strip); !ok) return ok;
  if (strip_value && !strip_value->is_null()) options->strip_accents = strip;
  return {};
}

common::Result<void> CheckPreTokenizer(const fs::path& file, const json::object& root) {
  const json::value* value = root.if_contains("pre_tokenizer");
  if (const std::string type = TypeOf(value); type != "BertPreTokenizer") {
    return FileError(file,
                     "pre_tokenizer \"" + type + "\" is not supported (only BertPreTokenizer)");
  }
  return {};
}

// The first token of a TemplateProcessing piece {"SpecialToken": {"id": ...}}.
std::optional<std::string> TemplateSpecialToken(const json::value& piece) {
  const json::object* object = piece.if_object();
  const json::value* special = object ? object->if_contains("SpecialToken") : nullptr;
  const json::object* fields = special ? special->if_object() : nullptr;
  const json::value* id = fields ? fields->if_contains("id") : nullptr;
  if (!id || !id->is_string()) return std::nullopt;
  return std::string(id->get_string());
}

bool IsTemplateSequence(const json::value& piece) {
  const json::object* object = piece.if_object();
  return object && object->contains("Sequence");
}

// [CLS] and [SEP] from the post-processor, which must frame a single sequence
// as [CLS] A [SEP] because that is what EncodeForModel produces.
common::Result<void> ReadPostProcessor(const fs::path& file, const json::object& root,
                                       WordPieceOptions* options) {
  const json::value* value = root.if_contains("post_processor");
  if (!value || value->is_null()) return {};
  const std::string type = TypeOf(value);
  const json::object* processor = value->if_object();
  if (processor && type == "BertProcessing") {
    for (auto [key, token] :
         {std::pair{"cls", &options->cls_token}, std::pair{"sep", &options->sep_token}}) {
      const json::value* pair = processor->if_contains(key);
      const json::array* items = pair ? pair->if_array() : nullptr;
      if (!items || items->empty() || !(*items)[0].is_string()) {
        return FileError(file, "post_processor \"" + std::string(key) + "\" is malformed");
      }
      *token = std::string((*items)[0].get_string());
    }
    return {};
  }
  if (processor && type == "TemplateProcessing") {
    const json::value* single_value = processor->if_contains("single");
    const json::array* single = single_value ? single_value->if_array() : nullptr;
    std::optional<std::string> cls, sep;
    if (single && single->size() == 3 && IsTemplateSequence((*single)[1])) {
      cls = TemplateSpecialToken((*single)[0]);
      sep = TemplateSpecialToken((*single)[2]);
    }
    if (!cls || !sep) {
      return FileError(file, "post_processor template is not \"[CLS] $A [SEP]\"");
    }
    options->cls_token = *cls;
    options->sep_token = *sep;
    return {};
  }
  return FileError(file, "post_processor \"" + type + "\" is not supported");
}

common::Result<LoadedVocab> ReadTokenizerJson(const fs::path& file) {
  auto root = ReadJsonObject(file);
  if (!root) return tl::unexpected(root.error());
  LoadedVocab loaded;
  if (auto ok = ReadModel(file, *root, &loaded); !ok) return tl::unexpected(ok.error());
  if (auto ok = ReadNormalizer(file, *root, &loaded.options); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = CheckPreTokenizer(file, *root); !ok) return tl::unexpected(ok.error());
  if (auto ok = ReadPostProcessor(file, *root, &loaded.options); !ok) {
    return tl::unexpected(ok.error());
  }
  return loaded;
}

// One token per line, id = line number, as BertTokenizer's load_vocab, which
// reads the file with Python's universal newlines (\n, \r\n or \r).
common::Result<LoadedVocab> ReadVocabTxt(const fs::path& file) {
  auto text = ReadFile(file);
  if (!text) return tl::unexpected(text.error());
  LoadedVocab loaded;
  std::string_view rest = *text;
  while (!rest.empty()) {
    const std::size_t end = std::min(rest.find_first_of("\r\n"), rest.size());
    loaded.ids.push_back(static_cast<std::int32_t>(loaded.tokens.size()));
    loaded.tokens.emplace_back(rest.substr(0, end));
    const bool crlf = rest.substr(end).starts_with("\r\n");
    rest.remove_prefix(std::min(rest.size(), end + (crlf ? 2 : 1)));
  }
  return loaded;
}

// tokenizer_config.json as transformers applies it: its explicit settings
// override the normalizer of tokenizer.json; the unknown token of a
// tokenizer.json belongs to its model and stays.
common::Result<void> ApplyTokenizerConfig(const fs::path& file, bool from_tokenizer_json,
                                          WordPieceOptions* options) {
  auto config = ReadJsonObject(file);
  if (!config) return tl::unexpected(config.error());
  for (auto [key, flag] : {std::pair{"do_lower_case", &options->lower_case},
                           std::pair{"tokenize_chinese_chars", &options->tokenize_chinese_chars}}) {
    if (auto ok = ReadBool(file, *config, key, flag); !ok) return ok;
  }
  if (config->contains("strip_accents")) {
    bool strip = false;
    if (auto ok = ReadBool(file, *config, "strip_accents", &strip); !ok) return ok;
    options->strip_accents =
        config->at("strip_accents").is_null() ? std::nullopt : std::optional<bool>(strip);
  }
  for (auto [key, token] :
       {std::pair{"cls_token", &options->cls_token}, std::pair{"sep_token", &options->sep_token},
        std::pair{"pad_token", &options->pad_token}}) {
    if (auto ok = ReadString(file, *config, key, token); !ok) return ok;
  }
  if (!from_tokenizer_json) return ReadString(file, *config, "unk_token", &options->unk_token);
  return {};
}

}  // namespace

common::Result<std::unique_ptr<WordPieceTokenizer>> WordPieceTokenizer::LoadFromDirectory(
    const fs::path& dir) {
  const fs::path json_file = dir / "tokenizer.json";
  const fs::path vocab_file = dir / "vocab.txt";
  const fs::path config_file = dir / "tokenizer_config.json";
  const bool from_tokenizer_json = IsFile(json_file);
  if (!from_tokenizer_json && !IsFile(vocab_file)) {
    return common::Fail(ErrorCode::kBadRequest,
                        dir.string() + ": no tokenizer.json or vocab.txt in the model directory");
  }
  const fs::path& source = from_tokenizer_json ? json_file : vocab_file;
  auto loaded = from_tokenizer_json ? ReadTokenizerJson(json_file) : ReadVocabTxt(vocab_file);
  if (!loaded) return tl::unexpected(loaded.error());
  if (IsFile(config_file)) {
    if (auto ok = ApplyTokenizerConfig(config_file, from_tokenizer_json, &loaded->options); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  auto tokenizer =
      Build(std::move(loaded->tokens), std::move(loaded->ids), std::move(loaded->options));
  if (!tokenizer) return FileError(source, tokenizer.error().message);
  return tokenizer;
}

}  // namespace ragpdf::embed::local
