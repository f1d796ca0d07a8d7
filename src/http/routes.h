// Handlers of the JSON routes. Each takes what it needs from the request and
// returns the complete response; service errors become error responses.
// Coroutine arguments are taken by value: they outlive every suspension.
// /file/upload lives in upload.h (it streams its body).
//
// Thread-safety: the handlers keep no state; the services are thread-safe.
// Errors: never thrown; reported as error responses.
#pragma once

#include <string>

#include <boost/asio/awaitable.hpp>

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
// GET /available-models
Response AvailableModels(const ingest::Service& ingest);
// GET /health
Response Health(const ingest::Service& ingest);
// GET /metrics: sets the ingest gauges, then renders every metric.
Response MetricsText(const ingest::Service& ingest);

}  // namespace ragpdf::http
