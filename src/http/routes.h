// Handlers of the JSON routes. Each takes what it needs from the request and
// returns the complete response; service errors become error responses.
// Coroutine arguments are taken by value: they outlive every suspension.
// /file/upload lives in upload.h (it streams its body).
//
// Thread-safety: the handlers keep no state; the services are thread-safe.
// Errors: never thrown; reported as error responses.
#pragma once

#include <cstddef>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "embed/embedder.h"
#include "http/response.h"
#include "ingest/service.h"
#include "query/searcher.h"

namespace ragpdf::http {

// POST /embeddings/check
boost::asio::awaitable<Response> CheckEmbeddings(ingest::Service& ingest, std::string content_type,
                                                 std::string body);
// GET /embeddings/status/{file_id}?model_choice=
boost::asio::awaitable<Response> EmbeddingStatus(ingest::Service& ingest, std::string file_id,
                                                 std::string model_choice);
// POST /file/neighbors
boost::asio::awaitable<Response> FindNeighbors(query::Searcher& searcher, std::string content_type,
                                               std::string body);
// DELETE or POST /delete
boost::asio::awaitable<Response> DeleteFiles(ingest::Service& ingest, std::string content_type,
                                             std::string body);
// POST /v1/embeddings, in the OpenAI format: `input` (a string or an array
// of at most `max_inputs` non-empty strings; token arrays are not
// supported), `model` (a model of this server; the default when absent),
// `encoding_format` ("float" or "base64": little-endian float32) and
// `dimensions` (accepted only if equal to the model's). Answers
// {"object": "list", "data": [{"object": "embedding", "index", "embedding"}],
// "model", "usage": {"prompt_tokens", "total_tokens"}} with token counts
// from the model's tokenizer; errors keep the server's error shape (OpenAI
// clients read error.message). Parsing, counting and rendering run on `cpu`.
boost::asio::awaitable<Response> CreateEmbeddings(const embed::EmbedderRegistry& models,
                                                  boost::asio::any_io_executor cpu,
                                                  std::string content_type, std::string body,
                                                  std::size_t max_inputs);
// GET /available-models
Response AvailableModels(const ingest::Service& ingest);
// GET /health
Response Health(const ingest::Service& ingest);
// GET /metrics: sets the ingest gauges, then renders every metric.
Response MetricsText(const ingest::Service& ingest);

}  // namespace ragpdf::http
