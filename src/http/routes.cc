#include "http/routes.h"

#include "common/base64.h"

#include <openssl/evp.h>

#include <bit>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "common/async.h"
#include "common/metrics.h"
#include "common/status.h"
#include "http/json_request.h"
#include "http/params.h"

namespace ragpdf::http {

namespace asio = boost::asio;
namespace json = boost::json;
using boost::beast::http::status;
using common::ErrorCode;
using common::FileStatusName;

namespace {

constexpr std::int64_t kDefaultNeighbors = 5;
constexpr std::int64_t kMaxNeighbors = 100;

Response BadRequest(std::string message) {
  return ErrorResponse({ErrorCode::kBadRequest, std::move(message)});
}

// A validated POST /v1/embeddings request.
struct EmbeddingsCall {
  std::shared_ptr<embed::Embedder> model;
  std::vector<std::string> texts;
  bool base64 = false;
  std::int64_t dimensions = 0;  // requested; 0: any
  std::int64_t prompt_tokens = 0;
};

common::Result<EmbeddingsCall> ParseEmbeddingsCall(const embed::EmbedderRegistry& models,
                                                   std::string_view content_type,
                                                   std::string_view body, std::size_t max_inputs) {
  auto obj = ParseJsonObject(content_type, body);
  if (!obj) return common::Fail(obj.error());
  EmbeddingsCall call;
  const json::value* input = obj->if_contains("input");
  if (input == nullptr || input->is_null()) {
    return common::Fail(ErrorCode::kMissingField, "input is required");
  }
  const auto not_text = [] {
    return common::Fail(ErrorCode::kBadRequest,
                        "input: expected a string or an array of strings "
                        "(token arrays are not supported)");
  };
  if (input->is_string()) {
    call.texts.emplace_back(input->get_string());
  } else if (input->is_array()) {
    const json::array& items = input->get_array();
    if (items.empty()) return common::Fail(ErrorCode::kBadRequest, "input: must not be empty");
    if (items.size() > max_inputs) {
      return common::Fail(ErrorCode::kBadRequest,
                          "input: at most " + std::to_string(max_inputs) + " texts per request");
    }
    for (const json::value& item : items) {
      if (!item.is_string()) return not_text();
      call.texts.emplace_back(item.get_string());
    }
  } else {
    return not_text();
  }
  for (std::size_t i = 0; i < call.texts.size(); ++i) {
    if (call.texts[i].empty()) {
      return common::Fail(ErrorCode::kBadRequest,
                          "input[" + std::to_string(i) + "]: must not be empty");
    }
  }
  auto name = GetString(*obj, "model");
  if (!name) return common::Fail(name.error());
  auto model = models.Resolve(name->value_or(""));
  if (!model) return common::Fail(model.error());
  call.model = std::move(*model);
  auto format = GetString(*obj, "encoding_format");
  if (!format) return common::Fail(format.error());
  const std::string encoding = format->value_or("float");
  if (encoding != "float" && encoding != "base64") {
    return common::Fail(ErrorCode::kBadRequest,
                        "encoding_format: expected \"float\" or \"base64\"");
  }
  call.base64 = encoding == "base64";
  auto dimensions = GetInt(*obj, "dimensions");
  if (!dimensions) return common::Fail(dimensions.error());
  call.dimensions = dimensions->value_or(0);
  const int own = call.model->info().dimension;
  if (dimensions->has_value() && (call.dimensions < 1 || (own > 0 && call.dimensions != own))) {
    return common::Fail(ErrorCode::kBadRequest, "dimensions: model " + call.model->info().name +
                                                    " has " + std::to_string(own) +
                                                    " dimensions and cannot change them");
  }
  const common::Tokenizer& tokenizer = call.model->tokenizer();
  for (const std::string& text : call.texts) call.prompt_tokens += tokenizer.CountTokens(text);
  return call;
}

std::string RenderEmbeddings(const EmbeddingsCall& call, const embed::Embeddings& vectors) {
  json::array data;
  data.reserve(vectors.rows());
  for (std::size_t i = 0; i < vectors.rows(); ++i) {
    const auto row = vectors.Row(i);
    json::value embedding;
    if (call.base64) {
      embedding = json::string(common::EncodeFloatsBase64(row));
    } else {
      json::array values;
      values.reserve(row.size());
      for (float x : row) values.emplace_back(static_cast<double>(x));
      embedding = std::move(values);
    }
    data.emplace_back(
        json::object{{"object", "embedding"}, {"index", i}, {"embedding", std::move(embedding)}});
  }
  return json::serialize(json::object{
      {"object", "list"},
      {"data", std::move(data)},
      {"model", call.model->info().name},
      {"usage", {{"prompt_tokens", call.prompt_tokens}, {"total_tokens", call.prompt_tokens}}}});
}

}  // namespace

asio::awaitable<Response> CheckEmbeddings(ingest::Service& ingest, std::string content_type,
                                          std::string body) {
  auto obj = ParseJsonObject(content_type, body);
  if (!obj) co_return ErrorResponse(obj.error());
  auto ids = GetFileIds(*obj);
  if (!ids) co_return ErrorResponse(ids.error());
  auto model = GetString(*obj, "model_choice");
  if (!model) co_return ErrorResponse(model.error());

  std::string model_choice = model->value_or("");
  auto checked = co_await ingest.Check(std::move(*ids), std::move(model_choice));
  if (!checked) co_return ErrorResponse(checked.error());

  json::array results;
  std::size_t with_embeddings = 0;
  bool all_ready = !checked->results.empty();
  for (const ingest::CheckItem& item : checked->results) {
    with_embeddings += item.embeddings_exist ? 1 : 0;
    all_ready = all_ready && common::CanChat(item.status);
    results.push_back(json::object{{"file_id", item.file_id},
                                   {"embeddings_exist", item.embeddings_exist},
                                   {"model_type", item.model_type},
                                   {"status", FileStatusName(item.status)}});
  }
  json::object summary{{"total_files", checked->results.size()},
                       {"files_with_embeddings", with_embeddings},
                       {"files_missing_embeddings", checked->results.size() - with_embeddings},
                       {"all_files_ready", all_ready},
                       {"model_choice", checked->model}};
  co_return JsonResponse(
      json::object{{"results", std::move(results)}, {"summary", std::move(summary)}});
}

asio::awaitable<Response> EmbeddingStatus(ingest::Service& ingest, std::string file_id,
                                          std::string model_choice) {
  auto id = NormalizeFileId(file_id, "file_id");
  if (!id) co_return ErrorResponse(id.error());
  std::string model(TrimWhitespace(model_choice));
  auto state = co_await ingest.Status(std::move(*id), std::move(model));
  if (!state) co_return ErrorResponse(state.error());

  json::object out{{"file_id", state->file_id},
                   {"status", FileStatusName(state->status)},
                   {"can_chat", common::CanChat(state->status)},
                   {"message", state->message},
                   {"model_choice", state->model},
                   {"pages", state->pages},
                   {"chunks", state->chunks}};
  if (state->status == common::FileStatus::kError && state->error) {
    out["error"] = ErrorJson(*state->error);
  }
  co_return JsonResponse(out);
}

asio::awaitable<Response> FindNeighbors(query::Searcher& searcher, std::string content_type,
                                        std::string body) {
  auto obj = ParseJsonObject(content_type, body);
  if (!obj) co_return ErrorResponse(obj.error());
  auto text = GetString(*obj, "text");
  if (!text) co_return ErrorResponse(text.error());
  if (!*text) co_return ErrorResponse({ErrorCode::kMissingField, "text is required"});
  if (TrimWhitespace(**text).empty()) co_return BadRequest("text: must not be empty");
  auto ids = GetFileIds(*obj);
  if (!ids) co_return ErrorResponse(ids.error());
  if (ids->empty()) co_return BadRequest("file_ids: must not be empty");
  auto n = GetInt(*obj, "n_neighbors");
  if (!n) co_return ErrorResponse(n.error());
  std::int64_t n_neighbors = n->value_or(kDefaultNeighbors);
  if (n_neighbors < 1 || n_neighbors > kMaxNeighbors) {
    co_return BadRequest("n_neighbors: must be between 1 and " + std::to_string(kMaxNeighbors));
  }
  auto model = GetString(*obj, "model_choice");
  if (!model) co_return ErrorResponse(model.error());
  auto mode_name = GetString(*obj, "mode");
  if (!mode_name) co_return ErrorResponse(mode_name.error());
  auto mode = ParseMode(mode_name->value_or(""));
  if (!mode) co_return ErrorResponse(mode.error());

  query::NeighborsRequest request{.text = std::move(**text),
                                  .file_ids = std::move(*ids),
                                  .n_neighbors = static_cast<int>(n_neighbors),
                                  .model_choice = model->value_or(""),
                                  .mode = *mode};
  auto found = co_await searcher.Neighbors(std::move(request));
  if (!found) co_return ErrorResponse(found.error());

  json::array neighbors;
  json::array results;
  for (const query::Neighbor& n : found->results) {
    neighbors.push_back(json::string(n.text));
    results.push_back(json::object{{"file_id", n.file_id},
                                   {"chunk_index", n.chunk_index},
                                   {"text", n.text},
                                   {"score", n.score},
                                   {"page_start", n.page_start},
                                   {"page_end", n.page_end}});
  }
  json::array skipped;
  for (const std::string& id : found->skipped_file_ids) skipped.push_back(json::string(id));
  co_return JsonResponse(json::object{{"neighbors", std::move(neighbors)},
                                      {"results", std::move(results)},
                                      {"model_choice", found->model},
                                      {"mode", ModeName(*mode)},
                                      {"skipped_file_ids", std::move(skipped)}});
}

asio::awaitable<Response> DeleteFiles(ingest::Service& ingest, std::string content_type,
                                      std::string body) {
  auto obj = ParseJsonObject(content_type, body);
  if (!obj) co_return ErrorResponse(obj.error());
  auto ids = GetFileIds(*obj);
  if (!ids) co_return ErrorResponse(ids.error());
  auto username_field = GetString(*obj, "username");
  if (!username_field) co_return ErrorResponse(username_field.error());
  auto username = ValidateUsername(*username_field);
  if (!username) co_return ErrorResponse(username.error());

  auto deleted = co_await ingest.Delete(std::move(*ids), std::move(*username));
  if (!deleted) co_return ErrorResponse(deleted.error());

  json::array results;
  std::size_t removed = 0;
  std::size_t failed = 0;
  for (const ingest::DeleteItem& item : deleted->results) {
    json::object entry{{"file_id", item.file_id}, {"removed", item.removed}};
    if (item.error) entry["error"] = ErrorJson(*item.error);
    removed += item.removed ? 1 : 0;
    failed += item.error ? 1 : 0;
    results.push_back(std::move(entry));
  }
  std::string message = "Processed " + std::to_string(deleted->results.size()) +
                        " file(s): " + std::to_string(removed) + " removed, " +
                        std::to_string(failed) + " failed";
  co_return JsonResponse(json::object{{"results", std::move(results)}, {"message", message}});
}

asio::awaitable<Response> CreateEmbeddings(const embed::EmbedderRegistry& models,
                                           asio::any_io_executor cpu, std::string content_type,
                                           std::string body, std::size_t max_inputs) {
  auto parse = [&models, &content_type, &body, max_inputs] {
    return ParseEmbeddingsCall(models, content_type, body, max_inputs);
  };
  common::Result<EmbeddingsCall> call = co_await common::Offload(cpu, parse);
  if (!call) co_return ErrorResponse(call.error());
  embed::EmbedRequest request{.texts = std::move(call->texts),
                              .purpose = embed::Purpose::kDocument};
  auto vectors = co_await call->model->Embed(std::move(request));
  if (!vectors) co_return ErrorResponse(vectors.error());
  if (call->dimensions > 0 && call->dimensions != vectors->dimension) {
    co_return BadRequest("dimensions: model " + call->model->info().name + " has " +
                         std::to_string(vectors->dimension) + " dimensions and cannot change them");
  }
  const EmbeddingsCall* rendered = &*call;
  const embed::Embeddings* result = &*vectors;
  auto render = [rendered, result] { return RenderEmbeddings(*rendered, *result); };
  Response response;
  response.body = co_await common::Offload(cpu, render);
  co_return response;
}

Response AvailableModels(const ingest::Service& ingest) {
  std::vector<embed::ModelInfo> models = ingest.AvailableModels();
  json::array list;
  for (std::size_t i = 0; i < models.size(); ++i) {
    const embed::ModelInfo& m = models[i];
    list.push_back(json::object{{"name", m.name},
                                {"provider", m.provider},
                                {"dimension", m.dimension},
                                {"max_tokens", m.max_tokens},
                                {"description", m.description},
                                {"default", i == 0}});
  }
  json::value default_model = models.empty() ? json::value(nullptr) : json::value(models[0].name);
  return JsonResponse(json::object{{"models", std::move(list)}, {"default_model", default_model}});
}

Response Health(const ingest::Service& ingest) {
  ingest::Stats stats = ingest.GetStats();
  return JsonResponse(json::object{{"status", stats.ready ? "ok" : "unavailable"},
                                   {"ready", stats.ready},
                                   {"files_in_flight", stats.files_in_flight},
                                   {"files_queued", stats.files_queued},
                                   {"background_tasks_running", stats.background_tasks_running}},
                      stats.ready ? status::ok : status::service_unavailable);
}

Response MetricsText(const ingest::Service& ingest) {
  ingest::Stats stats = ingest.GetStats();
  auto& metrics = common::Metrics::Global();
  metrics.Set("ragpdf_files_in_flight", {}, static_cast<double>(stats.files_in_flight));
  metrics.Set("ragpdf_files_queued", {}, static_cast<double>(stats.files_queued));
  metrics.Set("ragpdf_background_tasks_running", {},
              static_cast<double>(stats.background_tasks_running));
  Response response;
  response.body = metrics.RenderPrometheus();
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return response;
}

}  // namespace ragpdf::http
