#include "http/routes.h"

#include <cstdint>
#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

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
